#!/usr/bin/env bash
# A real full disk under a training job: the checkpoint directory is a small
# tmpfs that holds one checkpoint of the job (softmax regression, Adam) but not
# two, so every checkpoint after the first fails with ENOSPC from the kernel.
#
# 1. TRAIN_ON (the default): the job trains to max_steps; every failed
#    checkpoint is logged naming its file and counted in the status; the
#    first checkpoint stays the latest valid one; the final checkpoint fails
#    too, so the chief exits 1 saying so and leaves the ps running; with room
#    on the disk, the chief started again finds the trained values on the ps
#    and saves them.
# 2. STOP_JOB (on_checkpoint_error): the chief stops at the first failed
#    checkpoint, asks the ps and the other worker to shut down (both exit 0)
#    and exits 1 naming the file; the first checkpoint stays the latest valid
#    one; with room on the disk, the job started again resumes from it and
#    finishes.
#
# Skips (passes, saying why) unless root can mount a tmpfs here. Every mount
# is unmounted and every process killed (by PID) when the test exits.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/job_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root to mount a small tmpfs as the full disk"
  exit 0
fi
disk="$work/disk"
mkdir -p "$disk"
# 150 KiB: one checkpoint of 7,850 variables with Adam's two slots (about
# 95 KB of data plus the index and the state file), not two.
if ! mount -t tmpfs -o size=150k tessera_disk_full_test "$disk" 2>"$work/mount.err"; then
  echo "SKIPPED: cannot mount a tmpfs here: $(cat "$work/mount.err")"
  exit 0
fi
unmount_disk() { cleanup; umount "$disk" 2>/dev/null || umount -l "$disk"; }
trap unmount_disk EXIT

write_config() {  # write_config FILE [EXTRA LINE]
  cat > "$1" <<CFG
model_file: "$runfiles/examples/models/softmax_regression.pbtxt"
data { idx {} }
batch_size: 50
max_steps: 60
optimizer { learning_rate: 0.01 adam {} }
log_every_steps: 10
eval_at_end: false
save_checkpoint_steps: 10
$2
CFG
}

# The checkpoints' steps depend on timing (a save due while the previous one
# is written waits; two workers step at once), so the logs are matched by
# pattern and the first checkpoint is read from the log.

# expect_log_re NAME REGEX: $work/NAME.log has a line matching the extended
# REGEX, in which @DISK@ stands for the disk's path.
expect_log_re() {
  local disk_re
  disk_re="$(printf '%s' "$disk" | sed 's/[].[\*^$()+?{}|]/\\&/g')"
  grep -qE -- "${2//@DISK@/$disk_re}" "$work/$1.log" ||
    { fail "$1.log has no line matching \"$2\""; tail -n 20 "$work/$1.log"; }
}

# first_checkpoint NAME: the first checkpoint $work/NAME.log says was written.
first_checkpoint() {
  grep -oE "wrote checkpoint [^ ]*/ckpt-[0-9]+ " "$work/$1.log" | head -n 1 |
    sed -E 's|.*/(ckpt-[0-9]+) $|\1|'
}

# expect_latest NAME: the latest checkpoint on the disk is NAME.
expect_latest() {
  local latest
  latest="$("$CTL_BIN" ckpt list "$disk/ckpt" 2>&1 | awk 'NR > 1 { print $1 }' | tail -n 1)"
  [ "$latest" = "$1" ] || fail "latest checkpoint is '$latest', want $1"
}

# run_stop_job_cluster CHIEF_EXIT: 1 ps + 2 workers of the STOP_JOB config;
# waits for all three, the chief to exit CHIEF_EXIT, the others 0.
run_stop_job_cluster() {
  start_ps 0
  start_worker 0 --config="$work/stop_job.pbtxt" --checkpoint_dir="$disk/ckpt"
  start_worker 1 --config="$work/stop_job.pbtxt"
  expect_exit worker_0 120 "$1"
  expect_exit worker_1 60 0
  expect_exit ps_0 60 0
}

# ---- 1. TRAIN_ON ----
write_config "$work/train_on.pbtxt" ""
make_cluster 1 1
start_ps 0
start_worker 0 --config="$work/train_on.pbtxt" --checkpoint_dir="$disk/ckpt"
expect_exit worker_0 120 1
first="$(first_checkpoint worker_0)"
[ -n "$first" ] || fail "no checkpoint was written"
expect_log_re worker_0 "checkpoint write failed; training goes on \(on_checkpoint_error: TRAIN_ON\): checkpoint at global step [0-9]+ not written: cannot write to @DISK@/ckpt/ckpt-[0-9]+\.data\.tmp\.[0-9]+: No space left on device"
expect_log worker_0 "final global step 60"
expect_log worker_0 "checkpoint at global step 60 not written: cannot write to $disk/ckpt/ckpt-60."
kill -0 "${pid_of[ps_0]}" 2>/dev/null || fail "ps 0 ended with the chief; the trained values are lost"
expect_latest "$first"
expect_checkpoints_valid "$disk/ckpt"
ls -la "$disk/ckpt" | grep -F ".tmp" && fail "a temporary file of a failed checkpoint was left"

# The operator makes room; the chief, started again, saves the trained values.
mount -o remount,size=1m "$disk" || fail "cannot grow the tmpfs"
mv "$work/worker_0.log" "$work/train_on_1.log"
start_worker 0 --config="$work/train_on.pbtxt" --checkpoint_dir="$disk/ckpt"
expect_exit worker_0 60 0
expect_exit ps_0 30 0
expect_log worker_0 "wrote checkpoint $disk/ckpt/ckpt-60"
mv "$work/worker_0.log" "$work/train_on_2.log"
mv "$work/ps_0.log" "$work/train_on_ps.log"
expect_checkpoints_valid "$disk/ckpt"

# ---- 2. STOP_JOB ----
rm -rf "${disk:?}"/*
mount -o remount,size=150k "$disk" || fail "cannot shrink the tmpfs"
write_config "$work/stop_job.pbtxt" "on_checkpoint_error: STOP_JOB"
sed -i 's/^max_steps: 60/max_steps: 400/' "$work/stop_job.pbtxt"
make_cluster 1 2
run_stop_job_cluster 1
first="$(first_checkpoint worker_0)"
[ -n "$first" ] || fail "no checkpoint was written"
expect_log_re worker_0 "checkpoint write failed; stopping the job \(on_checkpoint_error: STOP_JOB\): checkpoint at global step [0-9]+ not written: cannot write to @DISK@/ckpt/ckpt-[0-9]+\.data\.tmp\.[0-9]+: No space left on device"
expect_log worker_0 "asking the other 2 tasks to shut down"
expect_log_re ps_0 "worker 0 stopped the job: checkpoint at global step [0-9]+ not written"
expect_log_re worker_1 "worker 0 stopped the job: checkpoint at global step [0-9]+ not written"
grep -qE "final global step 40[0-9]" "$work/worker_0.log" && fail "the chief trained on to the end"
expect_latest "$first"
expect_checkpoints_valid "$disk/ckpt"

# Room again; the job started again resumes from the first checkpoint and finishes.
mount -o remount,size=1m "$disk" || fail "cannot grow the tmpfs"
for f in worker_0 worker_1 ps_0; do mv "$work/$f.log" "$work/stop_job_$f.log"; done
run_stop_job_cluster 0
expect_log worker_0 "restored ps 0 from $disk/ckpt/$first (global step ${first#ckpt-}"
grep -qE "final global step 40[0-9]" "$work/worker_0.log" || fail "the resumed job did not finish"
expect_checkpoints_valid "$disk/ckpt"
finish
