#!/usr/bin/env bash
# Tessera's cluster against the peer a PyTorch user would pick for
# data-parallel training on CPUs, in the same run: mnist_deep on
# Fashion-MNIST, batch 50 per worker, Adam 1e-4, on this machine's two cores.
#   Tessera: 1 ps + 2 workers (compute_threads 1 each), SYNC (every step
#            averages both workers' gradients, as DDP does) and ASYNC;
#   PyTorch: DistributedDataParallel, gloo, 2 ranks x 1 thread
#            (bench/ddp_reference.py), with glibc malloc's default thresholds
#            and with fixed ones, each with OpenBLAS (which PyTorch's linear
#            layers call) as it starts (2 threads per rank, which spin ~0.1 s
#            after each product), with OPENBLAS_THREAD_TIMEOUT=4 (they sleep
#            at once, as in Tessera's programs, nn/blas_kernel.h) and at 1
#            thread per rank, and with jemalloc and tcmalloc preloaded
#            (bench/reference_env.sh) at 1 OpenBLAS thread per rank; its
#            best in each round is the reference. A
#            timeout set in this script's environment is kept for both sides.
# Both sides plaintext: gloo neither encrypts nor authenticates, so Tessera
# runs with TESSERA_SECURITY=off here (run_local.sh secures every job by
# default; the cost of TLS is cluster_throughput --tls_turns's, issue 16).
#   bazel run //bench:cluster_vs_ddp -- [--batches=600] [--rounds=2] [--bfloat16]
# --bfloat16 adds Tessera SYNC and ASYNC with transport_encoding BFLOAT16
# (half the bytes on the wire) and, as DDP's counterpart, DDP with its
# fp16_compress_hook (gloo cannot all-reduce bfloat16 in Debian's torch
# 1.13: bf16_compress_hook needs NCCL). Each run trains `batches` batches in
# all (both workers together); the runs take turns, round after round.
# Prints job images/s (all workers together) per run, then per mode the
# median and
#   sync_vs_ddp=<median ratio> async_vs_ddp=<median ratio>
# (with --bfloat16 also sync_bf16_vs_ddp= async_bf16_vs_ddp=), each round's
# ratios against its fastest DDP configuration; and
#   sync_vs_in_process=<median ratio> (range)
# against Tessera's in-process trainer on both cores (2 threads, batch 50,
# bench/train_throughput_tessera), run once in each round (target 0.9).
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
batches=600 rounds=2 bf16=0
for arg in "$@"; do
  case "$arg" in
    --batches=*) batches="${arg#*=}" ;;
    --rounds=*) rounds="${arg#*=}" ;;
    --bfloat16) bf16=1 ;;
    *) echo "unknown argument $arg (want --batches= --rounds= --bfloat16)" >&2; exit 2 ;;
  esac
done
for v in batches rounds; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "--$v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
(( batches % 2 == 0 )) || { echo "--batches must be even (two workers)" >&2; exit 2; }
(( batches >= 42 )) || { echo "--batches must be >= 42 (each worker is timed after its first 20 steps)" >&2; exit 2; }
bin=bazel-bin
for b in ps/tessera_ps worker/tessera_worker tools/tessera_ctl bench/train_throughput_tessera; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: bazel build //bench:cluster_vs_ddp" >&2; exit 2; }
done
source scripts/local_cluster.sh
source bench/reference_env.sh  # openblas_timeouts, reference_env
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The example config with the model file's absolute path and one compute
# thread per worker (two workers share the two cores, as DDP's two ranks do).
sed "s|^model_file: \"models/|model_file: \"$PWD/examples/models/|" examples/mnist_deep_fashion.pbtxt \
  > "$tmp/config.pbtxt"
echo "compute_threads: 1" >> "$tmp/config.pbtxt"
cp "$tmp/config.pbtxt" "$tmp/config_bf16.pbtxt"
echo "transport_encoding: BFLOAT16" >> "$tmp/config_bf16.pbtxt"

# tessera MODE MAX_STEPS [CONFIG]: one run of a fresh 1 ps + 2 worker
# cluster; leaves the job's images/s (the workers' training rates after their
# first 20 steps, added: DDP is timed after 10 warm-up steps and a barrier,
# so neither side counts its start) in $figure.
tessera() {
  write_cluster "$tmp/cluster.json" 1 2
  rm -rf "$tmp/run"
  TESSERA_PS_BIN="$bin/ps/tessera_ps" TESSERA_WORKER_BIN="$bin/worker/tessera_worker" \
  TESSERA_CTL_BIN="$bin/tools/tessera_ctl" TESSERA_NO_BUILD=1 RUN_DIR="$tmp/run" TESSERA_SECURITY=off \
    scripts/run_local.sh "$tmp/cluster.json" "${3:-$tmp/config.pbtxt}" --update_mode="$1" \
    --max_steps="$2" > "$tmp/run_local.out" 2>&1 || { cat "$tmp/run_local.out"; exit 1; }
  figure=$(cat "$tmp"/run/worker_*.log |
    sed -n 's/.*after the first [0-9]* steps: \([0-9.e+]*\) images\/s.*/\1/p' |
    awk '{ s += $1; n += 1 } END { if (n == 2) printf "%.1f", s }')
  [ -n "$figure" ] || { echo "a Tessera run printed no figure"; tail "$tmp"/run/*.log; exit 1; }
}

# ddp MALLOC(default|tuned|jemalloc|tcmalloc) BLAS(spin|sleep|user|one) [HOOK]: one DDP run
# (BLAS: an OpenBLAS timeout mode of bench/reference_env.sh, or OpenBLAS at 1
# thread per rank; HOOK: its --comm_hook); leaves the job's images/s in
# $figure.
ddp() {
  local blas_threads=0
  reference_env "$1" "$2"
  [ "$2" = one ] && blas_threads=1
  env "${reference_envs[@]}" /usr/bin/python3 bench/ddp_reference.py --ranks=2 --threads=1 --batch_size=50 \
    --steps=$((batches / 2)) --blas_threads="$blas_threads" --comm_hook="${3:-none}" \
    > "$tmp/ddp.out" 2>&1 ||
    { cat "$tmp/ddp.out"; exit 1; }
  figure=$(sed -n 's/^ddp_images_per_sec=\([0-9.]*\).*/\1/p' "$tmp/ddp.out")
  [ -n "$figure" ] || { echo "the DDP run printed no figure"; cat "$tmp/ddp.out"; exit 1; }
}

# in_process: Tessera's in-process trainer on both cores (2 threads, batch
# 50, as bench/train_throughput), as many batches as a SYNC run's global
# steps; leaves its images/s in $figure.
in_process() {
  "$bin/bench/train_throughput_tessera" --steps=$((batches / 2)) --repeats=1 > "$tmp/inproc.out" 2>&1 ||
    { cat "$tmp/inproc.out"; exit 1; }
  figure=$(sed -n 's/^images_per_sec=//p' "$tmp/inproc.out")
  [ -n "$figure" ] || { echo "the in-process run printed no figure"; cat "$tmp/inproc.out"; exit 1; }
}

median() { printf '%s\n' "$@" | sort -g |
  awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "== $batches batches of 50 per run, $rounds rounds; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; both sides plaintext (Tessera TESSERA_SECURITY=off, gloo)"
sync_r=() async_r=() sb_r=() ab_r=() s_all=() a_all=() sb_all=() ab_all=() dh_all=()
in_r=() in_all=()
declare -A ddp_all
blas_modes=("${openblas_timeouts[@]}" one)
for ((r = 0; r < rounds; ++r)); do
  tessera sync $((batches / 2)); s=$figure
  tessera async "$batches"; a=$figure
  in_process; i=$figure
  ddp_line="" best=0
  # glibc malloc with every BLAS mode; jemalloc and tcmalloc
  # (bench/reference_env.sh) with OpenBLAS at 1 thread per rank, DDP's best.
  ddp_modes=()
  for m in default tuned; do for b in "${blas_modes[@]}"; do ddp_modes+=("$m/$b"); done; done
  for m in "${other_mallocs[@]}"; do ddp_modes+=("$m/one"); done
  for mb in "${ddp_modes[@]}"; do
    m=${mb%/*} b=${mb#*/}
    ddp "$m" "$b"
    ddp_all["$m $b"]+="$figure "
    ddp_line+="${ddp_line:+, }$m/$b $figure"
    best=$(awk -v x="$best" -v y="$figure" 'BEGIN { print (x > y) ? x : y }')
  done
  line="round $r: tessera sync $s, async $a"
  if (( bf16 )); then
    tessera sync $((batches / 2)) "$tmp/config_bf16.pbtxt"; sb=$figure
    tessera async "$batches" "$tmp/config_bf16.pbtxt"; ab=$figure
    ddp tuned "${blas_modes[-1]}" fp16; dh=$figure
    best=$(awk -v x="$best" -v y="$dh" 'BEGIN { print (x > y) ? x : y }')
    sb_all+=("$sb") ab_all+=("$ab") dh_all+=("$dh")
    sb_r+=("$(ratio "$sb" "$best")") ab_r+=("$(ratio "$ab" "$best")")
    line+=", bfloat16 sync $sb, async $ab"
  fi
  s_all+=("$s") a_all+=("$a") in_all+=("$i")
  sync_r+=("$(ratio "$s" "$best")") async_r+=("$(ratio "$a" "$best")") in_r+=("$(ratio "$s" "$i")")
  line+=", in process $i"
  line+="; ddp (malloc/openblas) $ddp_line"
  (( bf16 )) && line+=", tuned + fp16 hook $dh"
  echo "$line images/s; sync/ddp ${sync_r[-1]}, async/ddp ${async_r[-1]}, sync/in_process ${in_r[-1]}" \
    "$( (( bf16 )) && echo "bfloat16 sync/ddp ${sb_r[-1]}, async/ddp ${ab_r[-1]}")"
done
line="medians (images/s): tessera sync $(median "${s_all[@]}"), async $(median "${a_all[@]}"), in process $(median "${in_all[@]}")"
(( bf16 )) && line+=", bfloat16 sync $(median "${sb_all[@]}"), async $(median "${ab_all[@]}")"
for k in "${!ddp_all[@]}"; do
  # shellcheck disable=SC2086  # the figures, one word each
  line+="; ddp $k $(median ${ddp_all[$k]})"
done
(( bf16 )) && line+=", tuned + fp16 hook $(median "${dh_all[@]}")"
echo "$line"
line="sync_vs_ddp=$(median "${sync_r[@]}") async_vs_ddp=$(median "${async_r[@]}")"
(( bf16 )) && line+=" sync_bf16_vs_ddp=$(median "${sb_r[@]}") async_bf16_vs_ddp=$(median "${ab_r[@]}")"
echo "$line (rounds=$rounds; each round against its fastest DDP)"
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
echo "sync_vs_in_process=$(median "${in_r[@]}") ($(range "${in_r[@]}"); Tessera SYNC 1 ps + 2 workers against its in-process trainer on both cores, each round)"
