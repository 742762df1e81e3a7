#!/usr/bin/env bash
# The PBS scripts under bash with the environment PBS would give them (no PBS
# server): every script starts a real 1 ps + 2 worker cluster on this host
# that trains the linear regression lab to the end.
#   1. scripts/pbs_array.pbs: three PBS Pro array elements (PBS_ARRAY_INDEX)
#   2. scripts/torque_array.pbs: three Torque array elements (PBS_ARRAYID)
#   3. scripts/pbs_job.pbs: one job, cluster from $PBS_NODEFILE, mpiexec
#   4. scripts/pbs_aprun.pbs: one job under a stand-in aprun (ALPS_APP_PE)
# Every process runs under `timeout`; the test waits for each by PID.
set -uo pipefail
# shellcheck source=test/launch_test_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/launch_test_lib.sh"

scripts="$RUNFILES/scripts"
work="$TEST_TMPDIR/pbs"
mkdir -p "$work"
reachable_hostname > "$work/nodefile"
TESSERA_HOSTNAME="$(reachable_hostname)"
export PBS_O_WORKDIR="$work" TESSERA_HOSTNAME

# run_array NAME SCRIPT INDEX_VARIABLE JOB_NUMBER: three elements at once.
run_array() {
  local name="$1" script="$2" index_var="$3" number="$4" i pids=() rc
  local port
  port="$(free_ports 3)" || { fail "$name: no free ports"; return; }
  for i in 0 1 2; do
    env "$index_var=$i" PBS_JOBID="${number}[$i].fake" PBS_ARRAY_ID="${number}[].fake" \
      PBS_NODEFILE="$work/nodefile" TESSERA_NUM_TASKS=3 TESSERA_PORT="$port" \
      timeout -k 5 180 bash "$scripts/$script" > "$work/$name.$i.out" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2; do
    wait "${pids[$i]}"
    rc=$?
    [ "$rc" -eq 0 ] || { fail "$name: element $i exited $rc"; cat "$work/$name.$i.out"; }
  done
  check_training "$name" "$work/tessera-runs/$number" 2
  grep -q "rank 1 from $index_var is worker:0" "$work/tessera-runs/$number/logs/worker_0.log" ||
    fail "$name: worker 0 did not take its rank from $index_var"
}

run_array pbs_pro pbs_array.pbs PBS_ARRAY_INDEX 101
run_array torque torque_array.pbs PBS_ARRAYID 102

# 3. One job, mpiexec from Open MPI.
if command -v mpirun > /dev/null; then
  if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  port="$(free_ports 3)" || exit 1
  PBS_JOBID=103.fake PBS_NODEFILE="$work/nodefile" TESSERA_NUM_WORKERS=2 TESSERA_PORT="$port" \
    TESSERA_MPIRUN_FLAGS="--oversubscribe" \
    timeout -k 5 180 bash "$scripts/pbs_job.pbs" > "$work/pbs_job.out" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] || { fail "pbs_job.pbs exited $rc"; cat "$work/pbs_job.out"; }
  check_training pbs_job "$work/tessera-runs/103" 2
else
  echo "SKIPPED part 3 (pbs_job.pbs): mpirun is not installed (Debian package openmpi-bin)"
fi

# 4. Cray: a stand-in aprun that starts -n N copies with ALPS_APP_PE set.
mkdir -p "$work/bin"
cat > "$work/bin/aprun" <<'APRUN'
#!/usr/bin/env bash
n=1
while [ $# -gt 0 ]; do
  case "$1" in -n) n="$2"; shift 2 ;; -N) shift 2 ;; *) break ;; esac
done
if [ "$1" = hostname ]; then  # the node names, as the test can reach them
  for ((pe = 0; pe < n; pe++)); do echo "$TESSERA_HOSTNAME"; done
  exit 0
fi
pids=()
for ((pe = 0; pe < n; pe++)); do ALPS_APP_PE=$pe "$@" & pids+=($!); done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
exit $rc
APRUN
chmod +x "$work/bin/aprun"
port="$(free_ports 3)" || exit 1
# One node running 3 tasks: aprun -n 3 -N 3, make-cluster --layout=block.
PATH="$work/bin:$PATH" PBS_JOBID=104.fake TESSERA_NUM_NODES=1 TESSERA_TASKS_PER_NODE=3 \
  TESSERA_PORT="$port" timeout -k 5 180 bash "$scripts/pbs_aprun.pbs" > "$work/aprun.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { fail "pbs_aprun.pbs exited $rc"; cat "$work/aprun.out"; }
check_training aprun "$work/tessera-runs/104" 2
grep -q "rank 2 from ALPS_APP_PE is worker:1" "$work/tessera-runs/104/logs/worker_1.log" ||
  fail "aprun: worker 1 did not take its rank from ALPS_APP_PE"

# An array element numbered past the end: a clear error, nothing started.
PBS_ARRAY_INDEX=3 PBS_JOBID="105[3].fake" TESSERA_NUM_TASKS=3 \
  timeout 30 bash "$scripts/pbs_array.pbs" > "$work/bad_index.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "index past the end: exit $rc, want 1"
grep -q "array index 3 is out of range 0-2" "$work/bad_index.out" ||
  { fail "index past the end: no clear error"; cat "$work/bad_index.out"; }
finish
