#!/usr/bin/env bash
# Emulated hosts (bench/netns/emulate.sh): 1 ps + 2 workers, each in a network
# namespace of its own on a 100 Mbit/s link, train softmax regression a few
# steps with TLS and the job token; the link check sees the rate limit; then
# nothing of the run is left (namespaces, processes, cgroups); the CPU samples
# give the share of a core the job's threads got. Also: SIGTERM
# in mid-job cleans up and exits 143, leftovers of the prefix are refused
# until --cleanup removes them. Skips (passes, saying why) unless root with
# network namespaces, veth, bridges and tbf.
set -uo pipefail

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
source "$runfiles/test/check_lib.sh"
emulate="$runfiles/bench/netns/emulate.sh"
export TESSERA_BIN="$runfiles"
tmp="${TEST_TMPDIR}"
# A prefix of this run's own: another checkout may run this test at once.
prefix="tt$(printf '%05d' $(($$ % 100000)))"
export NETNS_PREFIX="$prefix"
source "$runfiles/bench/netns/netns_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (network namespaces, veth, tc); run bazel test as root"
  exit 0
fi
if ! why="$(netns_require 2>&1)"; then
  echo "SKIPPED: network namespaces are not available here: $why"
  exit 0
fi
trap 'netns_cleanup > /dev/null 2>&1' EXIT

leftovers() { NETNS_PREFIX="$prefix" netns_leftovers; }
[ -z "$(leftovers)" ] || fail "prefix $prefix not clean before the test: $(leftovers)"

cat > "$tmp/train.pbtxt" <<EOF
model_file: "$runfiles/examples/models/softmax_regression.pbtxt"
data { idx {} }
batch_size: 100
max_steps: 40
optimizer { learning_rate: 0.1 sgd {} }
log_every_steps: 1
EOF

echo "== 1 ps + 2 workers on 100mbit links, secure"
"$emulate" --ps=1 --workers=2 --config="$tmp/train.pbtxt" --rate=100mbit --prefix="$prefix" \
  --host_cpu=w1=0.5 --run_dir="$tmp/run1" --sample_every=0.2 --link_check --timeout=100 \
  > "$tmp/run1.out" 2>&1
rc=$?
cat "$tmp/run1.out"
[ "$rc" -eq 0 ] || fail "emulate.sh exited $rc"
grep -q 'accuracy' "$tmp/run1/worker_0.log" || fail "the chief printed no test accuracy"
for log in ps_0 worker_0 worker_1; do
  grep -q 'security: mtls+token' "$tmp/run1/$log.log" || fail "$log.log: not mtls+token"
done
grep -q '"ps": \["10.77.0.1:2222"\]' "$tmp/run1/cluster.json" || fail "cluster.json: $(cat "$tmp/run1/cluster.json")"
mbit="$(sed -n 's/.*goodput_mbit=\([0-9.]*\).*/\1/p' "$tmp/run1/link.txt")"
if [ -z "$mbit" ] || [ "$(awk -v m="$mbit" 'BEGIN { print (m >= 40 && m <= 101) }')" != 1 ]; then
  fail "link check on a 100mbit link: '$mbit' Mbit/s (want 40-101): $(cat "$tmp/run1/link.txt")"
fi
# The ps host's link counters moved the variables both ways.
last="$(tail -n 1 "$tmp/run1/net.txt")"
[[ "$last" =~ ps0=([0-9]+):([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 100000 ] &&
  [ "${BASH_REMATCH[2]}" -gt 100000 ] || fail "net.txt: the ps moved too few bytes: $last"
# The CPU samples carry each task's run and run-queue seconds (schedstat), and
# job_figures.py makes the share of a core the job's runnable threads got. It
# needs two samples while the tasks run: the job trains for only a second or
# two, hence a sample every 0.2 s (with 1 s, CI once got one sample and no share).
grep -q 'oncpu:worker:1=[0-9.]* runq:worker:1=[0-9.]*' "$tmp/run1/cpu.txt" ||
  fail "cpu.txt has no oncpu:/runq: figures for worker 1: $(tail -n 1 "$tmp/run1/cpu.txt")"
share="$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import job_figures as j
print(j.runnable_share(j.samples(sys.argv[2], j.parse_cpu)))' "$runfiles/bench/netns" "$tmp/run1/cpu.txt")"
[ "$(awk -v s="$share" 'BEGIN { print (s + 0 > 0 && s + 0 <= 1) }')" = 1 ] ||
  fail "the share of a core the job's runnable threads got: '$share' (want 0-1) from $(cat "$tmp/run1/cpu.txt")"
[ -z "$(leftovers)" ] || fail "left behind after a finished job: $(leftovers)"
pids="$(cat "$tmp/run1/pids" 2> /dev/null)"
[ -z "$pids" ] || fail "pid file still lists $pids"

echo "== SIGTERM in mid-job"
"$emulate" --ps=1 --workers=2 --config="$tmp/train.pbtxt" --rate=100mbit --prefix="$prefix" \
  --run_dir="$tmp/run2" --timeout=100 -- --max_steps=1000000 > "$tmp/run2.out" 2>&1 &
em=$!
for _ in $(seq 600); do
  grep -q 'global step' "$tmp/run2/worker_1.log" 2> /dev/null && break
  sleep 0.1
done
grep -q 'global step' "$tmp/run2/worker_1.log" 2> /dev/null || fail "run 2 did not start training"
task_pids="$(for ns in $(netns_namespaces); do ip netns pids "$ns"; done | tr '\n' ' ')"
kill -TERM "$em"
wait "$em"
rc=$?
cat "$tmp/run2.out"
[ "$rc" -eq 143 ] || fail "emulate.sh after SIGTERM exited $rc, want 143"
[ -z "$(leftovers)" ] || fail "left behind after SIGTERM: $(leftovers)"
for pid in $task_pids; do
  netns_pid_alive "$pid" && fail "task process $pid still runs after SIGTERM"
done

echo "== leftovers are refused, --cleanup removes them"
ip netns add "${prefix}-sw" || fail "cannot make a stand-in leftover"
"$emulate" --ps=1 --workers=1 --config="$tmp/train.pbtxt" --prefix="$prefix" \
  --run_dir="$tmp/run3" > "$tmp/run3.out" 2>&1
rc=$?
cat "$tmp/run3.out"
[ "$rc" -eq 2 ] || fail "with a leftover namespace emulate.sh exited $rc, want 2"
grep -q -- "--cleanup --prefix=$prefix" "$tmp/run3.out" || fail "the refusal does not name --cleanup"
"$emulate" --cleanup --prefix="$prefix" || fail "--cleanup failed"
[ -z "$(leftovers)" ] || fail "left behind after --cleanup: $(leftovers)"

echo "== bad arguments"
for args in "--ps=0 --workers=1" "--ps=1 --workers=1 --rate=fast" "--ps=1 --workers=1 --host_cpu=w5=0.5" \
            "--ps=1 --workers=1 --subnet=8.8.8" "--ps=1 --workers=1 --prefix=Bad-Name"; do
  # shellcheck disable=SC2086
  out="$("$emulate" $args --config="$tmp/train.pbtxt" 2>&1)"
  rc=$?
  [ "$rc" -eq 2 ] || fail "emulate.sh $args exited $rc, want 2 ($out)"
  echo "  $args -> $out"
done
[ -z "$(leftovers)" ] || fail "left behind after bad arguments: $(leftovers)"
finish
