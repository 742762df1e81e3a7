#!/usr/bin/env bash
# mnist_deep on Fashion-MNIST on a real 2 ps + 2 worker cluster learns within a
# short run: the loss falls and the chief's test accuracy is well above chance.
set -uo pipefail
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/cluster_lib.sh"
cd "$runfiles" || exit 1
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST is not installed (scripts/setup.sh installs dataset-fashion-mnist)"
  exit 1
fi
cluster="$TEST_TMPDIR/cluster.json"
write_cluster "$cluster" 2 2
# The example config, logging every 20 steps so the loss curve is visible.
config="$TEST_TMPDIR/mnist.pbtxt"
sed -e "s|model_file: \"models/|model_file: \"$runfiles/examples/models/|" \
    -e "s|^log_every_steps: .*|log_every_steps: 20|" examples/mnist_deep_fashion.pbtxt > "$config"

RUN_DIR="$TEST_TMPDIR/run" timeout 600 "$run_local" "$cluster" "$config" \
  --max_steps=300 --learning_rate=0.001
rc=$?
[ "$rc" -eq 0 ] || fail "run_local.sh exited $rc"
chief="$TEST_TMPDIR/run/worker_0.log"
other="$TEST_TMPDIR/run/worker_1.log"
grep -h "global step" "$chief" "$other" | tail -4

accuracy=$(sed -n 's/.*test at global step [0-9]*: .* accuracy //p' "$chief" | tail -1)
echo "test accuracy after 300 global steps: ${accuracy:-none}"
[ -n "$accuracy" ] || fail "the chief logged no test accuracy"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('${accuracy:-0}') > 0.6 else 1)" ||
  fail "accuracy $accuracy is not well above chance (0.10)"

# Each worker's loss falls: first logged loss above the last.
for log in "$chief" "$other"; do
  losses=$(sed -n 's/.*) loss \([0-9.e+-]*\),.*/\1/p' "$log")
  first=$(echo "$losses" | head -1)
  last=$(echo "$losses" | tail -1)
  echo "$(basename "$log"): loss $first -> $last"
  [ -n "$first" ] && /usr/bin/python3 -c "import sys; sys.exit(0 if $last < $first else 1)" ||
    fail "$(basename "$log"): loss did not fall ($first -> $last)"
done
grep -q "^I.*worker:1\] done at global step" "$other" || fail "worker 1 did not finish"
finish
