#!/usr/bin/env bash
# Convergence of the update modes (docs/update_modes.md), same run: mnist_deep
# on Fashion-MNIST (Adam 1e-4, batch 50 per worker) on a local cluster of
# 2 ps + 3 workers in each mode, and single-process training as the reference.
#   bazel run //bench:convergence -- [--sync_steps=300] [--transport_encoding=BFLOAT16]
# --transport_encoding sets the cluster runs' TrainConfig.transport_encoding
# (default FLOAT32); the reference is in-process and has no transport.
#
# Every run sees the same number of training examples, E = 150 * sync_steps:
#   sync 3/3  : sync_steps global steps, each the mean of 3 x 50 examples
#   sync 2/3  : 1.5 * sync_steps global steps of 2 x 50 (the backup's pushes
#               are dropped; their examples are not counted)
#   async     : 3 * sync_steps global steps of 50 (one per push)
#   stale s=2 : 3 * sync_steps global steps of 50
#   reference : tessera_train_local, batch 150, sync_steps steps: the same
#               computation as sync 3/3 (the mean gradient of 150 examples)
# Prints per mode: test accuracy, wall time, dropped pushes; and
# sync3of3_minus_reference (target: within 0.5 points).
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
sync_steps=300 encoding=FLOAT32
for arg in "$@"; do
  case "$arg" in
    --sync_steps=*) sync_steps="${arg#*=}" ;;
    --transport_encoding=*) encoding="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --sync_steps= --transport_encoding=)" >&2; exit 2 ;;
  esac
done
[[ "$sync_steps" =~ ^[1-9][0-9]*$ ]] ||
  { echo "--sync_steps must be a positive integer, got '$sync_steps'" >&2; exit 2; }
case "$encoding" in
  FLOAT32|BFLOAT16) ;;
  *) echo "--transport_encoding must be FLOAT32 or BFLOAT16, got '$encoding'" >&2; exit 2 ;;
esac
bin="${TESSERA_BENCH_BIN:-bazel-bin}"  # a copy of bazel-bin may be given
for b in ps/tessera_ps worker/tessera_worker worker/tessera_train_local tools/tessera_ctl; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: bazel build //bench:convergence" >&2; exit 2; }
done
source scripts/local_cluster.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model="$PWD/examples/models/mnist_deep.pbtxt"

# config NAME MODE MAX_STEPS BATCH [EXTRA...]: writes $tmp/NAME.pbtxt
config() {
  local name="$1" mode="$2" steps="$3" batch="$4"
  shift 4
  {
    echo "model_file: \"$model\""
    echo "data { idx {} }"
    echo "batch_size: $batch"
    echo "max_steps: $steps"
    echo "optimizer { learning_rate: 1e-4 adam {} }"
    echo "log_every_steps: 100"
    echo "update_mode: $mode"
    echo "transport_encoding: $encoding"
    for line in "$@"; do echo "$line"; done
  } > "$tmp/$name.pbtxt"
}

write_cluster "$tmp/cluster.json" 2 3

config async ASYNC $((3 * sync_steps)) 50
config sync3 SYNC "$sync_steps" 50 "replicas_to_aggregate: 3"
config sync2 SYNC $((3 * sync_steps / 2)) 50 "replicas_to_aggregate: 2" "total_replicas: 3"
config stale2 STALE $((3 * sync_steps)) 50 "staleness: 2"
config reference ASYNC "$sync_steps" 150

accuracy_of() { sed -n 's/.*test at global step .*accuracy \([0-9.e+-]*\).*/\1/p' "$1" | tail -n 1; }

echo "== cluster runs: transport_encoding $encoding"
printf "%-10s %10s %12s %10s %16s\n" mode steps accuracy wall_s dropped_pushes
results=()
for mode in async sync3 sync2 stale2; do
  start=$(date +%s.%N)
  TESSERA_PS_BIN="$bin/ps/tessera_ps" TESSERA_WORKER_BIN="$bin/worker/tessera_worker" \
  TESSERA_CTL_BIN="$bin/tools/tessera_ctl" TESSERA_NO_BUILD=1 RUN_DIR="$tmp/$mode" \
    scripts/run_local.sh "$tmp/cluster.json" "$tmp/$mode.pbtxt" > "$tmp/$mode.out" 2>&1 ||
    { cat "$tmp/$mode.out"; tail -n 20 "$tmp/$mode"/*.log; exit 1; }
  wall=$(/usr/bin/python3 -c "import time; print(f'{time.time() - $start:.0f}')")
  acc=$(accuracy_of "$tmp/$mode/worker_0.log")
  dropped=$(cat "$tmp/$mode"/worker_*.log |
    sed -n 's/.*SYNC: \([0-9]*\) of \([0-9]*\) pushes.*/\1 \2/p' |
    awk '{d += $1; n += $2} END {if (n > 0) printf "%d of %d", d, n; else print "-"}')
  steps=$(sed -n 's/^max_steps: //p' "$tmp/$mode.pbtxt")
  printf "%-10s %10s %12s %10s %16s\n" "$mode" "$steps" "$acc" "$wall" "$dropped"
  results+=("$mode=$acc")
done

start=$(date +%s.%N)
"$bin/worker/tessera_train_local" --config="$tmp/reference.pbtxt" > "$tmp/reference.log" 2>&1 ||
  { tail -n 20 "$tmp/reference.log"; exit 1; }
wall=$(/usr/bin/python3 -c "import time; print(f'{time.time() - $start:.0f}')")
ref=$(sed -n 's/.*accuracy \([0-9.e+-]*\).*/\1/p' "$tmp/reference.log" | tail -n 1)
printf "%-10s %10s %12s %10s %16s\n" "local_b150" "$sync_steps" "$ref" "$wall" "-"
sync3=${results[1]#sync3=}
echo "examples_per_run=$((150 * sync_steps)) sync3of3_minus_reference=$(/usr/bin/python3 -c "print(f'{100 * ($sync3 - $ref):+.2f} points')")"
