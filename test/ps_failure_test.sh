#!/usr/bin/env bash
# kill -9 of a ps mid-training, then the same ps task started again: the
# chief restores its blocks from the latest checkpoint, the other worker waits
# and goes on, and the job ends at max_steps with every daemon exiting 0.
# Prints how long after the restarted ps began serving the chief restored it
# and the other worker resumed (target: within 3 s).
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/job_lib.sh"

# 6000 steps (about 3 s of training here), not fewer: the ps must be killed
# while the job still trains (worker_failure_test once lost that race).

config="$work/softmax.pbtxt"
cat > "$config" <<CFG
model_file: "$runfiles/examples/models/softmax_regression.pbtxt"
data { idx {} }
batch_size: 200
max_steps: 6000
optimizer { learning_rate: 0.05 momentum { momentum: 0.9 } }
log_every_steps: 50
eval_at_end: false
save_checkpoint_steps: 100
CFG

make_cluster 2 2
start_ps 0
start_ps 1
start_worker 0 --config="$config" --checkpoint_dir="$work/ckpt"
start_worker 1 --config="$config"
wait_for_log worker_0 "wrote checkpoint $work/ckpt/ckpt-" 60 || finish
wait_for_log worker_1 "global step" 30 2

kill -KILL "${pid_of[ps_1]}"
wait "${pid_of[ps_1]}" 2>/dev/null
echo "killed ps 1"
mv "$work/ps_1.log" "$work/ps_1_first.log"
sleep 2
start_ps 1
wait_for_log ps_1 "serving on" 10
wait_for_log worker_0 "restored ps 1 from" 30
# Worker 1 either retried UNAVAILABLE until the chief restored ps 1, or got
# "not initialized" and waited; both log the new incarnation.
wait_for_log worker_1 "ps 1 restarted: incarnation" 30

t_serving="$(log_time ps_1 "serving on")"
t_restored="$(log_time worker_0 "restored ps 1 from")"
t_resumed="$(log_time worker_1 "ps 1 restarted: incarnation")"
awk -v s="$t_serving" -v r="$t_restored" -v w="$t_resumed" 'BEGIN {
  printf "RESUME: chief restored ps 1 %.3f s after it began serving; worker 1 resumed after %.3f s\n", r - s, w - s
  if (r - s > 30 || w - s > 30) exit 1 }' || fail "resume took over 30 s (hang?)"

# About 5,500 steps are left after the restore: some 10 s here, minutes on a
# loaded machine; waited for as long as the chief's log moves.
expect_exit_training worker_0 60 0
expect_exit worker_1 30 0
expect_exit ps_0 30 0
expect_exit ps_1 30 0
# ASYNC: both workers may push at step 5999, so the job ends at 6000 or 6001.
grep -qE "final global step 600[01]," "$work/worker_0.log" || fail "final global step not 6000/6001"
expect_log worker_0 "a ps lost its variables"
expect_checkpoints_valid "$work/ckpt"
grep -F "restored ps 1" "$work/worker_0.log"
finish
