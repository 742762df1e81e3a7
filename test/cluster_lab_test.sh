#!/usr/bin/env bash
# The seeds' TensorFlow lab 4 (linear regression) on a real 1 ps + 1 worker
# cluster gives the same W, b and loss as in-process training
# (tessera_train_local) and as TensorFlow (W = -0.9999969, b = 0.99999082).
set -uo pipefail
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/cluster_lib.sh"
cd "$runfiles" || exit 1
config=examples/linear_regression.pbtxt
cluster="$TEST_TMPDIR/cluster.json"
write_cluster "$cluster" 1 1

RUN_DIR="$TEST_TMPDIR/run" timeout 120 "$run_local" "$cluster" "$config"
rc=$?
if [ "$rc" -ne 0 ]; then
  fail "run_local.sh exited $rc"
  for f in "$TEST_TMPDIR"/run/*.log; do echo "==== $f"; tail -n 40 "$f"; done
fi
log="$TEST_TMPDIR/run/worker_0.log"

"$runfiles/worker/tessera_train_local" --config="$config" > "$TEST_TMPDIR/local.log" 2>&1 ||
  fail "tessera_train_local failed: $(tail -3 "$TEST_TMPDIR/local.log")"

for var in "linear/weights [1, 1]" "linear/biases [1]"; do
  cluster_line=$(grep -F "] $var = " "$log" | sed 's/.*] //')
  local_line=$(grep -F "] $var = " "$TEST_TMPDIR/local.log" | sed 's/.*] //')
  echo "cluster: $cluster_line"
  echo "local:   $local_line"
  [ -n "$cluster_line" ] || fail "the chief did not log $var"
  [ "$cluster_line" = "$local_line" ] || fail "$var differs: cluster '$cluster_line', local '$local_line'"
done
grep -qF "linear/weights [1, 1] = [-0.9999969]" "$log" || fail "W is not TensorFlow's -0.9999969"
grep -qF "linear/biases [1] = [0.99999082]" "$log" || fail "b is not TensorFlow's 0.99999082"
cluster_loss=$(sed -n 's/.*last training loss //p' "$log")
local_loss=$(sed -n 's/.*final loss //p' "$TEST_TMPDIR/local.log")
echo "loss: cluster $cluster_loss, local $local_loss (TensorFlow 5.69997e-11)"
[ -n "$cluster_loss" ] && [ "$cluster_loss" = "$local_loss" ] || fail "losses differ"
grep -q "global step 1000" "$log" || fail "the chief did not reach global step 1000"
finish
