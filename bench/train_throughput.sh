#!/usr/bin/env bash
# mnist_deep training throughput: Tessera's in-process trainer against Debian's
# PyTorch on the same network, batch, optimizer and data, in the same run.
#   bazel run //bench:train_throughput -- [--batch_size=50] [--threads=2] [--steps=200]
# Prints both figures and `ratio=tessera/torch`.
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
here="$(dirname "$0")"
tessera_bin="${TESSERA_BENCH_BIN:-bazel-bin/bench/train_throughput_tessera}"
[ -x "$tessera_bin" ] || tessera_bin="$here/train_throughput_tessera"

batch=50 threads=2 steps=200
for arg in "$@"; do
  case "$arg" in
    --batch_size=*) batch="${arg#*=}" ;;
    --threads=*) threads="${arg#*=}" ;;
    --steps=*) steps="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --batch_size= --threads= --steps=)" >&2; exit 2 ;;
  esac
done

echo "== tessera (in-process, mnist_deep, batch $batch, $threads threads)"
t_out=$("$tessera_bin" --batch_size="$batch" --threads="$threads" --steps="$steps" 2>&1)
echo "$t_out"
echo "== pytorch reference"
p_out=$(/usr/bin/python3 bench/torch_reference.py --batch_size="$batch" --threads="$threads" --steps="$steps" 2>&1)
echo "$p_out"
t=$(echo "$t_out" | sed -n 's/^images_per_sec=//p')
p=$(echo "$p_out" | sed -n 's/^images_per_sec=//p')
if [ -z "$t" ] || [ -z "$p" ]; then echo "a run failed: no images_per_sec line" >&2; exit 1; fi
echo "tessera_images_per_sec=$t torch_images_per_sec=$p ratio=$(python3 -c "print(f'{$t/$p:.2f}')")"
