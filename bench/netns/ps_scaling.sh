#!/usr/bin/env bash
# Why shard over several ps: a communication-bound job on emulated hosts.
# wide_mlp (20.0 M parameters, 80 MB; examples/models/wide_mlp.pbtxt) at
# batch 8 per worker, one compute thread each, SGD, on links of --rate each
# way per host (bench/netns/emulate.sh; needs root). For every mode, number of
# workers and of ps: the job's images/s and steps/s over a steady window, the
# ratio against 1 ps, each ps's link (MB/s on the wire) and Tessera's own
# count of its bytes (placement by bytes: max/mean of the ps's shares), the
# CPU cores all tasks used, and the busiest resource. Then the scaling model
# (bench/scaling_model.py), calibrated on a 1 ps + 1 worker run and a
# one-process step of this run, predicts every configuration: predicted vs
# measured and the error.
#
#   bench/netns/ps_scaling.sh [--rate=1gbit] [--workers=2,4] [--ps=1,2,4]
#       [--modes=sync,async] [--train_seconds=40] [--batch=8]
#       [--out=DIR] [--prefix=tsn] [--insecure] [--transport_encoding=BFLOAT16]
#   bazel run //bench/netns:ps_scaling -- [options]
#
# Default run: 13 jobs, about 13 minutes on a quiet machine. Results:
# OUT/results.json (default runs/ps_scaling-<UTC date-time>),
# OUT/validation.json, each job's logs and figures under OUT/<mode>_w<W>_p<P>/.
# docs/scaling.md.
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  cd "$BUILD_WORKSPACE_DIRECTORY"
  ROOT="$BUILD_WORKSPACE_DIRECTORY"
else
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi
# shellcheck source=bench/netns/bench_lib.sh
source "$ROOT/bench/netns/bench_lib.sh"

rate=1gbit workers_list=2,4 ps_list=1,2,4 modes=sync,async train_seconds=40 batch=8
out="" prefix=tsn security=() encoding=FLOAT32
for arg in "$@"; do
  case "$arg" in
    --rate=*) rate="${arg#*=}" ;;
    --workers=*) workers_list="${arg#*=}" ;;
    --ps=*) ps_list="${arg#*=}" ;;
    --modes=*) modes="${arg#*=}" ;;
    --train_seconds=*) train_seconds="${arg#*=}" ;;
    --batch=*) batch="${arg#*=}" ;;
    --out=*) out="${arg#*=}" ;;
    --prefix=*) prefix="${arg#*=}" ;;
    --insecure) security=(--insecure) ;;
    --transport_encoding=*) encoding="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) bench_die "unknown argument '$arg' (--help lists the options)" ;;
  esac
done
[[ "$rate" =~ ^[0-9]+(kbit|mbit|gbit)$ ]] || bench_die "--rate=$rate: want e.g. 1gbit, 500mbit"
[[ "$workers_list" =~ ^[0-9]+(,[0-9]+)*$ ]] || bench_die "--workers=$workers_list: want a list such as 2,4"
[[ "$ps_list" =~ ^[0-9]+(,[0-9]+)*$ ]] || bench_die "--ps=$ps_list: want a list such as 1,2,4"
[[ "$modes" =~ ^(sync|async)(,(sync|async))*$ ]] || bench_die "--modes=$modes: want sync and/or async, e.g. sync,async"
[[ "$train_seconds" =~ ^[0-9]+$ ]] && [ "$train_seconds" -ge 10 ] || bench_die "--train_seconds=$train_seconds: want 10 or more"
[[ "$batch" =~ ^[0-9]+$ ]] && [ "$batch" -ge 1 ] || bench_die "--batch=$batch: want >= 1"
[[ "$encoding" =~ ^(FLOAT32|BFLOAT16)$ ]] ||
  bench_die "--transport_encoding=$encoding: want FLOAT32 or BFLOAT16"
IFS=, read -r -a workers_values <<< "$workers_list"
IFS=, read -r -a ps_values <<< "$ps_list"
IFS=, read -r -a mode_values <<< "$modes"
for v in "${workers_values[@]}" "${ps_values[@]}"; do
  [ "$v" -ge 1 ] && [ "$v" -le 16 ] || bench_die "workers and ps counts must be 1-16, got $v"
done
bench_check_binaries

out="${out:-$ROOT/runs/ps_scaling-$(date -u +%Y%m%d-%H%M%S)}"
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || bench_die "--out=$out exists and is not empty"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
results="$out/results.json"
load_before="$(bench_load)"
machine_before="$(bench_machine_check)"
echo "ps_scaling: rate $rate, workers $workers_list, ps $ps_list, modes $modes, batch $batch, transport $encoding," \
  "${train_seconds} s per job; $load_before; results in $out"

config() {  # config FILE MODE
  cat > "$1" <<EOF
model_file: "$ROOT/examples/models/wide_mlp.pbtxt"
data { idx {} }
batch_size: $batch
compute_threads: 1
max_steps: 100000000
optimizer { learning_rate: 0.01 sgd {} }
update_mode: $2
log_every_steps: 1
eval_at_end: false
transport_encoding: $encoding
EOF
}
config "$out/async.pbtxt" ASYNC
config "$out/sync.pbtxt" SYNC

"$bench_py" "$ROOT/bench/netns/results.py" init "$results" --kind=scaling \
  --meta="{\"rate\": \"$rate\", \"batch\": $batch, \"train_seconds\": $train_seconds, \"load_before\": \"$load_before\", \"machine_check_before\": \"$machine_before\", \"start\": \"$(date -u +%FT%TZ)\", \"security\": \"${security[*]:-mtls+token}\"}"

echo "== calibration: CPU seconds of one step in one process, 1 thread ($(bench_load))"
compute_s="$(bench_compute_s "$out/async.pbtxt" 30)"
echo "  compute_s=$compute_s"
bench_emulate "$out" calibration_w1_p1 "$batch" 1 --ps=1 --workers=1 --config="$out/async.pbtxt" \
  --rate="$rate" --prefix="$prefix" --link_check --train_seconds="$train_seconds" "${security[@]}"
cat "$out/calibration_w1_p1/link.txt"
"$bench_py" "$ROOT/bench/netns/results.py" calibrate "$results" \
  --figures="$out/calibration_w1_p1/figures.json" --link="$out/calibration_w1_p1/link.txt" \
  --compute_s="$compute_s" --cores="$(nproc)" --batch="$batch" \
  --model_bytes="$(bench_model_bytes "$ROOT/examples/models/wide_mlp.pbtxt" "$encoding")"

for mode in "${mode_values[@]}"; do
  for w in "${workers_values[@]}"; do
    for p in "${ps_values[@]}"; do
      name="${mode}_w${w}_p${p}"
      replicas=1
      [ "$mode" = sync ] && replicas="$w"
      bench_emulate "$out" "$name" "$batch" "$replicas" --ps="$p" --workers="$w" \
        --config="$out/$mode.pbtxt" --rate="$rate" --prefix="$prefix" \
        --train_seconds="$train_seconds" "${security[@]}"
      "$bench_py" "$ROOT/bench/netns/results.py" add "$results" --name="$name" \
        --config="{\"mode\": \"$mode\", \"workers\": $w, \"ps\": $p}" --figures="$out/$name/figures.json"
    done
  done
done
load_after="$(bench_load)"
machine_after="$(bench_machine_check)"
"$bench_py" "$ROOT/bench/netns/results.py" meta "$results" load_after="$load_after" \
  machine_check_after="$machine_after"

echo
echo "== results ($load_before, $machine_before before; $load_after, $machine_after after; rate $rate each way per host)"
"$bench_py" "$ROOT/bench/netns/results.py" table "$results"
echo
echo "== the scaling model against every run (bench/scaling_model.py)"
"$bench_py" "$ROOT/bench/scaling_model.py" validate "$results" --json="$out/validation.json"
echo "results: $results"
