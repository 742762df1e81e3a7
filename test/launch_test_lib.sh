# Helpers for the launch script tests (launch_*_test.sh); sourced, not run.
# Sets RUNFILES and exports TESSERA_HOME and the binaries for the scripts.
# shellcheck shell=bash

RUNFILES="${TEST_SRCDIR}/${TEST_WORKSPACE}"
export TESSERA_HOME="$RUNFILES"
export TESSERA_PS_BIN="$RUNFILES/ps/tessera_ps"
export TESSERA_WORKER_BIN="$RUNFILES/worker/tessera_worker"
export TESSERA_CTL_BIN="$RUNFILES/tools/tessera_ctl"
# A tiny job: the linear regression lab, 4 examples, 2 per worker.
export TESSERA_CONFIG="examples/linear_regression.pbtxt"
export TESSERA_WORKER_FLAGS="--max_steps=40 --batch_size=2"
export TESSERA_PS_WAIT=60 TESSERA_ARRAY_WAIT=60
# shellcheck source=test/check_lib.sh
source "$RUNFILES/test/check_lib.sh"

# Prints a port P such that P .. P+COUNT-1 are all free now.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
count = int(sys.argv[1])
for _ in range(200):
    probe = socket.socket()
    probe.bind(("", 0))
    base = probe.getsockname()[1]
    probe.close()
    if base + count > 65535:
        continue
    sockets = []
    try:
        for port in range(base, base + count):
            s = socket.socket()
            s.bind(("", port))
            sockets.append(s)
    except OSError:
        continue
    finally:
        for s in sockets:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no block of free ports")
PY
}

# The name other tasks reach this host by; "localhost" when the host name
# does not resolve here.
reachable_hostname() {
  if getent hosts "$(hostname)" > /dev/null 2>&1; then hostname; else echo localhost; fi
}

# check_training NAME RUN_DIR NUM_WORKERS: the cluster of RUN_DIR trained to
# the end: every worker logged "done at global step S" with S >= 40 (async
# workers may overshoot max_steps by up to one step each), the chief shut the ps
# down and every task exited cleanly. Prints the logs when not.
check_training() {
  local name="$1" dir="$2" workers="$3" i
  [ -s "$dir/cluster.json" ] || { fail "$name: no $dir/cluster.json"; return; }
  for ((i = 0; i < workers; i++)); do
    local step
    step=$(sed -n 's/.*done at global step \([0-9]*\).*/\1/p' "$dir/logs/worker_$i.log" 2>/dev/null)
    [ -n "$step" ] && [ "$step" -ge 40 ] && [ "$step" -lt $((40 + workers)) ] ||
      { fail "$name: worker $i did not finish training (step '${step}')"; tail -n 20 "$dir/logs/worker_$i.log"; }
    grep -q "worker:$i\] exiting" "$dir/logs/worker_$i.log" 2>/dev/null ||
      fail "$name: worker $i did not exit cleanly"
  done
  grep -q "ps:0\] stopped" "$dir/logs/ps_0.log" 2>/dev/null ||
    { fail "$name: ps 0 did not stop"; tail -n 20 "$dir/logs/ps_0.log"; }
  grep -q "launch-role: rank 0 from" "$dir/logs/ps_0.log" 2>/dev/null ||
    fail "$name: ps 0's log does not say which variable gave its rank"
  if grep -q "WARNING" "$dir"/logs/*.log; then
    fail "$name: a task warned:"
    grep -h "WARNING" "$dir"/logs/*.log
  fi
}
