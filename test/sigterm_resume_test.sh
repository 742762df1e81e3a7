#!/usr/bin/env bash
# SIGTERM to every daemon of a job (as a batch system does at its wall-clock
# limit): each exits 0, the chief after a final checkpoint; a job started
# again resumes from that checkpoint and finishes.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/job_lib.sh"

config="$work/softmax.pbtxt"
cat > "$config" <<CFG
model_file: "$runfiles/examples/models/softmax_regression.pbtxt"
data { idx {} }
batch_size: 200
max_steps: 100000
optimizer { learning_rate: 0.05 sgd {} }
log_every_steps: 50
eval_at_end: false
CFG
flags=(--config="$config" --checkpoint_dir="$work/ckpt")

make_cluster 2 2
start_ps 0
start_ps 1
start_worker 0 "${flags[@]}"
start_worker 1 "${flags[@]}"
wait_for_log worker_1 "global step" 60 3 || finish
for name in ps_0 ps_1 worker_0 worker_1; do kill -TERM "${pid_of[$name]}"; done
echo "sent SIGTERM to every daemon"
for name in worker_0 worker_1 ps_0 ps_1; do expect_exit "$name" 40 0; done
expect_log worker_0 "(stopped early)"
step="$(grep -oE 'writing the final checkpoint at global step [0-9]+' "$work/worker_0.log" |
        grep -oE '[0-9]+$')"
[ -n "$step" ] || fail "no final checkpoint"
expect_checkpoints_valid "$work/ckpt"

for name in ps_0 ps_1 worker_0 worker_1; do mv "$work/$name.log" "$work/${name}_first.log"; done
end=$((step + 200))
start_ps 0
start_ps 1
start_worker 0 "${flags[@]}" --max_steps="$end"
start_worker 1 "${flags[@]}" --max_steps="$end"
for name in worker_0 worker_1 ps_0 ps_1; do expect_exit "$name" 90 0; done
expect_log worker_0 "restored ps tasks 0, 1 from $work/ckpt/ckpt-$step (global step $step"
grep -qE "final global step $end|final global step $((end + 1))," "$work/worker_0.log" ||
  fail "the resumed job did not end at step $end"
expect_checkpoints_valid "$work/ckpt"
finish
