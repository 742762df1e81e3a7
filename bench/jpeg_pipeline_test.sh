#!/usr/bin/env bash
# Smoke test of the JPEG pipeline benchmark's parts on a tiny photo set (no
# timing is checked): jpeg_pipeline_tessera reads tessera_records' shards with
# both decoders and reports a figure, extracts their JPEGs for tjbench, refuses
# bad flags with a message;
# jpeg_references.py runs tjbench and refuses a malformed --torch_config;
# jpeg_pipeline.sh parses and refuses bad arguments.
set -uo pipefail

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
pipeline="$runfiles/bench/jpeg_pipeline_tessera"
records="$runfiles/tools/tessera_records"
tmp="${TEST_TMPDIR}"
# shellcheck source=test/check_lib.sh
source "$runfiles/test/check_lib.sh"

# expect CODE PATTERN CMD...: CMD exits with CODE and its output matches PATTERN.
expect() {
  local code=$1 pattern=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  [ "$rc" -eq "$code" ] || fail "$* exited $rc, want $code: $out"
  grep -Eq -- "$pattern" <<< "$out" || fail "$* printed no '$pattern': $out"
}

/usr/bin/python3 "$runfiles/scripts/make_photo_set.py" --out="$tmp/photos" --train_files=12 \
  --validation_files=2 --synsets=2 > /dev/null || fail "make_photo_set.py failed"
expect 0 "images written: 14;" "$records" --train_directory="$tmp/photos/train" \
  --validation_directory="$tmp/photos/validation" --output_directory="$tmp/shards" \
  --train_shards=3 --validation_shards=1 --num_threads=2

for decoder in augment full_decode; do
  expect 0 "^images_per_sec=[0-9.]+$" "$pipeline" --shards="$tmp/shards/train-*" \
    --decoder="$decoder" --decode_threads=2 --batch_size=4 --images=16 --warmup_batches=1
  expect 0 "decoder=$decoder decode_threads=1 batch=4, 3 shards: 16 images" "$pipeline" \
    --shards="$tmp/shards/train-*" --decoder="$decoder" --batch_size=4 --images=16
done
# --extract_to: the shards' JPEGs (restart-marked) as files tjbench decodes.
expect 0 "extracted 12 images from 3 shards" "$pipeline" --shards="$tmp/shards/train-*" \
  --extract_to="$tmp/records_form"
[ "$(find "$tmp/records_form/train" -name '*.JPEG' | wc -l)" = 12 ] || fail "not 12 extracted files"
expect 0 "^tjbench_1core_images_per_sec=[0-9]+$" /usr/bin/python3 \
  "$runfiles/bench/jpeg_references.py" "$tmp/records_form" --skip_torch --tjbench_files=2 \
  --benchtime=0.05 --warmup=0.01
expect 1 "no shard matches" "$pipeline" --shards="$tmp/nothing-*"
expect 1 "--decoder must be augment or full_decode, got crop" "$pipeline" \
  --shards="$tmp/shards/train-*" --decoder=crop
expect 1 "--shards is required" "$pipeline"

references="$runfiles/bench/jpeg_references.py"
expect 0 "^tjbench_1core_images_per_sec=[0-9]+$" /usr/bin/python3 "$references" "$tmp/photos" \
  --skip_torch --tjbench_files=2 --benchtime=0.05 --warmup=0.01
expect 1 "--torch_config wants cores=,workers=,threads=,malloc=,batch=" /usr/bin/python3 \
  "$references" "$tmp/photos" --skip_tjbench --torch_config=cores=1,workers=0
expect 1 "malloc must be one of default/tuned/tuned64/jemalloc/tcmalloc, got 'fast'" /usr/bin/python3 \
  "$references" "$tmp/photos" --skip_tjbench \
  --torch_config=cores=1,workers=0,threads=1,malloc=fast,batch=32

script="$runfiles/bench/jpeg_pipeline.sh"
bash -n "$script" || fail "jpeg_pipeline.sh does not parse"
expect 2 "--rounds must be a positive integer, got 'x'" bash "$script" --rounds=x
expect 2 "unknown argument --fast \(want --quick --full_search" bash "$script" --fast
finish
