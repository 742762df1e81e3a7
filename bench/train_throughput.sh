#!/usr/bin/env bash
# mnist_deep training throughput: Tessera's in-process trainer against Debian's
# PyTorch on the same network, batch, optimizer and data, in the same run.
#   bazel run //bench:train_throughput -- [--batch_size=50] [--threads=2]
#                                         [--steps=100] [--rounds=6]
#
# The speed of these machines drifts: for tens of seconds to minutes the host
# gives our two cores less (docs/benchmarks.md). Two programs timed one after
# the other can therefore see different machines. So both run side by side,
# each blocked on a pipe after its warm-up, and take turns: in each round
# Tessera trains `steps` steps, then each of PyTorch's eight configurations
# does (1 and 2 threads, glibc malloc default and with fixed thresholds,
# OpenBLAS's idle threads spinning as by default or sleeping at once), so
# the reference is PyTorch at its best on this machine, found by trying in the
# same run. A round's ratio compares Tessera with that round's fastest PyTorch.
# Prints every round, each PyTorch configuration's median and wins, then
#   tessera_images_per_sec=<best> torch_best_images_per_sec=<median of the best configuration>
#   ratio=<median of the rounds' ratios> (rounds=N, range lo-hi; ...)
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
here="$(dirname "$0")"
tessera_bin="${TESSERA_BENCH_BIN:-bazel-bin/bench/train_throughput_tessera}"
[ -x "$tessera_bin" ] || tessera_bin="$here/train_throughput_tessera"

batch=50 threads=2 steps=100 rounds=6
for arg in "$@"; do
  case "$arg" in
    --batch_size=*) batch="${arg#*=}" ;;
    --threads=*) threads="${arg#*=}" ;;
    --steps=*) steps="${arg#*=}" ;;
    --rounds=*) rounds="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --batch_size= --threads= --steps= --rounds=)" >&2; exit 2 ;;
  esac
done
for v in batch threads steps rounds; do
  if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
    echo "--$v must be a positive integer, got '${!v}'" >&2
    exit 2
  fi
done

source bench/turns.sh  # start, expect, turn, median_range; cleanup on exit

# PyTorch's configurations, all tried in every round (docs/benchmarks.md):
# 1 and 2 threads, each with glibc malloc's default thresholds and with fixed
# ones (without them PyTorch's per-step buffers come from fresh pages every
# step), each with OpenBLAS's idle threads spinning for ~0.1 s after a product
# (OpenBLAS's default) and sleeping at once (OPENBLAS_THREAD_TIMEOUT=4, as
# Tessera's programs set for themselves, nn/blas_kernel.h); a timeout set in
# this script's environment is kept for both sides instead. A round's ratio is
# Tessera against the fastest configuration of that round.
source bench/reference_env.sh  # openblas_timeouts, reference_env
torch_names=() torch_desc=()
add_torch() {  # NAME THREADS MALLOC(default|tuned|jemalloc|tcmalloc) TIMEOUT(spin|sleep|user)
  reference_env "$3" "$4"
  start "$1" env "${reference_envs[@]}" /usr/bin/python3 bench/torch_reference.py --paced \
    --batch_size="$batch" --threads="$2" --steps="$steps"
  expect "$1" '^ready$'
  torch_names+=("$1")
  torch_desc+=("threads=$2 malloc=$3 openblas_timeout=$4")
}

echo "== starting Tessera ($threads threads) and PyTorch (1 and 2 threads, glibc malloc default and tuned"
echo "   with OpenBLAS timeout ${openblas_timeouts[*]}, ${other_mallocs[*]} with ${openblas_timeouts[-1]});" \
  "batch $batch, $steps steps per turn, $rounds rounds"
start tessera "$tessera_bin" --paced --batch_size="$batch" --threads="$threads" --steps="$steps"
expect tessera '^ready$'
for t in 1 2; do for m in default tuned; do for o in "${openblas_timeouts[@]}"; do
  add_torch "torch_t${t}_${m}_${o}" "$t" "$m" "$o"
done; done; done
# jemalloc and tcmalloc (bench/reference_env.sh) with OpenBLAS's idle threads
# asleep (or the user's timeout).
for t in 1 2; do for m in "${other_mallocs[@]}"; do
  add_torch "torch_t${t}_${m}" "$t" "$m" "${openblas_timeouts[-1]}"
done; done

ratios=()
declare -A wins figures
for ((r = 0; r < rounds; ++r)); do
  turn tessera
  t=$figure
  best=0 best_name=""
  for name in "${torch_names[@]}"; do
    turn "$name"
    figures[$name]+="$figure "
    if awk -v a="$figure" -v b="$best" 'BEGIN { exit !(a > b) }'; then
      best=$figure best_name=$name
    fi
  done
  wins[$best_name]=$(( ${wins[$best_name]:-0} + 1 ))
  ratios+=("$(awk -v t="$t" -v p="$best" 'BEGIN { printf "%.3f", t / p }')")
  echo "round $r: tessera $t, best PyTorch $best ($best_name), ratio ${ratios[-1]}"
done
exec {tessera_in}>&-  # end of input: it prints its summary and exits
expect tessera '^images_per_sec='
t_best=${line#images_per_sec=}
echo "PyTorch configurations (median images/s over the rounds, rounds won):"
p_best=0 p_best_desc=""
for i in "${!torch_names[@]}"; do
  name=${torch_names[$i]}
  fd_var="${name}_in"
  eval "exec ${!fd_var}>&-"
  read -r median _ _ <<< "$(median_range ${figures[$name]})"
  printf -v median '%.1f' "$median"
  echo "  ${torch_desc[$i]}: $median images/s, won ${wins[$name]:-0} of $rounds rounds"
  if awk -v a="$median" -v b="$p_best" 'BEGIN { exit !(a > b) }'; then
    p_best=$median p_best_desc=${torch_desc[$i]}
  fi
done
read -r r_median r_lo r_hi <<< "$(median_range "${ratios[@]}")"
summary=$(printf 'ratio=%.2f (rounds=%d, range %.2f-%.2f; each round against its fastest PyTorch)' \
  "$r_median" "${#ratios[@]}" "$r_lo" "$r_hi")
echo "best PyTorch configuration: $p_best_desc ($p_best images/s, median)"
echo "tessera_images_per_sec=$t_best torch_best_images_per_sec=$p_best"
echo "$summary"
