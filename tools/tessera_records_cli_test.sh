#!/usr/bin/env bash
# tessera_records as a program: the job-array index from PBS_ARRAY_INDEX,
# PBS_ARRAYID or SLURM_ARRAY_TASK_ID (read only by main), exit codes and
# messages. Its inputs are text files named .JPEG, which it must skip and count
# (the conversion itself is tested in records_builder_test).
set -uo pipefail

cli="${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/tessera_records"
tmp="${TEST_TMPDIR}"
# shellcheck source=tools/cli_test_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/cli_test_lib.sh"

# expect_shards DIR NAMES...: DIR holds exactly labels.txt and NAMES.
expect_shards() {
  local dir="$1"
  shift
  local got want
  got=$(cd "$dir" && ls | tr '\n' ' ')
  want=$(printf '%s\n' labels.txt "$@" | sort | tr '\n' ' ')
  [ "$got" == "$want" ] || fail "$dir holds '$got', want '$want'"
}

mkdir -p "$tmp/train/n01" "$tmp/train/n02"
echo "not an image" > "$tmp/train/n01/a.JPEG"
echo "not an image" > "$tmp/train/n02/b.JPEG"
common=(--train_directory="$tmp/train" --train_shards=4 --num_threads=1)

unset PBS_ARRAY_INDEX PBS_ARRAYID SLURM_ARRAY_TASK_ID
expect 0 "images skipped: 2" "${common[@]}" --output_directory="$tmp/all"
expect_shards "$tmp/all" train-0000{0,1,2,3}-of-00004

PBS_ARRAY_INDEX=1 expect 0 "2 written" "${common[@]}" --output_directory="$tmp/pbs" --array_size=2
expect_shards "$tmp/pbs" train-0000{2,3}-of-00004
PBS_ARRAYID=0 expect 0 "1 written" "${common[@]}" --output_directory="$tmp/torque" --array_size=4
expect_shards "$tmp/torque" train-00000-of-00004
SLURM_ARRAY_TASK_ID=3 expect 0 "1 written" "${common[@]}" --output_directory="$tmp/slurm" --array_size=4
expect_shards "$tmp/slurm" train-00003-of-00004
# A rerun of a task finds its shards complete.
SLURM_ARRAY_TASK_ID=3 expect 0 "0 written, 1 already complete" "${common[@]}" \
  --output_directory="$tmp/slurm" --array_size=4

SLURM_ARRAY_TASK_ID=0 expect 2 "without --array_size" "${common[@]}" --output_directory="$tmp/x"
SLURM_ARRAY_TASK_ID=4 expect 1 "array index 4 is outside [0, 4)" "${common[@]}" \
  --output_directory="$tmp/x" --array_size=4
expect 1 "--shard_range=2-9: expected A-B" "${common[@]}" --output_directory="$tmp/x" \
  --shard_range=2-9
expect 1 "train directory $tmp/none is not a directory" --train_directory="$tmp/none" \
  --output_directory="$tmp/x"
expect 1 "--output_directory is required" --train_directory="$tmp/train"

finish
