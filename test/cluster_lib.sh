# Helpers for multi-process tests of real Tessera daemons (sourced).
# Every test runs in its own TEST_TMPDIR, picks free ports, and relies on
# scripts/run_local.sh, which kills by PID every task it started.

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
export TESSERA_PS_BIN="$runfiles/ps/tessera_ps"
export TESSERA_WORKER_BIN="$runfiles/worker/tessera_worker"
export TESSERA_CTL_BIN="$runfiles/tools/tessera_ctl"
export TESSERA_NO_BUILD=1
run_local="$runfiles/scripts/run_local.sh"

# free_ports N and write_cluster FILE NUM_PS NUM_WORKERS.
source "$runfiles/scripts/local_cluster.sh"

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# finish: prints the verdict and exits with the right status.
finish() {
  if [ "$failures" -eq 0 ]; then echo "PASS"; exit 0; fi
  echo "$failures check(s) failed"
  exit 1
}
