#!/usr/bin/env bash
# Does the JPEG input pipeline keep a training step fed? mnist_deep on a real
# 2 ps + 2 worker cluster on this machine, trained from Fashion-MNIST JPEG
# shards (examples/mnist_deep_fashion_jpeg.pbtxt: each worker streams its
# shards, one decode thread each) and, as the reference in the same run, from
# the IDX files in memory (examples/mnist_deep_fashion.pbtxt), in alternating
# rounds.
#   bazel run //bench:input_wait -- [--steps=600] [--rounds=2]
# Per run and worker: images/s and the share of its training time the step
# waited for its batch (the worker's last log line). At the end, medians over
# rounds and workers:
#   jpeg_input_wait_percent=...  (target < 5)
#   idx_input_wait_percent=...   (copying a batch out of memory)
#   jpeg_images_per_sec=... idx_images_per_sec=... ratio=jpeg/idx
# All four daemons and the decode threads share this machine's cores, so the
# decode work is not free: the ratio shows what it costs.
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
steps=600
rounds=2
for arg in "$@"; do
  case "$arg" in
    --steps=*) steps="${arg#*=}" ;;
    --rounds=*) rounds="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --steps= --rounds=)" >&2; exit 2 ;;
  esac
done
bin=bazel-bin
for b in ps/tessera_ps worker/tessera_worker tools/tessera_ctl tools/tessera_records; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: bazel build //bench:input_wait" >&2; exit 2; }
done
source scripts/local_cluster.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$bin/bench/machine_check" ] && "$bin/bench/machine_check" 2>/dev/null | tail -1 || true

echo "== Fashion-MNIST as JPEG files, then shards"
/usr/bin/python3 scripts/make_fashion_jpeg_tree.py --out="$tmp/tree" | tail -1
"$bin/tools/tessera_records" --train_directory="$tmp/tree/train" \
  --validation_directory="$tmp/tree/validation" --labels_file="$tmp/tree/synsets.txt" \
  --output_directory="$tmp/records" --train_shards=16 --validation_shards=4 \
  --num_threads=2 2>&1 | grep -v "^  skipped" | tail -1
sed -e "s|model_file: \"models/|model_file: \"$PWD/examples/models/|" \
    -e "s|\"runs/fashion_jpeg/records/|\"$tmp/records/|" \
    examples/mnist_deep_fashion_jpeg.pbtxt > "$tmp/jpeg.pbtxt"
sed -e "s|model_file: \"models/|model_file: \"$PWD/examples/models/|" \
    examples/mnist_deep_fashion.pbtxt > "$tmp/idx.pbtxt"
# Training only: no evaluation at the end.
echo "eval_at_end: false" | tee -a "$tmp/jpeg.pbtxt" >> "$tmp/idx.pbtxt"

results="$tmp/results.txt"
: > "$results"
run() {  # run KIND ROUND
  local kind=$1 round=$2 dir="$tmp/run_$1_$2"
  write_cluster "$tmp/cluster.json" 2 2
  TESSERA_PS_BIN="$bin/ps/tessera_ps" TESSERA_WORKER_BIN="$bin/worker/tessera_worker" \
  TESSERA_CTL_BIN="$bin/tools/tessera_ctl" TESSERA_NO_BUILD=1 RUN_DIR="$dir" \
    scripts/run_local.sh "$tmp/cluster.json" "$tmp/$kind.pbtxt" --max_steps="$steps" \
    > "$dir.out" 2>&1 || { cat "$dir.out"; exit 1; }
  for w in 0 1; do
    line=$(grep "trained .* local steps" "$dir/worker_$w.log" | sed 's/^.*] //')
    ips=$(echo "$line" | sed -n 's/.* s (\([0-9.e+]*\) images\/s).*/\1/p')
    wait=$(echo "$line" | sed -n 's/.*input wait \([0-9.]*\)%.*/\1/p')
    [ -n "$ips" ] && [ -n "$wait" ] || { echo "worker $w printed no figure: $line" >&2; exit 1; }
    echo "round $round $kind worker $w: $ips images/s, input wait $wait%"
    echo "$kind $ips $wait" >> "$results"
  done
}
for round in $(seq 1 "$rounds"); do
  run idx "$round"
  run jpeg "$round"
done
/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = lambda kind, col: statistics.median(float(r[col]) for r in rows if r[0] == kind)
print(f"jpeg_input_wait_percent={med('jpeg', 2):.2f} (target < 5) "
      f"idx_input_wait_percent={med('idx', 2):.2f}")
print(f"jpeg_images_per_sec={med('jpeg', 1):.1f} idx_images_per_sec={med('idx', 1):.1f} "
      f"ratio={med('jpeg', 1) / med('idx', 1):.2f}")
PY
