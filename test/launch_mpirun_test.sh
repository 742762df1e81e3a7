#!/usr/bin/env bash
# scripts/mpirun_launch.sh under Debian's Open MPI: 1 ps + 2 workers on this
# host train the linear regression lab to the end. mpirun starts, waits for
# and (on failure) kills the tasks; `timeout` bounds the whole run.
set -uo pipefail
# shellcheck source=test/launch_test_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/launch_test_lib.sh"

if ! command -v mpirun > /dev/null; then
  echo "SKIPPED: mpirun is not installed (Debian package openmpi-bin; scripts/setup.sh installs it)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then  # Open MPI refuses root unless told
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_btl=self,tcp OMPI_MCA_rmaps_base_oversubscribe=1

work="$TEST_TMPDIR/mpirun"
mkdir -p "$work"
reachable_hostname > "$work/nodes"
port="$(free_ports 3)" || exit 1
TESSERA_WORKDIR="$work" TESSERA_JOB_KEY=mpi TESSERA_NUM_WORKERS=2 TESSERA_PORT="$port" \
  timeout -k 5 180 "$RUNFILES/scripts/mpirun_launch.sh" "$work/nodes" > "$work/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { fail "mpirun_launch.sh exited $rc"; cat "$work/out"; }
check_training mpirun "$work/tessera-runs/mpi" 2
grep -q "rank 2 from OMPI_COMM_WORLD_RANK is worker:1" "$work/tessera-runs/mpi/logs/worker_1.log" ||
  fail "worker 1 did not take its rank from OMPI_COMM_WORLD_RANK"

# A node file that is not one: a clear error before anything starts.
echo "node[1-" > "$work/bad_nodes"
TESSERA_WORKDIR="$work" TESSERA_JOB_KEY=bad timeout 60 "$RUNFILES/scripts/mpirun_launch.sh" \
  "$work/bad_nodes" > "$work/bad_out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "bad node file: exit $rc, want 1"
grep -q "bad_nodes: line 1, column 8: '\[' is not closed by '\]'" "$work/bad_out" ||
  { fail "bad node file: no line/column error"; cat "$work/bad_out"; }
finish
