#!/usr/bin/env bash
# What a straggler costs in each update mode, on emulated hosts: 1 ps + 3
# workers (bench/netns/emulate.sh; needs root) train mnist_small
# (examples/models/mnist_small.pbtxt) on Fashion-MNIST, batch 50 per worker,
# Adam 1e-3, one compute thread each, links of --rate, while worker 2 is slow:
# its CPU cut to a quota (--straggler=cpu:CORES, a cgroup) or its link
# slowed (--straggler=rate:RATE). Every run sees the same number of examples
# E (--examples) applied to the variables, as bench/convergence.sh counts them:
#   sync_no_straggler   SYNC 3 of 3, nobody slowed: the reference
#   sync_3of3           SYNC 3 of 3: every step waits for the straggler
#   sync_2of3_backup    SYNC 2 of 3 (one backup worker): the slowest push of
#                       each step is dropped, nobody waits for it
#   async               ASYNC: every push applied at once
#   stale_s2            STALE, staleness 2: nobody runs more than 2 steps ahead
# Prints per run: images/s computed and applied (steady window), the ratio to
# the reference, the straggler's and the others' steps/s, the chief's test
# accuracy at the end, global steps, dropped pushes (SYNC) and training wall
# time. Then the scaling model (bench/scaling_model.py), calibrated on a 1 ps
# + 1 worker run of the same job, predicts each run: predicted vs measured.
#
#   bench/netns/straggler.sh [--straggler=cpu:0.1] [--rate=1gbit]
#       [--examples=30000] [--out=DIR] [--prefix=tsn] [--insecure]
#   bazel run //bench/netns:straggler -- [options]
#
# Default run: 6 jobs, about 6 minutes. Results: OUT/results.json (default
# runs/straggler-<UTC date-time>), OUT/validation.json. docs/scaling.md.
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  cd "$BUILD_WORKSPACE_DIRECTORY"
  ROOT="$BUILD_WORKSPACE_DIRECTORY"
else
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi
# shellcheck source=bench/netns/bench_lib.sh
source "$ROOT/bench/netns/bench_lib.sh"

straggler=cpu:0.1 rate=1gbit examples=30000 out="" prefix=tsn security=()
for arg in "$@"; do
  case "$arg" in
    --straggler=*) straggler="${arg#*=}" ;;
    --rate=*) rate="${arg#*=}" ;;
    --examples=*) examples="${arg#*=}" ;;
    --out=*) out="${arg#*=}" ;;
    --prefix=*) prefix="${arg#*=}" ;;
    --insecure) security=(--insecure) ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) bench_die "unknown argument '$arg' (--help lists the options)" ;;
  esac
done
[[ "$rate" =~ ^[0-9]+(kbit|mbit|gbit)$ ]] || bench_die "--rate=$rate: want e.g. 1gbit, 500mbit"
case "$straggler" in
  cpu:*)
    quota="${straggler#cpu:}"
    [[ "$quota" =~ ^[0-9]*\.?[0-9]+$ ]] && [ "$(awk -v q="$quota" 'BEGIN { print (q > 0) }')" = 1 ] ||
      bench_die "--straggler=$straggler: want cpu:CORES with CORES > 0, e.g. cpu:0.1"
    slow_flags=(--host_cpu=w2="$quota")
    slow_config="\"host_cpu\": {\"w2\": $quota}" ;;
  rate:*)
    slow_rate="${straggler#rate:}"
    [[ "$slow_rate" =~ ^[0-9]+(kbit|mbit|gbit)$ ]] || bench_die "--straggler=$straggler: want rate:RATE, e.g. rate:50mbit"
    slow_flags=(--host_rate=w2="$slow_rate")
    slow_config="" ;;  # filled in once the link's goodput is measured
  *) bench_die "--straggler=$straggler: want cpu:CORES or rate:RATE" ;;
esac
[[ "$examples" =~ ^[0-9]+$ ]] && [ "$examples" -ge 3000 ] && [ $((examples % 300)) -eq 0 ] ||
  bench_die "--examples=$examples: want a multiple of 300, at least 3000"
bench_check_binaries
batch=50

out="${out:-$ROOT/runs/straggler-$(date -u +%Y%m%d-%H%M%S)}"
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || bench_die "--out=$out exists and is not empty"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
results="$out/results.json"
load_before="$(bench_load)"
machine_before="$(bench_machine_check)"
echo "straggler: 1 ps + 3 workers, worker 2 slowed ($straggler), rate $rate, $examples examples" \
  "per run; $load_before; results in $out"

config() {  # config FILE MODE [lines...]
  local file="$1" mode="$2"
  shift 2
  {
    echo "model_file: \"$ROOT/examples/models/mnist_small.pbtxt\""
    echo "data { idx {} }"
    echo "batch_size: $batch"
    echo "compute_threads: 1"
    echo "optimizer { learning_rate: 1e-3 adam {} }"
    echo "update_mode: $mode"
    echo "log_every_steps: 1"
    for line in "$@"; do echo "$line"; done
  } > "$file"
}
config "$out/async.pbtxt" ASYNC
config "$out/sync3.pbtxt" SYNC "replicas_to_aggregate: 3"
config "$out/sync2.pbtxt" SYNC "replicas_to_aggregate: 2" "total_replicas: 3"
config "$out/stale2.pbtxt" STALE "staleness: 2"

"$bench_py" "$ROOT/bench/netns/results.py" init "$results" --kind=straggler \
  --meta="{\"rate\": \"$rate\", \"straggler\": \"$straggler\", \"examples\": $examples, \"batch\": $batch, \"load_before\": \"$load_before\", \"machine_check_before\": \"$machine_before\", \"start\": \"$(date -u +%FT%TZ)\", \"security\": \"${security[*]:-mtls+token}\"}"

echo "== calibration: CPU seconds of one step in one process, 1 thread ($(bench_load))"
compute_s="$(bench_compute_s "$out/async.pbtxt" 100)"
echo "  compute_s=$compute_s"
BENCH_SKIP=5 bench_emulate "$out" calibration_w1_p1 "$batch" 1 --ps=1 --workers=1 \
  --config="$out/async.pbtxt" --rate="$rate" --prefix="$prefix" --link_check --train_seconds=15 \
  "${security[@]}" -- --max_steps=100000000
cat "$out/calibration_w1_p1/link.txt"
"$bench_py" "$ROOT/bench/netns/results.py" calibrate "$results" \
  --figures="$out/calibration_w1_p1/figures.json" --link="$out/calibration_w1_p1/link.txt" \
  --compute_s="$compute_s" --cores="$(nproc)" --batch="$batch" \
  --model_bytes="$(bench_model_bytes "$ROOT/examples/models/mnist_small.pbtxt")"
if [ -n "${slow_rate:-}" ]; then
  # The straggler's link in the model: the measured goodput, scaled by its rate.
  slow_bytes="$("$bench_py" - "$results" <<PY
import json, sys
d = json.load(open(sys.argv[1]))
units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
def bits(r):
    for u, f in units.items():
        if r.endswith(u):
            return float(r[:-len(u)]) * f
print(d["calibration"]["costs"]["link_bytes_per_s"] * bits("$slow_rate") / bits("$rate"))
PY
)"
  slow_config="\"host_link_bytes_per_s\": {\"w2\": $slow_bytes}"
fi

# run NAME CONFIG GLOBAL_STEPS REPLICAS [emulate flags...]
run() {
  local name="$1" cfg="$2" steps="$3" replicas="$4" mode
  shift 4
  mode="$(sed -n 's/^update_mode: //p' "$cfg" | tr 'A-Z' 'a-z')"
  BENCH_SKIP=5 bench_emulate "$out" "$name" "$batch" "$replicas" --ps=1 --workers=3 --config="$cfg" \
    --rate="$rate" --prefix="$prefix" "${security[@]}" "$@" -- --max_steps="$steps"
  local extra=""
  [ "$name" = sync_no_straggler ] || extra="${slow_config:+, $slow_config}"
  [ "$mode" = stale ] && extra="$extra, \"staleness\": 2"
  "$bench_py" "$ROOT/bench/netns/results.py" add "$results" --name="$name" \
    --config="{\"mode\": \"$mode\", \"workers\": 3, \"ps\": 1, \"replicas\": $replicas$extra}" \
    --figures="$out/$name/figures.json"
}
run sync_no_straggler "$out/sync3.pbtxt" $((examples / 150)) 3
run sync_3of3 "$out/sync3.pbtxt" $((examples / 150)) 3 "${slow_flags[@]}"
run sync_2of3_backup "$out/sync2.pbtxt" $((examples / 100)) 2 "${slow_flags[@]}"
run async "$out/async.pbtxt" $((examples / 50)) 1 "${slow_flags[@]}"
run stale_s2 "$out/stale2.pbtxt" $((examples / 50)) 1 "${slow_flags[@]}"
load_after="$(bench_load)"
machine_after="$(bench_machine_check)"
"$bench_py" "$ROOT/bench/netns/results.py" meta "$results" load_after="$load_after" \
  machine_check_after="$machine_after"

echo
echo "== results ($load_before, $machine_before before; $load_after, $machine_after after; worker 2 slowed: $straggler; $examples examples applied per run)"
"$bench_py" "$ROOT/bench/netns/results.py" table "$results"
echo
echo "== the scaling model against every run (bench/scaling_model.py)"
"$bench_py" "$ROOT/bench/scaling_model.py" validate "$results" --json="$out/validation.json"
echo "results: $results"
