#!/usr/bin/env bash
# SYNC with all replicas is exact: the linear regression lab on 1 ps + 2
# workers, each worker's part being the lab's four points (the data set
# holds each point twice), averages two identical full-batch gradients, so
# W and b equal single-process SGD (tessera_train_local on the lab) and
# TensorFlow's (W = -0.9999969, b = 0.99999082) after 1000 steps.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/job_lib.sh"

config="$work/sync_lab.pbtxt"
cat > "$config" <<CFG
model_file: "$runfiles/examples/models/linear_regression.pbtxt"
data { inline_data { x: [1, 1, 2, 2, 3, 3, 4, 4] y: [0, 0, -1, -1, -2, -2, -3, -3] } }
batch_size: 4
max_steps: 1000
optimizer { learning_rate: 0.01 sgd {} }
log_every_steps: 250
update_mode: SYNC
CFG
# run_job: the lab on a fresh 1 ps + 2 worker cluster, to the end.
run_job() {
  make_cluster 1 2
  start_ps 0
  start_worker 0 --config="$config"
  start_worker 1 --config="$config"
  expect_exit worker_0 120 0
  expect_exit worker_1 30 0
  expect_exit ps_0 30 0
}
run_job
"$runfiles/worker/tessera_train_local" --config="$runfiles/examples/linear_regression.pbtxt" \
  > "$work/local.log" 2>&1 || fail "tessera_train_local failed"
for var in "linear/weights [1, 1]" "linear/biases [1]"; do
  cluster_line=$(grep -F "] $var = " "$work/worker_0.log" | sed 's/.*] //')
  local_line=$(grep -F "] $var = " "$work/local.log" | sed 's/.*] //')
  echo "sync cluster: $cluster_line; local: $local_line"
  [ -n "$cluster_line" ] && [ "$cluster_line" = "$local_line" ] ||
    fail "$var differs: cluster '$cluster_line', local '$local_line'"
done
expect_log worker_0 "linear/weights [1, 1] = [-0.9999969]"
expect_log worker_0 "linear/biases [1] = [0.99999082]"
expect_log worker_0 "final global step 1000"
expect_log worker_1 "SYNC: 0 of 1000 pushes had gradients dropped"

# The same job with bfloat16 transport: the gradients and values of the
# training steps travel rounded to 8 significant bits, the ps keeps float32.
# Not exact any more, but it must still fit the line (W = -1, b = 1) closely;
# the final values are the ps's own (the chief's last pull is float32).
mkdir -p "$work/float32" && mv "$work"/*.log "$work/float32/"
echo "transport_encoding: BFLOAT16" >> "$config"
run_job
expect_log worker_1 "SYNC: 0 of 1000 pushes had gradients dropped"
w=$(grep -F "] linear/weights [1, 1] = [" "$work/worker_0.log" | tail -n 1 | sed 's/.*= \[\(.*\)\]/\1/')
b=$(grep -F "] linear/biases [1] = [" "$work/worker_0.log" | tail -n 1 | sed 's/.*= \[\(.*\)\]/\1/')
echo "bfloat16 transport: W = $w, b = $b"
awk -v w="$w" -v b="$b" 'BEGIN { exit !(w != "" && b != "" && w + 1 < 0.02 && -1 - w < 0.02 &&
                                     b - 1 < 0.05 && 1 - b < 0.05) }' ||
  fail "bfloat16 transport: W = '$w', b = '$b' are not near -1 and 1"
finish
