#!/usr/bin/env bash
# Restore is exact: with 1 ps and 1 worker (Adam, softmax regression on
# Fashion-MNIST), training 40 steps with a checkpoint at step 20, then
# restarting from ckpt-20 alone, gives the same losses for steps 21..40 and
# the same final variables as the uninterrupted run.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/job_lib.sh"

config="$work/adam.pbtxt"
cat > "$config" <<CFG
model_file: "$runfiles/examples/models/softmax_regression.pbtxt"
data { idx {} }
batch_size: 50
max_steps: 40
optimizer { learning_rate: 0.01 adam {} }
log_every_steps: 1
eval_at_end: false
save_checkpoint_steps: 20
max_to_keep: 0
CFG

make_cluster 1 1
# 1. Uninterrupted: ckpt-20 and ckpt-40.
start_ps 0
start_worker 0 --config="$config" --checkpoint_dir="$work/a"
expect_exit worker_0 60 0
expect_exit ps_0 30 0
mv "$work/worker_0.log" "$work/run_a.log"
expect_log run_a "wrote checkpoint $work/a/ckpt-20"
expect_log run_a "wrote checkpoint $work/a/ckpt-40"

# 2. A new job started from ckpt-20 alone.
mkdir -p "$work/b"
cp "$work/a/ckpt-20.data" "$work/a/ckpt-20.index" "$work/b/"
start_ps 0
start_worker 0 --config="$config" --checkpoint_dir="$work/b"
expect_exit worker_0 60 0
expect_exit ps_0 30 0
mv "$work/worker_0.log" "$work/run_b.log"
expect_log run_b "restored ps 0 from $work/b/ckpt-20 (global step 20"
expect_log run_b "skipped 20 batches"

losses() { grep -oE 'global step [0-9]+ \(local [0-9]+\) loss [^,]+' "$work/$1.log" |
           awk '$3 > 20 { print $3, $7 }'; }
losses run_a > "$work/losses_a"
losses run_b > "$work/losses_b"
[ "$(wc -l < "$work/losses_a")" -eq 20 ] || fail "run a logged $(wc -l < "$work/losses_a") steps after 20"
cmp -s "$work/losses_a" "$work/losses_b" ||
  { fail "losses after step 20 differ"; paste "$work/losses_a" "$work/losses_b"; }

# The final checkpoints hold the same values and Adam slots, bit for bit.
cmp -s "$work/a/ckpt-40.data" "$work/b/ckpt-40.data" ||
  fail "ckpt-40 data differs between the uninterrupted and the resumed run"
expect_checkpoints_valid "$work/a"
expect_checkpoints_valid "$work/b"
finish
