#!/usr/bin/env bash
# scripts/records_pbs_array.pbs and scripts/records_slurm_array.sbatch, run as
# the batch system would run each array element (its environment set by hand):
# a 3-element PBS array, a 3-element Torque array and a 3-element Slurm array
# each write exactly the bytes of one plain tessera_records run; a missing
# array size or index is a clear error.
set -uo pipefail

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
export TESSERA_RECORDS_BIN="$runfiles/tools/tessera_records"
pbs="$runfiles/scripts/records_pbs_array.pbs"
slurm="$runfiles/scripts/records_slurm_array.sbatch"
tmp="${TEST_TMPDIR}"
# shellcheck source=tools/cli_test_lib.sh
source "$runfiles/tools/cli_test_lib.sh"

"$runfiles/tools/write_test_image_tree" "$tmp/in" || exit 1
flags=(--train_directory="$tmp/in/train" --validation_directory="$tmp/in/val"
       --labels_file="$tmp/in/labels.txt" --train_shards=4 --validation_shards=3)
unset PBS_ARRAY_INDEX PBS_ARRAYID SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT

"$TESSERA_RECORDS_BIN" "${flags[@]}" --output_directory="$tmp/one" > "$tmp/one.log" 2>&1 ||
  fail "plain run: $(cat "$tmp/one.log")"
grep -q "images skipped: 2" "$tmp/one.log" || fail "plain run did not skip the 2 bad files"

for i in 0 1 2; do
  PBS_ARRAY_INDEX=$i TESSERA_ARRAY_SIZE=3 NCPUS=2 \
    TESSERA_RECORDS_FLAGS="${flags[*]} --output_directory=$tmp/pbs" \
    "$pbs" > "$tmp/pbs.$i.log" 2>&1 || fail "pbs element $i: $(cat "$tmp/pbs.$i.log")"
  PBS_ARRAYID=$i TESSERA_ARRAY_SIZE=3 \
    TESSERA_RECORDS_FLAGS="${flags[*]} --output_directory=$tmp/torque" \
    "$pbs" > "$tmp/torque.$i.log" 2>&1 || fail "torque element $i: $(cat "$tmp/torque.$i.log")"
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=2 \
    "$slurm" "${flags[@]}" --output_directory="$tmp/slurm" > "$tmp/slurm.$i.log" 2>&1 ||
    fail "slurm element $i: $(cat "$tmp/slurm.$i.log")"
  # 7 shards over 3 elements: 2, 2 and 3, none written twice.
  want=$([ "$i" -eq 2 ] && echo 3 || echo 2)
  for kind in pbs torque slurm; do
    grep -q "shards: $want written, 0 already complete" "$tmp/$kind.$i.log" ||
      fail "$kind element $i: $(cat "$tmp/$kind.$i.log")"
  done
done
for kind in pbs torque slurm; do
  diff -r "$tmp/one" "$tmp/$kind" > /dev/null || fail "$kind array output differs from one run"
done

# A resubmitted Slurm element (a count of 1) needs the original size.
out=$(SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=1 "$slurm" "${flags[@]}" \
  --output_directory="$tmp/slurm" 2>&1) && fail "index 2 of 1 was accepted: $out"
[[ "$out" == *"array index 2 is outside [0, 1)"* ]] || fail "resubmission message: $out"
out=$(SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=1 TESSERA_ARRAY_SIZE=3 "$slurm" \
  "${flags[@]}" --output_directory="$tmp/slurm" 2>&1) || fail "resubmission: $out"
[[ "$out" == *"0 written, 3 already complete"* ]] || fail "resubmission rewrote shards: $out"

out=$(PBS_ARRAY_INDEX=0 TESSERA_RECORDS_FLAGS="${flags[*]}" "$pbs" 2>&1) &&
  fail "pbs without TESSERA_ARRAY_SIZE was accepted"
[[ "$out" == *"set TESSERA_ARRAY_SIZE"* ]] || fail "pbs message: $out"
out=$(TESSERA_ARRAY_SIZE=3 TESSERA_RECORDS_FLAGS="${flags[*]}" "$pbs" 2>&1) &&
  fail "pbs outside an array was accepted"
[[ "$out" == *"not a PBS array element"* ]] || fail "pbs message: $out"

finish
