#!/usr/bin/env bash
# The ImageNet-style workflow end to end, small: Fashion-MNIST written as an
# ImageNet folder tree of JPEG files (with PNG, CMYK, grey, truncated and
# corrupt files mixed in), converted to TFRecord shards by tessera_records,
# and mnist_deep trained from the shards on a real 2 ps + 2 worker cluster,
# each worker streaming and decoding its own shards; the chief evaluates on
# the validation shards.
set -uo pipefail
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/cluster_lib.sh"
cd "$runfiles" || exit 1
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST is not installed (scripts/setup.sh installs dataset-fashion-mnist)"
  exit 1
fi
tree="$TEST_TMPDIR/tree"
records="$TEST_TMPDIR/records"
/usr/bin/python3 scripts/make_fashion_jpeg_tree.py --out="$tree" --train_per_class=200 \
  --validation_per_class=50 > "$TEST_TMPDIR/tree.log" 2>&1 || {
  cat "$TEST_TMPDIR/tree.log"
  fail "make_fashion_jpeg_tree.py failed"
}
timeout 300 tools/tessera_records --train_directory="$tree/train" \
  --validation_directory="$tree/validation" --labels_file="$tree/synsets.txt" \
  --imagenet_metadata_file="$tree/metadata.txt" --output_directory="$records" \
  --train_shards=4 --validation_shards=2 --num_threads=2 > "$TEST_TMPDIR/records.log" 2>&1
rc=$?
cat "$TEST_TMPDIR/records.log" | grep -v "^  skipped" | tail -3
[ "$rc" -eq 0 ] || fail "tessera_records exited $rc"
# 3 truncated + 3 corrupt files per split are skipped, the rest converted.
grep -q "images written: 2488; images skipped: 12" "$TEST_TMPDIR/records.log" ||
  fail "tessera_records did not write 2488 images and skip 12"

cluster="$TEST_TMPDIR/cluster.json"
write_cluster "$cluster" 2 2
config="$TEST_TMPDIR/jpeg.pbtxt"
sed -e "s|model_file: \"models/|model_file: \"$runfiles/examples/models/|" \
    -e "s|\"runs/fashion_jpeg/records/|\"$records/|" \
    -e "s|^log_every_steps: .*|log_every_steps: 20|" \
    examples/mnist_deep_fashion_jpeg.pbtxt > "$config"
grep -q "$records/train-\*" "$config" || fail "could not point the config at $records"

RUN_DIR="$TEST_TMPDIR/run" timeout 600 "$run_local" "$cluster" "$config" \
  --max_steps=200 --learning_rate=0.001
rc=$?
[ "$rc" -eq 0 ] || fail "run_local.sh exited $rc"
chief="$TEST_TMPDIR/run/worker_0.log"
other="$TEST_TMPDIR/run/worker_1.log"
grep -h "image shards\|global step" "$chief" "$other" | tail -4
for log in "$chief" "$other"; do
  grep -q "image shards $records/train-\* (part [01] of 2)" "$log" ||
    fail "$(basename "$log"): no image-shard input line"
  grep -q "images/s, input wait [0-9.]*%" "$log" ||
    fail "$(basename "$log"): no input wait in the progress lines"
done
line=$(grep "test at global step" "$chief" | tail -1)
echo "$line"
# 500 validation files, 6 of them skipped: the whole validation set, once.
echo "$line" | grep -q ": 494 examples," || fail "the chief did not evaluate the 494 validation images"
accuracy=$(echo "$line" | sed -n 's/.* accuracy //p')
/usr/bin/python3 -c "import sys; sys.exit(0 if float('${accuracy:-0}') > 0.5 else 1)" ||
  fail "accuracy $accuracy is not well above chance (0.10)"
grep -q "^I.*worker:1\] done at global step" "$other" || fail "worker 1 did not finish"
finish
