#!/usr/bin/env bash
# Training speed of a real cluster against in-process training, same run:
# mnist_deep on Fashion-MNIST, batch 50, on 1 ps + 1 worker on this machine
# (both daemons share its cores), against bench/train_throughput_tessera.
#   bazel run //bench:cluster_throughput -- [--steps=300]
# Prints both figures and `ratio=cluster/in_process` (target >= 0.7).
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
steps=300
for arg in "$@"; do
  case "$arg" in
    --steps=*) steps="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --steps=)" >&2; exit 2 ;;
  esac
done
bin=bazel-bin
for b in bench/train_throughput_tessera ps/tessera_ps worker/tessera_worker tools/tessera_ctl; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: bazel build //bench:cluster_throughput" >&2; exit 2; }
done
source scripts/local_cluster.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
write_cluster "$tmp/cluster.json" 1 1

echo "== in-process ($steps steps)"
"$bin/bench/train_throughput_tessera" --steps="$steps" --repeats=1 > "$tmp/inproc.out" 2>&1
tail -3 "$tmp/inproc.out"
inproc=$(sed -n 's/^images_per_sec=//p' "$tmp/inproc.out")

echo "== cluster: 1 ps + 1 worker ($steps steps)"
TESSERA_PS_BIN="$bin/ps/tessera_ps" TESSERA_WORKER_BIN="$bin/worker/tessera_worker" \
TESSERA_CTL_BIN="$bin/tools/tessera_ctl" TESSERA_NO_BUILD=1 RUN_DIR="$tmp/run" \
  scripts/run_local.sh "$tmp/cluster.json" examples/mnist_deep_fashion.pbtxt \
  --max_steps="$steps" > "$tmp/run_local.out" 2>&1 || { cat "$tmp/run_local.out"; exit 1; }
grep "trained .* local steps" "$tmp/run/worker_0.log" | sed 's/^.*] //'
cluster=$(sed -n 's/.*trained .* local steps in .* s (\([0-9.e+]*\) images\/s).*/\1/p' "$tmp/run/worker_0.log")
[ -n "$inproc" ] && [ -n "$cluster" ] || { echo "a run printed no figure" >&2; exit 1; }
echo "in_process_images_per_sec=$inproc cluster_images_per_sec=$cluster ratio=$(/usr/bin/python3 -c "print(f'{$cluster/$inproc:.2f}')")"
