# Shared settings of the batch scripts (pbs_*.pbs, torque_array.pbs,
# slurm_*.sbatch, mpirun_launch.sh); they source this file. Not run by itself.
#
# Before sourcing, a script sets TESSERA_HOME (the Tessera checkout) and
# JOB_KEY (a name unique to the job, e.g. its job id). This file then sets:
#
#   NUM_PS        number of ps tasks          (env TESSERA_NUM_PS, default 1)
#   NUM_WORKERS   number of workers, or ""    (env TESSERA_NUM_WORKERS; "" lets
#                 make-cluster choose: one per node)
#   PORT          first port on every node    (env TESSERA_PORT, default 2222)
#   CONFIG        training config, absolute   (env TESSERA_CONFIG, default
#                 examples/mnist_deep_fashion.pbtxt; relative paths are taken
#                 from TESSERA_HOME)
#   WORKER_FLAGS  array of extra worker flags (env TESSERA_WORKER_FLAGS, split
#                 on spaces, e.g. "--max_steps=2000 --update_mode=sync")
#   JOB_DIR       WORKDIR/tessera-runs/JOB_KEY, created, holding cluster.json,
#                 logs/<job>_<task>.log, checkpoints/ and summaries/
#                 (WORKDIR: env TESSERA_WORKDIR, default the directory the
#                 job was submitted from, else the current directory)
#   CTL, LAUNCH   tessera_ctl and scripts/tessera_launch.sh
#
# and exports TESSERA_LOG_DIR, TESSERA_CHECKPOINT_DIR and TESSERA_SUMMARY_DIR
# for tessera_launch.sh. `fail MESSAGE` prints MESSAGE and exits 1.
#
# Once the script has written the cluster file it calls
#   secure_job CLUSTER
# which makes the job's CA, certificate and token in JOB_DIR/security
# (scripts/tessera_security.sh; every array element may call it, the first
# to finish wins) and exports TESSERA_SECURITY_DIR for tessera_launch.sh, and
# sets CTL_SECURITY, the flag tessera_ctl needs (docs/security.md).
# TESSERA_SECURITY=off skips it (the daemons then refuse to start unless
# every address is loopback or TESSERA_WORKER_FLAGS and the ps get --insecure).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are for the scripts that source this

fail() {
  echo "${0##*/}: $*" >&2
  exit 1
}

[ -n "${TESSERA_HOME:-}" ] || fail "TESSERA_HOME is not set"
[ -n "${JOB_KEY:-}" ] || fail "JOB_KEY is not set"
[ -x "$TESSERA_HOME/scripts/tessera_launch.sh" ] ||
  fail "$TESSERA_HOME is not a Tessera checkout (no scripts/tessera_launch.sh): submit from the checkout or set TESSERA_HOME"

NUM_PS="${TESSERA_NUM_PS:-1}"
NUM_WORKERS="${TESSERA_NUM_WORKERS:-}"
PORT="${TESSERA_PORT:-2222}"
CONFIG="${TESSERA_CONFIG:-examples/mnist_deep_fashion.pbtxt}"
case "$CONFIG" in /*) ;; *) CONFIG="$TESSERA_HOME/$CONFIG" ;; esac
[ -r "$CONFIG" ] || fail "cannot read training config $CONFIG (set TESSERA_CONFIG)"
read -r -a WORKER_FLAGS <<< "${TESSERA_WORKER_FLAGS:-}"
WORKDIR="${TESSERA_WORKDIR:-${PBS_O_WORKDIR:-${SLURM_SUBMIT_DIR:-$PWD}}}"
JOB_DIR="$WORKDIR/tessera-runs/$JOB_KEY"
mkdir -p "$JOB_DIR/logs" "$JOB_DIR/checkpoints" "$JOB_DIR/summaries" ||
  fail "cannot create $JOB_DIR"
CTL="${TESSERA_CTL_BIN:-$TESSERA_HOME/bazel-bin/tools/tessera_ctl}"
LAUNCH="$TESSERA_HOME/scripts/tessera_launch.sh"
[ -x "$CTL" ] || fail "$CTL is missing; in $TESSERA_HOME run: bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl"
export TESSERA_HOME
export TESSERA_LOG_DIR="$JOB_DIR/logs"
export TESSERA_CHECKPOINT_DIR="$JOB_DIR/checkpoints"
export TESSERA_SUMMARY_DIR="$JOB_DIR/summaries"

secure_job() {  # secure_job CLUSTER
  CTL_SECURITY=""
  [ "${TESSERA_SECURITY:-on}" = off ] && return 0
  local out
  out="$(TESSERA_CTL_BIN="$CTL" "$TESSERA_HOME/scripts/tessera_security.sh" "$JOB_DIR/security" "$1" 2>&1)" ||
    fail "cannot make the job's certificates and token: $out"
  export TESSERA_SECURITY_DIR="$JOB_DIR/security"
  CTL_SECURITY="--security_dir=$TESSERA_SECURITY_DIR"
}

# make-cluster's flags for the counts and port chosen above.
MAKE_CLUSTER_FLAGS=(--ps="$NUM_PS" --port="$PORT")
if [ -n "$NUM_WORKERS" ]; then MAKE_CLUSTER_FLAGS+=(--workers="$NUM_WORKERS"); fi
