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
# Progress: a step line the chief logs after the kill (waited for, not a
# fixed second: a loaded machine may log none in a second, and on a quiet one
# every second waited for here is 1,000 steps fewer left for part 2).
before="$(grep -cF "] global step " "$work/worker_0.log")"
wait_for_log worker_0 "] global step " 60 $((before + 1)) ||
  fail "the chief made no progress while worker 1 was dead"
# worker_1.log is appended to, and the first start logged "resuming at
# global step" too when the chief had trained before it pulled: the line
# waited for is the next one.
resumed="$(grep -cF "resuming at global step" "$work/worker_1.log")"
start_worker 1 --config="$config"
wait_for_log worker_1 "resuming at global step" 60 $((resumed + 1))

# 2. Chief killed during a checkpoint write (after its tensors, before commit).
# Not the first checkpoint: one must exist before. The writes pause 3 s each,
# back to back while training is quick. The kill lands in the write in
# progress when it began under a second ago (on a quick machine, the one that
# began as the first write ended: waiting for the next would leave the job
# 3 s, some 3,000 steps, nearer its end), else in the next one to begin: while
# worker 1 restarted (20 s and more under ASan on a loaded machine) the chief
# may have written several, and the one in progress may be about to commit.
wait_for_log worker_0 "wrote checkpoint" 60 || finish
pause_text="before commit (test delay)"
pause_lines="$(grep -F "$pause_text" "$work/worker_0.log")"
pauses="$(grep -c . <<< "$pause_lines")"
began="$(log_time worker_0 "$(tail -n 1 <<< "$pause_lines" | grep -oE 'checkpoint ckpt-[0-9]+: pausing')")"
now="$(date +%H:%M:%S.%N | awk -F: '{ printf "%.3f\n", $1 * 3600 + $2 * 60 + $3 }')"
# (Log lines and date in the same time zone; otherwise, or across midnight,
# the next write is waited for.)
if [ -z "$began" ] || ! awk -v n="$now" -v b="$began" 'BEGIN { exit !(n - b >= 0 && n - b < 1) }'; then
  wait_for_log worker_0 "$pause_text" 60 $((pauses + 1)) || finish
fi
in_write="$(grep -F "$pause_text" "$work/worker_0.log" | tail -n 1 | grep -oE 'ckpt-[0-9]+')"
[ -n "$in_write" ] && [ "${in_write#ckpt-}" -ge "$max_steps" ] &&
  fail "the chief finished training before a checkpoint write could be interrupted" && finish
kill -KILL "${pid_of[worker_0]}"
wait "${pid_of[worker_0]}" 2>/dev/null
echo "killed the chief in mid-write of $in_write (max_steps $max_steps)"
ls "$work/ckpt"
ls "$work/ckpt" | grep -q '\.tmp\.' || fail "no temporary checkpoint file left by the kill"
expect_checkpoints_valid "$work/ckpt"
previous="$(grep -oE "wrote checkpoint [^ ]+" "$work/worker_0.log" | tail -n 1 | sed 's|.*/||')"
mv "$work/worker_0.log" "$work/worker_0_first.log"
start_worker 0 "${chief_flags[@]}"
wait_for_log worker_0 "keeping that live state" 60
# Most of the 20,000 steps are left: at 1 ms a step about 15 s here, minutes
# on a loaded machine; waited for as long as the chief's log moves.
expect_exit_training worker_0 60 0
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
