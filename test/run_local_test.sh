#!/usr/bin/env bash
# scripts/run_local.sh against stand-in daemons (small bash programs written
# below), so it is tested without the real ps and worker. The stand-ins bind no
# port. Every stand-in records its PID; each case checks that none is left.
set -uo pipefail

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
run_local="$runfiles/scripts/run_local.sh"
tmp="${TEST_TMPDIR}"
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Stand-in ps: logs its arguments, records its PID (and, in ps_N.ready, that
# its signal handling is set up), then runs until the chief stand-in writes
# $tmp/shutdown (or forever when FAKE_PS_HANG is set).
cat > "$tmp/fake_ps" <<'FAKE'
#!/usr/bin/env bash
task="${2#--task=}"
echo "fake ps $task: $*"
echo $$ > "$FAKE_PID_DIR/ps_$task.pid"
if [ -n "${FAKE_PS_HANG:-}" ]; then
  trap 'touch "$FAKE_PID_DIR/ps_${task}_got_term"; exit 143' TERM
  touch "$FAKE_PID_DIR/ps_$task.ready"
  for _ in $(seq 3000); do sleep 0.1; done
  exit 0
fi
touch "$FAKE_PID_DIR/ps_$task.ready"
while [ ! -e "$FAKE_SHUTDOWN" ]; do sleep 0.1; done
echo "fake ps $task: shut down by the chief"
exit 0
FAKE
# Stand-in worker: logs its arguments, records its PID (and, in
# worker_N.ready, that its signal handling is set up), exits with
# FAKE_EXIT_<task> (default 0); worker 0 then tells the ps to shut down.
# With FAKE_WORKER_HANG set it runs until killed.
cat > "$tmp/fake_worker" <<'FAKE'
#!/usr/bin/env bash
task="${2#--task=}"
echo "fake worker $task: $*"
echo $$ > "$FAKE_PID_DIR/worker_$task.pid"
[ -n "${FAKE_WORKER_HANG:-}" ] && touch "$FAKE_PID_DIR/worker_$task.ready" && exec sleep 300
# FAKE_WORKER_STOP=slow: on SIGTERM take 1 s to stop, then record whether
# the ps stand-in still ran; =ignore: ignore SIGTERM.
if [ -n "${FAKE_WORKER_STOP:-}" ]; then
  if [ "$FAKE_WORKER_STOP" = ignore ]; then
    trap '' TERM
  else
    trap 'sleep 1; [ ! -e "$FAKE_PID_DIR/ps_0_got_term" ] &&
          touch "$FAKE_PID_DIR/ps_alive_at_worker_$task"; exit 0' TERM
  fi
  touch "$FAKE_PID_DIR/worker_$task.ready"
  for _ in $(seq 3000); do sleep 0.1; done
  exit 0
fi
touch "$FAKE_PID_DIR/worker_$task.ready"
sleep 0.3
code_var="FAKE_EXIT_$task"
[ "$task" = 0 ] && touch "$FAKE_SHUTDOWN"
exit "${!code_var:-0}"
FAKE
chmod +x "$tmp/fake_ps" "$tmp/fake_worker"

echo '{"cluster": {"ps": ["localhost:2222"], "worker": ["localhost:2223", "127.0.0.1:2224"]}}' \
  > "$tmp/cluster.json"
echo 'model {}' > "$tmp/train.pbtxt"

export TESSERA_PS_BIN="$tmp/fake_ps"
export TESSERA_WORKER_BIN="$tmp/fake_worker"
export TESSERA_CTL_BIN="$runfiles/tools/tessera_ctl"

# new_case NAME: a fresh run directory, PID directory and shutdown file.
new_case() {
  case_dir="$tmp/$1"
  mkdir -p "$case_dir/pids"
  export RUN_DIR="$case_dir/run"
  export FAKE_PID_DIR="$case_dir/pids"
  export FAKE_SHUTDOWN="$case_dir/shutdown"
}

# Every recorded stand-in PID must be gone; kills any survivor.
expect_no_survivors() {
  local f pid
  for f in "$case_dir"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      fail "$1: $(basename "$f" .pid) (pid $pid) still running"
      kill -KILL "$pid" 2>/dev/null
    fi
  done
}

expect_contains() {  # expect_contains WHAT FILE TEXT
  grep -qF -- "$3" "$2" || { fail "$1: $(basename "$2") lacks \"$3\""; cat "$2"; }
}

# await_standins: up to 30 s for the three stand-ins to record their PIDs and
# set their traps (a signal that comes before a stand-in's trap ends it at
# once; the fixed half second this waited for that is a guess a loaded
# machine can beat).
await_standins() {
  for _ in $(seq 300); do
    [ "$(find "$case_dir/pids" -name '*.ready' | wc -l)" -eq 3 ] && return 0
    sleep 0.1
  done
  fail "$(basename "$case_dir"): the three stand-ins did not all start within 30 s"
}

# reap_runner NAME SECONDS: waits up to SECONDS for run_local.sh ($runner) to
# exit (else a failure and SIGKILL); leaves its exit status in rc.
reap_runner() {
  for _ in $(seq $(($2 * 10))); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$runner" 2>/dev/null; then
    fail "$1: run_local.sh still running $2 s after the signal"
    kill -KILL "$runner"
  fi
  wait "$runner"
  rc=$?
}

# expect_ps_outlived_workers NAME: each slow stand-in worker, when it
# finished stopping, found the ps not yet told to stop.
expect_ps_outlived_workers() {
  for w in 0 1; do
    [ -e "$case_dir/pids/ps_alive_at_worker_$w" ] ||
      { fail "$1: the ps was told to stop before worker $w stopped"; cat "$case_dir/out"; }
  done
}

# 1. Every task exits 0: exit 0, one log per task, flags passed through.
new_case ok
"$run_local" "$tmp/cluster.json" "$tmp/train.pbtxt" --max_steps=5 > "$case_dir/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { fail "ok: exit $rc"; cat "$case_dir/out"; }
for log in ps_0 worker_0 worker_1; do
  [ -s "$RUN_DIR/$log.log" ] || fail "ok: no $log.log"
done
expect_contains ok "$RUN_DIR/worker_1.log" \
  "--cluster=$tmp/cluster.json --task=1 --config=$tmp/train.pbtxt --security_dir=$RUN_DIR/security --max_steps=5"
expect_contains ok "$RUN_DIR/ps_0.log" "--task=0 --security_dir=$RUN_DIR/security"
# The job's CA, certificate and token, readable by their owner only.
modes="$(cd "$RUN_DIR/security" && stat -c '%n %a' ca.pem cert.pem key.pem token | tr '\n' ' ')"
[ "$modes" = "ca.pem 600 cert.pem 600 key.pem 600 token 600 " ] ||
  fail "ok: security files: $modes"
[ "$(stat -c %a "$RUN_DIR/security")" = 700 ] || fail "ok: security directory is not 0700"
expect_contains ok "$RUN_DIR/ps_0.log" "shut down by the chief"
expect_contains ok "$case_dir/out" "logs in $RUN_DIR"
expect_contains ok "$case_dir/out" "status --cluster=$tmp/cluster.json --security_dir=$RUN_DIR/security"
expect_contains ok "$case_dir/out" "worker:1"
expect_contains ok "$case_dir/out" "exit 0"
expect_no_survivors ok

# 2. A worker fails: non-zero exit, its status and log named.
new_case worker_fails
FAKE_EXIT_1=3 "$run_local" "$tmp/cluster.json" "$tmp/train.pbtxt" > "$case_dir/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { fail "worker_fails: exit $rc, want 1"; cat "$case_dir/out"; }
grep -qE "worker:1 +127.0.0.1:2224 +exit 3 +<- see worker_1.log" "$case_dir/out" ||
  { fail "worker_fails: no 'worker:1 ... exit 3' line"; cat "$case_dir/out"; }
expect_no_survivors worker_fails

# 3. The ps does not exit after the workers: stopped after the grace period.
new_case ps_hangs
FAKE_PS_HANG=1 TESSERA_PS_GRACE=1 "$run_local" "$tmp/cluster.json" "$tmp/train.pbtxt" \
  > "$case_dir/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { fail "ps_hangs: exit $rc, want 1"; cat "$case_dir/out"; }
expect_contains ps_hangs "$case_dir/out" "killed by SIGTERM, stopped by run_local.sh"
expect_no_survivors ps_hangs

# 4. SIGTERM to run_local.sh while everything runs: every task stopped.
new_case sigterm
FAKE_WORKER_HANG=1 FAKE_PS_HANG=1 "$run_local" "$tmp/cluster.json" "$tmp/train.pbtxt" \
  > "$case_dir/out" 2>&1 &
runner=$!
await_standins
kill -TERM "$runner"
reap_runner sigterm 15
[ "$rc" -eq 143 ] || { fail "sigterm: exit $rc, want 143"; cat "$case_dir/out"; }
[ "$(find "$case_dir/pids" -name '*.pid' | wc -l)" -eq 3 ] || fail "sigterm: not all started"
expect_contains sigterm "$case_dir/out" "got SIGTERM: stopping the workers"
expect_no_survivors sigterm

# 4b. SIGTERM: the workers stop first, the ps tasks only after them.
new_case ordered_stop
FAKE_WORKER_STOP=slow FAKE_PS_HANG=1 "$run_local" "$tmp/cluster.json" "$tmp/train.pbtxt" \
  > "$case_dir/out" 2>&1 &
runner=$!
await_standins
kill -TERM "$runner"
reap_runner ordered_stop 15
expect_ps_outlived_workers ordered_stop
grep -qE "worker:0 +localhost:2223 +exit 0, stopped by run_local.sh \(SIGTERM\)" "$case_dir/out" ||
  { fail "ordered_stop: worker:0 did not exit 0 on SIGTERM"; cat "$case_dir/out"; }
expect_no_survivors ordered_stop

# 4b'. The same with the signal sent to run_local.sh's whole process group, as
# a terminal's Ctrl-C is: the tasks, in sessions of their own, do not get it.
new_case group_signal
FAKE_WORKER_STOP=slow FAKE_PS_HANG=1 setsid "$run_local" "$tmp/cluster.json" \
  "$tmp/train.pbtxt" > "$case_dir/out" 2>&1 &
runner=$!
await_standins
kill -TERM -- "-$runner"
reap_runner group_signal 15
expect_ps_outlived_workers group_signal
expect_no_survivors group_signal

# 4c. A worker ignores SIGTERM; a second signal kills everything at once
# (TESSERA_STOP_GRACE would wait a minute).
new_case second_signal
FAKE_WORKER_STOP=ignore FAKE_PS_HANG=1 TESSERA_STOP_GRACE=60 "$run_local" "$tmp/cluster.json" \
  "$tmp/train.pbtxt" > "$case_dir/out" 2>&1 &
runner=$!
await_standins
kill -TERM "$runner"
# The second signal once run_local.sh handles the first (it says so after
# setting its second-signal trap), not a fixed second later.
for _ in $(seq 300); do
  grep -qF "got SIGTERM: stopping the workers" "$case_dir/out" && break
  sleep 0.1
done
kill -TERM "$runner"  # (a background job of this script ignores SIGINT)
reap_runner second_signal 10
[ "$rc" -eq 143 ] || { fail "second_signal: exit $rc, want 143"; cat "$case_dir/out"; }
expect_contains second_signal "$case_dir/out" "second signal: killing every task now"
expect_contains second_signal "$case_dir/out" "killed by run_local.sh (SIGTERM; a second signal)"
expect_no_survivors second_signal

# 5. A task on another host: refused before anything starts.
new_case remote
echo '{"cluster": {"ps": ["localhost:2222"], "worker": ["node7.example:2223"]}}' \
  > "$case_dir/cluster.json"
"$run_local" "$case_dir/cluster.json" "$tmp/train.pbtxt" > "$case_dir/out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "remote: exit $rc, want 2"
expect_contains remote "$case_dir/out" "task worker:0 is on host \"node7.example\", not this host"
[ -z "$(ls "$case_dir/pids")" ] || fail "remote: a task was started"

# 6. A missing binary and a bad cluster file: clear errors, exit 2.
new_case setup
TESSERA_PS_BIN="$tmp/nonexistent" "$run_local" "$tmp/cluster.json" "$tmp/train.pbtxt" \
  > "$case_dir/out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "setup: missing binary: exit $rc, want 2"
expect_contains setup "$case_dir/out" "$tmp/nonexistent is missing or not executable; run: bazel build"
echo '{"cluster": {"ps": []}}' > "$case_dir/bad.json"
"$run_local" "$case_dir/bad.json" "$tmp/train.pbtxt" > "$case_dir/out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "setup: bad cluster: exit $rc, want 2"
expect_contains setup "$case_dir/out" "bad.json: job \"ps\" has no tasks"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
