#!/usr/bin/env bash
# Worker failures (ASYNC):
# 1. kill -9 of a non-chief worker: the chief goes on; the same task started
#    again rejoins and the job finishes.
# 2. kill -9 of the chief while it writes a checkpoint (a test-only write
#    delay opens the window): the previous checkpoint stays valid; the chief
#    started again keeps the ps's live state (no restore) and finishes.
# 3. The whole job started again afterwards restores the latest checkpoint.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/job_lib.sh"

# Long enough that the chief is still training when the test reaches step 2:
# softmax steps take about 1 ms here, and a checkpoint write pauses 3 s in the
# background while training goes on (at 2500 steps the whole job once ended
# inside the first write's pause, and the only pause left was the final one).
max_steps=20000
config="$work/softmax.pbtxt"
cat > "$config" <<CFG
model_file: "$runfiles/examples/models/softmax_regression.pbtxt"
data { idx {} }
batch_size: 200
max_steps: $max_steps
optimizer { learning_rate: 0.05 sgd {} }
log_every_steps: 50
eval_at_end: false
save_checkpoint_steps: 300
CFG
chief_flags=(--config="$config" --checkpoint_dir="$work/ckpt" --testonly_checkpoint_write_delay_ms=3000)

make_cluster 1 2
start_ps 0
start_worker 0 "${chief_flags[@]}"
start_worker 1 --config="$config"

# 1. Non-chief worker killed, the chief goes on, the worker rejoins.
wait_for_log worker_1 "global step" 60 2 || finish
kill -KILL "${pid_of[worker_1]}"
wait "${pid_of[worker_1]}" 2>/dev/null
echo "killed worker 1"
before="$(grep -c "global step" "$work/worker_0.log")"
sleep 1
[ "$(grep -c "global step" "$work/worker_0.log")" -gt "$before" ] ||
  fail "the chief made no progress while worker 1 was dead"
start_worker 1 --config="$config"
wait_for_log worker_1 "resuming at global step" 30

# 2. Chief killed during a checkpoint write (after its tensors, before commit).
# Not the first checkpoint: one must exist before. The write waited for is the
# next one to begin from now: while worker 1 restarted (20 s and more under
# ASan on a loaded machine) the chief may have written several.
wait_for_log worker_0 "wrote checkpoint" 60 || finish
pauses="$(grep -cF "before commit (test delay)" "$work/worker_0.log")"
wait_for_log worker_0 "before commit (test delay)" 60 $((pauses + 1)) || finish
grep -F "before commit (test delay)" "$work/worker_0.log" | tail -n 1 |
  grep -qF "ckpt-$max_steps:" &&
  fail "the chief finished training before a checkpoint write could be interrupted" && finish
kill -KILL "${pid_of[worker_0]}"
wait "${pid_of[worker_0]}" 2>/dev/null
echo "killed the chief in mid-write"
ls "$work/ckpt"
ls "$work/ckpt" | grep -q '\.tmp\.' || fail "no temporary checkpoint file left by the kill"
expect_checkpoints_valid "$work/ckpt"
previous="$(grep -oE "wrote checkpoint [^ ]+" "$work/worker_0.log" | tail -n 1 | sed 's|.*/||')"
mv "$work/worker_0.log" "$work/worker_0_first.log"
start_worker 0 "${chief_flags[@]}"
wait_for_log worker_0 "keeping that live state" 30
expect_exit worker_0 240 0
expect_exit worker_1 30 0
expect_exit ps_0 30 0
expect_log worker_0 "writing the final checkpoint"
ls "$work/ckpt" | grep -q '\.tmp\.' && fail "temporary files left after the restarted chief"
expect_checkpoints_valid "$work/ckpt"

# 3. A new job over the same directory restores the latest checkpoint.
latest="$("$CTL_BIN" ckpt list "$work/ckpt" | grep -oE '^ckpt-[0-9]+' | tail -n 1)"
mv "$work/worker_0.log" "$work/worker_0_second.log"
mv "$work/worker_1.log" "$work/worker_1_first.log"
start_ps 0
start_worker 0 "${chief_flags[@]}" --max_steps=$((max_steps + 100))
start_worker 1 --config="$config" --max_steps=$((max_steps + 100))
expect_exit worker_0 120 0
expect_exit worker_1 30 0
expect_exit ps_0 30 0
expect_log worker_0 "restored ps 0 from $work/ckpt/$latest"
echo "previous checkpoint before the kill: $previous; restored: $latest"
expect_checkpoints_valid "$work/ckpt"
finish
