#!/usr/bin/env bash
# Starts this process's task of a Tessera cluster: the one wrapper every batch
# script (PBS, Torque, Slurm, mpirun, aprun) runs once per task.
#
#   scripts/tessera_launch.sh CLUSTER TRAIN.pbtxt [worker flags...]
#
# 1. Asks `tessera_ctl launch-role --cluster=CLUSTER` which task this is. It
#    reads the launcher's rank from the environment (first set wins):
#    TESSERA_RANK, OMPI_COMM_WORLD_RANK (Open MPI), PMI_RANK (MPICH, Intel MPI),
#    ALPS_APP_PE (aprun), SLURM_PROCID (srun), SLURM_ARRAY_TASK_ID,
#    PBS_ARRAY_INDEX (PBS Pro -J), PBS_ARRAYID (Torque -t). Ranks 0..num_ps-1
#    are the ps tasks, the next ones the workers (docs/launching.md). It warns
#    when the cluster file puts this task on another host.
# 2. Sends everything the task prints to LOG_DIR/<job>_<task>.log.
# 3. A worker first waits until every ps answers
#    (tessera_ctl wait --for=ready --job=ps), then starts; a ps starts at once.
# 4. Replaces itself with the daemon (exec): its exit status is the task's.
#
# Exits 1 (with a message on stderr) when the role cannot be found, or when the
# ps do not answer within TESSERA_PS_WAIT seconds; 2 on a usage error.
#
# Environment (all optional):
#   TESSERA_HOME            the Tessera checkout (default: this script's ..)
#   TESSERA_PS_BIN, TESSERA_WORKER_BIN, TESSERA_CTL_BIN
#                           the binaries (default: $TESSERA_HOME/bazel-bin/...)
#   TESSERA_LOG_DIR         where the task logs go (default: CLUSTER's directory/logs)
#   TESSERA_CHECKPOINT_DIR  passed to workers as --checkpoint_dir
#   TESSERA_SUMMARY_DIR     passed to workers as --summary_dir
#   TESSERA_PS_WAIT         seconds a worker waits for the ps (default: 600)
#   TESSERA_SECURITY_DIR    the job's certificates and token, passed to the
#                           daemons and tessera_ctl as --security_dir
#                           (scripts/tessera_job_common.sh sets it; docs/security.md)
# shellcheck disable=SC2317
set -uo pipefail

readonly ME="tessera_launch.sh"

usage() {
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

die() {  # die CODE MESSAGE
  echo "$ME: $2" >&2
  exit "$1"
}

[ $# -ge 2 ] || usage
case "$1" in -h|--help) usage ;; esac
cluster="$1"
config="$2"
shift 2

home="${TESSERA_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
ps_bin="${TESSERA_PS_BIN:-$home/bazel-bin/ps/tessera_ps}"
worker_bin="${TESSERA_WORKER_BIN:-$home/bazel-bin/worker/tessera_worker}"
ctl_bin="${TESSERA_CTL_BIN:-$home/bazel-bin/tools/tessera_ctl}"
ps_wait="${TESSERA_PS_WAIT:-600}"
[[ "$ps_wait" =~ ^[0-9]+$ ]] || die 2 "TESSERA_PS_WAIT=$ps_wait: want whole seconds"
[ -r "$cluster" ] || die 2 "cannot read cluster file $cluster"
[ -r "$config" ] || die 2 "cannot read training config $config"
for bin in "$ps_bin" "$worker_bin" "$ctl_bin"; do
  [ -x "$bin" ] || die 2 "$bin is missing; build it in $home with: bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl"
done
security=()
if [ -n "${TESSERA_SECURITY_DIR:-}" ]; then security=(--security_dir="$TESSERA_SECURITY_DIR"); fi
log_dir="${TESSERA_LOG_DIR:-$(dirname "$cluster")/logs}"
mkdir -p "$log_dir" || die 1 "cannot create log directory $log_dir"

# Which task am I? stdout "JOB TASK"; stderr the rank line and any warning.
messages="$(mktemp)" || die 1 "mktemp failed"
role="$("$ctl_bin" launch-role --cluster="$cluster" 2>"$messages")"
rc=$?
notes="$(cat "$messages")"
rm -f "$messages"
[ $rc -eq 0 ] || die 1 "cannot tell which task this is: $notes"
read -r job task <<< "$role"
log="$log_dir/${job}_${task}.log"
# The batch system's output file gets one line per task, plus any warning.
echo "$ME: $(hostname): $job $task, log $log" >&2
grep WARNING <<< "$notes" >&2

exec 3>&2 >> "$log" 2>&1 < /dev/null  # fd 3: the batch system's output, for failures
echo "$ME: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname), pid $$"
echo "$notes"

if [ "$job" = ps ]; then
  echo "$ME: exec $ps_bin --cluster=$cluster --task=$task ${security[*]}"
  exec "$ps_bin" --cluster="$cluster" --task="$task" "${security[@]}"
fi
[ "$job" = worker ] || die 1 "launch-role gave job \"$job\"; only ps and worker tasks are launched"

# Checkpoint and summary directories, when this worker binary has the flags.
extra=()
worker_flags="$("$worker_bin" --helpfull 2>&1)"
for pair in "checkpoint_dir:${TESSERA_CHECKPOINT_DIR:-}" "summary_dir:${TESSERA_SUMMARY_DIR:-}"; do
  flag="${pair%%:*}"
  dir="${pair#*:}"
  [ -n "$dir" ] || continue
  if grep -q -- "--$flag " <<< "$worker_flags"; then
    extra+=("--$flag=$dir")
  else
    echo "$ME: $worker_bin has no --$flag; not passing $dir"
  fi
done

echo "$ME: waiting up to ${ps_wait} s for every ps to answer"
if ! "$ctl_bin" wait --cluster="$cluster" --for=ready --job=ps --timeout="$ps_wait" "${security[@]}"; then
  why="worker $task: the ps tasks did not all answer within ${ps_wait} s (see the ps logs in $log_dir and: $ctl_bin status --cluster=$cluster ${security[*]})"
  echo "$ME: $why" >&3
  die 1 "$why"
fi
echo "$ME: exec $worker_bin --cluster=$cluster --task=$task --config=$config ${security[*]} ${extra[*]} $*"
exec "$worker_bin" --cluster="$cluster" --task="$task" --config="$config" "${security[@]}" "${extra[@]}" "$@"
