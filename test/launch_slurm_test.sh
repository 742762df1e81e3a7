#!/usr/bin/env bash
# The Slurm scripts under a real single-node Slurm that this test configures
# and starts itself (Debian's slurm-wlm and munge): munged, slurmctld and
# slurmd with a temporary key, config, state and free ports. Then
#   1. sbatch scripts/slurm_job.sbatch  (srun, 3 tasks on this node)
#   2. sbatch --array=0-2 scripts/slurm_array.sbatch
# each train the linear regression lab with 1 ps + 2 workers to the end.
# Every daemon the test started is stopped by PID on exit, after cancelling
# its jobs. Skips (exit 0, "SKIPPED: reason") when Slurm or munge is not
# installed or cannot run here.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -uo pipefail
# shellcheck source=test/launch_test_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/launch_test_lib.sh"

skip() {
  echo "SKIPPED: $*"
  exit 0
}

for program in munged slurmctld slurmd sbatch sinfo squeue scancel; do
  command -v "$program" > /dev/null || PATH="$PATH:/usr/sbin"
  command -v "$program" > /dev/null ||
    skip "$program is not installed (Debian packages slurm-wlm and munge; scripts/setup.sh installs them)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs as their user; this test runs as $(id -un)"

# Short paths: munge's socket path must fit in a Unix socket address.
base="$(mktemp -d /tmp/tessera-slurm.XXXXXX)" || exit 1
chmod 755 "$base"
mkdir -p "$base/key" "$base/run" "$base/log" "$base/state" "$base/spool"
chmod 700 "$base/key"
daemon_pids=()

cleanup() {
  local pid
  [ "$BASHPID" = "$$" ] || return 0  # not in a command substitution
  if [ "$failures" -ne 0 ]; then  # what Slurm said, before it is deleted
    squeue 2>&1
    tail -n 15 "$base"/log/slurmctld.log "$base"/log/slurmd.log 2>/dev/null
  fi
  if [ -n "${SLURM_CONF:-}" ]; then scancel --quiet --full --name=tessera 2>/dev/null; fi
  for pid in "${daemon_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${daemon_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$base"
}
trap cleanup EXIT

head -c 1024 /dev/urandom > "$base/key/munge.key"
chmod 400 "$base/key/munge.key"
munged -F --key-file="$base/key/munge.key" --socket="$base/run/munge.sock" \
  --pid-file="$base/run/munged.pid" --log-file="$base/log/munged.log" \
  --seed-file="$base/key/munged.seed" > "$base/log/munged.out" 2>&1 &
daemon_pids+=($!)
for _ in $(seq 50); do [ -S "$base/run/munge.sock" ] && break; sleep 0.1; done
[ -S "$base/run/munge.sock" ] || skip "munged did not start: $(tail -n 3 "$base/log/munged.out")"

node="$(hostname -s)"
ports="$(free_ports 2)" || exit 1
cat > "$base/slurm.conf" <<CONF
ClusterName=tesseratest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ports
SlurmdPort=$((ports + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$base/run/munge.sock
CredType=cred/munge
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=30 State=UP
CONF
export SLURM_CONF="$base/slurm.conf"
slurmctld -D -f "$SLURM_CONF" > "$base/log/slurmctld.out" 2>&1 &
daemon_pids+=($!)
slurmd -D -f "$SLURM_CONF" > "$base/log/slurmd.out" 2>&1 &
daemon_pids+=($!)
state=""
for _ in $(seq 60); do
  state="$(sinfo -h -N -o %T 2>/dev/null)"
  [ "$state" = idle ] && break
  sleep 0.5
done
if [ "$state" != idle ]; then
  skip "Slurm did not come up here (node state \"$state\"): $(tail -n 5 "$base/log/slurmd.out" "$base/log/slurmctld.out" 2>/dev/null)"
fi

work="$TEST_TMPDIR/slurm"
mkdir -p "$work"
export TESSERA_WORKDIR="$work" TESSERA_HOSTNAME
TESSERA_HOSTNAME="$(reachable_hostname)"

# submit NAME SBATCH_ARGS...: runs the job to its end (sbatch --wait, bounded
# by a 10 minute job time limit and by `timeout`); sets `job` to its id.
submit() {
  local name="$1" out rc
  shift
  out="$(cd "$work" && timeout -k 10 300 sbatch --wait --parsable --job-name=tessera --time=10 \
    --output="$work/$name-%j.out" "$@" 2>&1)"
  rc=$?
  job="$(echo "$out" | head -n 1)"
  job="${job%%;*}"
  [ "$rc" -eq 0 ] || { fail "$name: sbatch --wait exited $rc: $out"; cat "$work/$name"-*.out 2>/dev/null; }
}

# 1. One job, srun -m cyclic: 1 ps + 2 workers on this node.
port="$(free_ports 3)" || exit 1
TESSERA_NUM_WORKERS=2 TESSERA_PORT="$port" submit job --nodes=1 --ntasks-per-node=3 \
  "$RUNFILES/scripts/slurm_job.sbatch"
check_training slurm_job "$work/tessera-runs/$job" 2
grep -q "rank 2 from SLURM_PROCID is worker:1" "$work/tessera-runs/$job/logs/worker_1.log" ||
  fail "slurm_job: worker 1 did not take its rank from SLURM_PROCID"

# 2. A job array of 3 elements.
port="$(free_ports 3)" || exit 1
TESSERA_PORT="$port" submit array --array=0-2 "$RUNFILES/scripts/slurm_array.sbatch"
check_training slurm_array "$work/tessera-runs/$job" 2
grep -q "rank 1 from SLURM_ARRAY_TASK_ID is worker:0" \
  "$work/tessera-runs/$job/logs/worker_0.log" ||
  fail "slurm_array: worker 0 did not take its rank from SLURM_ARRAY_TASK_ID"
finish
