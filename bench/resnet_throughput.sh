#!/usr/bin/env bash
# ResNet-18 training throughput in one process: Tessera's in-process trainer
# against Debian's PyTorch (torchvision.models.resnet18) on the same network,
# batch, input size, optimizer (SGD, momentum 0.9) and random data, batch norm
# in training mode, in the same run. Two cases: 224x224x3 at batch 32 and
# 64x64x3 at batch 64 (examples/models/resnet18{,_64}.pbtxt), 1000 classes.
#   bazel run -c opt //bench:resnet_throughput -- [--quick] [--sizes=224,64]
#                                                 [--rounds=N] [--threads=2]
#
# Per size, first PyTorch's configurations are tried, one process at a time
# (they do not all fit in memory at 224), each for one timed turn after its
# warm-up: 1 and 2 threads, glibc malloc's default thresholds and fixed ones
# (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, as train_throughput.sh),
# and on 2 threads jemalloc and tcmalloc (bench/reference_env.sh), NCHW and
# channels_last, OpenBLAS's idle threads spinning as by default or
# sleeping at once (OPENBLAS_THREAD_TIMEOUT=4, which Tessera's programs set for
# themselves, nn/blas_kernel.h; PyTorch's linear layers use the same
# OpenBLAS). The fastest is PyTorch's best configuration. Then
# Tessera (started first and warm) and that configuration take turns for
# `rounds` rounds (bench/turns.sh), as train_throughput.sh does; a round's
# ratio is Tessera's turn over PyTorch's. --quick tries only fixed malloc
# thresholds: 1 thread in NCHW, 2 threads in NCHW and channels_last, each with
# both OpenBLAS timeouts, plus jemalloc and tcmalloc on 2 threads in
# channels_last, and runs fewer steps and rounds. A timeout the user set
# (OPENBLAS_THREAD_TIMEOUT in this script's environment) is kept for both
# sides and not searched. Prints, per size,
#   size=S batch=B tessera_images_per_sec=X torch_images_per_sec=Y ratio=R (range lo-hi)
#   gflops: tessera=G torch=G (train FLOPs per image F)   peak_rss_mb: tessera=M torch=M
# where the images/s are medians over the rounds.
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
here="$(dirname "$0")"
tessera_bin="${TESSERA_BENCH_BIN:-bazel-bin/bench/train_throughput_tessera}"
[ -x "$tessera_bin" ] || tessera_bin="$here/train_throughput_tessera"

quick=0 sizes=224,64 rounds="" threads=2
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --sizes=*) sizes="${arg#*=}" ;;
    --rounds=*) rounds="${arg#*=}" ;;
    --threads=*) threads="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --quick --sizes=224,64 --rounds= --threads=)" >&2; exit 2 ;;
  esac
done
if [ -z "$rounds" ]; then rounds=$((quick ? 2 : 3)); fi
for v in rounds threads; do
  if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
    echo "--$v must be a positive integer, got '${!v}'" >&2
    exit 2
  fi
done

source bench/turns.sh  # start, expect, turn, finish, median_range; cleanup on exit
source bench/reference_env.sh  # openblas_timeouts, reference_env

# PyTorch configurations: "threads malloc layout timeout".
configs=()
for t in 1 2; do for m in default tuned "${other_mallocs[@]}"; do for l in nchw channels_last; do
  for o in "${openblas_timeouts[@]}"; do
    # jemalloc and tcmalloc: 2 threads with OpenBLAS's idle threads asleep
    # (or the user's timeout) only, the setting of PyTorch's best so far.
    if [ "$m" = jemalloc ] || [ "$m" = tcmalloc ]; then
      if [ "$t" != 2 ] || [ "$o" != "${openblas_timeouts[-1]}" ]; then continue; fi
      if ((quick)) && [ "$l" != channels_last ]; then continue; fi
      configs+=("$t $m $l $o")
      continue
    fi
    # --quick: malloc tuned only, channels_last only on 2 threads (PyTorch's
    # best at 64x64 in the default run of 2026-12-06).
    if ((quick)) && { [ "$m" != tuned ] || [ "$t $l" = "1 channels_last" ]; }; then continue; fi
    configs+=("$t $m $l $o")
  done
done; done; done

# start_torch NAME SIZE BATCH STEPS WARMUP THREADS MALLOC LAYOUT TIMEOUT
start_torch() {
  local layout=()
  reference_env "$7" "$9"
  [ "$8" = channels_last ] && layout=(--channels_last)
  start "$1" env "${reference_envs[@]}" /usr/bin/python3 bench/torch_reference.py --paced \
    --model=resnet18 --image_size="$2" --batch_size="$3" --examples=$((2 * $3)) \
    --steps="$4" --warmup="$5" --threads="$6" "${layout[@]}"
  expect "$1" '^ready$'
}

summaries=()
for size in ${sizes//,/ }; do
  case "$size" in
    224) batch=32 model_config=bench/resnet18_224_train.pbtxt steps=$((quick ? 2 : 4)) warmup=2 ;;
    64) batch=64 model_config=bench/resnet18_64_train.pbtxt steps=$((quick ? 5 : 12)) warmup=3 ;;
    *) echo "--sizes: 224 or 64, got '$size'" >&2; exit 2 ;;
  esac
  echo "== ResNet-18 ${size}x${size}x3, batch $batch, $steps steps per turn: Tessera ($threads threads)"
  start tessera "$tessera_bin" --paced --config="$model_config" --synthetic_examples=$((2 * batch)) \
    --batch_size="$batch" --threads="$threads" --steps="$steps" --warmup="$warmup"
  expect tessera '^ready$'

  echo "== PyTorch configurations, one turn each (threads malloc layout OpenBLAS-timeout: images/s)"
  best=0 best_config=""
  trials=()
  for config in "${configs[@]}"; do
    read -r t m l o <<< "$config"
    start_torch trial "$size" "$batch" "$steps" "$warmup" "$t" "$m" "$l" "$o"
    turn trial
    finish trial
    trials+=("$config: $figure")
    if awk -v a="$figure" -v b="$best" 'BEGIN { exit !(a > b) }'; then
      best=$figure best_config=$config
    fi
  done
  printf '   %s\n' "${trials[@]}"
  read -r t m l o <<< "$best_config"
  echo "best PyTorch configuration at $size: threads=$t malloc=$m layout=$l openblas_timeout=$o ($best images/s)"
  start_torch torch "$size" "$batch" "$steps" "$warmup" "$t" "$m" "$l" "$o"

  ratios=() t_figs=() p_figs=()
  for ((r = 0; r < rounds; ++r)); do
    turn tessera; tf=$figure
    turn torch; pf=$figure
    t_figs+=("$tf") p_figs+=("$pf")
    ratios+=("$(awk -v t="$tf" -v p="$pf" 'BEGIN { printf "%.3f", t / p }')")
    echo "round $r: tessera $tf, PyTorch $pf, ratio ${ratios[-1]}"
  done
  finish torch; torch_rss=$peak_rss_mb
  exec {tessera_in}>&-
  expect tessera '^peak_rss_mb='
  tessera_rss=$(sed -E 's/^peak_rss_mb=([0-9.]+).*/\1/' <<< "$line")
  gflop=$(sed -E 's/.*train_gflop_per_image=([0-9.]+).*/\1/' <<< "$line")
  expect tessera '^images_per_sec='
  wait "$tessera_pid" 2>/dev/null || true

  read -r t_med _ _ <<< "$(median_range "${t_figs[@]}")"
  read -r p_med _ _ <<< "$(median_range "${p_figs[@]}")"
  read -r r_med r_lo r_hi <<< "$(median_range "${ratios[@]}")"
  summaries+=("$(printf 'size=%s batch=%s tessera_images_per_sec=%.1f torch_images_per_sec=%.1f ratio=%.2f (rounds=%d, range %.2f-%.2f; target 1.5)' \
    "$size" "$batch" "$t_med" "$p_med" "$r_med" "${#ratios[@]}" "$r_lo" "$r_hi")")
  summaries+=("$(awk -v t="$t_med" -v p="$p_med" -v f="$gflop" -v tr="$tessera_rss" -v pr="$torch_rss" -v c="threads=$t malloc=$m layout=$l openblas_timeout=$o" -v s="$size" \
    'BEGIN { printf "  size=%s gflops: tessera=%.0f torch=%.0f (%.2f GFLOP per image)  peak_rss_mb: tessera=%s torch=%s  torch_config: %s", s, t * f, p * f, f, tr, pr, c }')")
done
echo "== summary"
printf '%s\n' "${summaries[@]}"
