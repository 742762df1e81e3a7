# Helpers for multi-process tests of real Tessera daemons (sourced).
# Every test runs in its own TEST_TMPDIR, picks free ports, and relies on
# scripts/run_local.sh, which kills by PID every task it started.

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
export TESSERA_PS_BIN="$runfiles/ps/tessera_ps"
export TESSERA_WORKER_BIN="$runfiles/worker/tessera_worker"
export TESSERA_CTL_BIN="$runfiles/tools/tessera_ctl"
export TESSERA_NO_BUILD=1
run_local="$runfiles/scripts/run_local.sh"

# free_ports N: prints N distinct free TCP ports on localhost.
free_ports() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# write_cluster FILE NUM_PS NUM_WORKERS: a localhost cluster on free ports.
write_cluster() {
  local file="$1" num_ps="$2" num_workers="$3"
  read -r -a ports <<< "$(free_ports $((num_ps + num_workers)))"
  local ps="" workers="" i
  for ((i = 0; i < num_ps; i++)); do ps+="${ps:+, }\"localhost:${ports[$i]}\""; done
  for ((i = 0; i < num_workers; i++)); do
    workers+="${workers:+, }\"localhost:${ports[$((num_ps + i))]}\""
  done
  echo "{\"cluster\": {\"ps\": [$ps], \"worker\": [$workers]}}" > "$file"
}

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
