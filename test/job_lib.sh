#!/usr/bin/env bash
# Helpers for multi-process tests of real tessera_ps / tessera_worker
# binaries (sourced). Every process started with start_ps / start_worker is
# recorded by PID and killed (by that PID) when the test exits. Ports come
# from the kernel (bind to port 0), so tests never clash.
#
#   source "$runfiles/test/job_lib.sh"
#   make_cluster 1 2            # $cluster: 1 ps, 2 workers on free ports
#   start_ps 0; start_worker 0 --config=... ; wait_for_log worker_0 "global step" 30
set -uo pipefail

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
PS_BIN="$runfiles/ps/tessera_ps"
WORKER_BIN="$runfiles/worker/tessera_worker"
CTL_BIN="$runfiles/tools/tessera_ctl"
work="${TEST_TMPDIR}/job"
mkdir -p "$work"
failures=0
declare -A pid_of=()   # "ps_0" -> PID of the running process
all_pids=()

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

cleanup() {
  local pid
  for pid in "${all_pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
}
trap cleanup EXIT

# make_cluster NUM_PS NUM_WORKERS: writes $cluster with free localhost ports.
make_cluster() {
  cluster="$work/cluster.json"
  python3 - "$1" "$2" > "$cluster" <<'PY'
import json, socket, sys
socks = []
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
    return "localhost:%d" % s.getsockname()[1]
ps = [free() for _ in range(int(sys.argv[1]))]
workers = [free() for _ in range(int(sys.argv[2]))]
print(json.dumps({"cluster": {"ps": ps, "worker": workers}}))
PY
}

# start_ps N [flags]: starts ps N, logging to $work/ps_N.log (appended).
start_ps() {
  local n="$1"
  shift
  "$PS_BIN" --cluster="$cluster" --task="$n" "$@" >> "$work/ps_$n.log" 2>&1 &
  pid_of[ps_$n]=$!
  all_pids+=($!)
}

# start_worker N [flags]: starts worker N, logging to $work/worker_N.log (appended).
start_worker() {
  local n="$1"
  shift
  "$WORKER_BIN" --cluster="$cluster" --task="$n" "$@" >> "$work/worker_$n.log" 2>&1 &
  pid_of[worker_$n]=$!
  all_pids+=($!)
}

# wait_for_log NAME TEXT SECONDS [COUNT]: waits until $work/NAME.log holds
# TEXT (a fixed string) at least COUNT times (default 1). Fails the test on
# timeout.
wait_for_log() {
  local name="$1" text="$2" seconds="$3" count="${4:-1}" i
  for ((i = 0; i < seconds * 10; i++)); do
    [ "$(grep -cF -- "$text" "$work/$name.log" 2>/dev/null)" -ge "$count" ] && return 0
    sleep 0.1
  done
  fail "$name.log: no \"$text\" within $seconds s"
  tail -n 20 "$work/$name.log"
  return 1
}

# wait_exit NAME SECONDS: waits for process NAME to exit; sets $rc. Kills it
# and fails after SECONDS.
wait_exit() {
  local name="$1" seconds="$2" pid="${pid_of[$1]}" i
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "$name (pid $pid) still running after $seconds s"
    tail -n 20 "$work/$name.log"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  rc=$?
}

# expect_exit NAME SECONDS CODE
expect_exit() {
  wait_exit "$1" "$2"
  [ "$rc" -eq "$3" ] || { fail "$1 exited $rc, want $3"; tail -n 20 "$work/$1.log"; }
}

# expect_exit_training NAME QUIET_SECONDS CODE: as expect_exit, for a task
# that trains on to the end of a long job: waits as long as $work/NAME.log
# grows, so a loaded machine that trains 10x slower gets the time it needs;
# a log that stays the same for QUIET_SECONDS (a hang) fails the test and
# kills the task. The task must log at least every few seconds (a step line
# every log_every_steps, "waiting for ..." lines).
expect_exit_training() {
  local name="$1" quiet="$2" pid="${pid_of[$1]}" size last=-1 changed=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    size="$(stat -c %s "$work/$name.log" 2>/dev/null || echo 0)"
    if [ "$size" != "$last" ]; then
      last="$size"
      changed=$SECONDS
    elif ((SECONDS - changed >= quiet)); then
      fail "$name (pid $pid) still running, its log unchanged for $quiet s"
      tail -n 20 "$work/$name.log"
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null
  rc=$?
  [ "$rc" -eq "$3" ] || { fail "$name exited $rc, want $3"; tail -n 20 "$work/$name.log"; }
}

# expect_log NAME TEXT: $work/NAME.log holds the fixed string TEXT.
expect_log() {
  grep -qF -- "$2" "$work/$1.log" || { fail "$1.log lacks \"$2\""; tail -n 20 "$work/$1.log"; }
}

# expect_checkpoints_valid DIR: tessera_ctl ckpt list DIR reports at least
# one checkpoint and every one "ok".
expect_checkpoints_valid() {
  local out
  out="$("$CTL_BIN" ckpt list "$1" 2>&1)" || { fail "ckpt list $1: $out"; return; }
  echo "$out"
  [ "$(echo "$out" | tail -n +2 | grep -c .)" -ge 1 ] || fail "ckpt list $1: no checkpoint"
  if echo "$out" | tail -n +2 | grep -v -E '^ckpt-[0-9]+ .* ok( |$)' | grep -q .; then
    fail "ckpt list $1: a checkpoint is not ok"
  fi
}

# log_time NAME TEXT: seconds since midnight of the first log line of
# $work/NAME.log holding TEXT (from the "I1122 00:01:45.553371]" prefix).
log_time() {
  grep -F -- "$2" "$work/$1.log" | head -n 1 |
    sed -E 's/^[IWE][0-9]{4} ([0-9]+):([0-9]+):([0-9.]+).*/\1 \2 \3/' |
    awk '{ printf "%.3f\n", $1 * 3600 + $2 * 60 + $3 }'
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed; logs:"
    for f in "$work"/*.log; do echo "==== $f"; tail -n 30 "$f"; done
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
