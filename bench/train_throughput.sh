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
# Tessera trains `steps` steps, then PyTorch does. A round's ratio compares two
# figures taken seconds apart. Prints every round, then
#   tessera_images_per_sec=<best> torch_images_per_sec=<best>
#   ratio=<median of the rounds' ratios> (rounds=N, range lo-hi)
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

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD with stdin and stdout on pipes; fds go to
# ${NAME}_in / ${NAME}_out.
open_fds=()  # the pipe ends this script holds; a child must not inherit them
start() {
  local name=$1; shift
  mkfifo "$tmp/$name.in" "$tmp/$name.out"
  (
    for fd in "${open_fds[@]}"; do exec {fd}>&-; done
    exec "$@"
  ) < "$tmp/$name.in" > "$tmp/$name.out" 2> "$tmp/$name.log" &
  pids+=($!)
  local in out
  exec {in}> "$tmp/$name.in"
  exec {out}< "$tmp/$name.out"
  open_fds+=("$in" "$out")
  printf -v "${name}_in" '%s' "$in"
  printf -v "${name}_out" '%s' "$out"
}

# expect NAME PATTERN: reads NAME's output until a line matches PATTERN (10
# minutes at most) and leaves it in $line; echoes every line read.
expect() {
  local fd_var="${1}_out"
  while true; do
    if ! IFS= read -r -t 600 line <&"${!fd_var}"; then
      echo "$1 stopped or hung waiting for '$2'; its log:" >&2
      cat "$tmp/$1.log" >&2
      exit 1
    fi
    echo "  $1: $line"
    [[ "$line" =~ $2 ]] && return 0
  done
}

echo "== starting both (batch $batch, $threads threads, $steps steps per turn, $rounds rounds)"
start tessera "$tessera_bin" --paced --batch_size="$batch" --threads="$threads" --steps="$steps"
expect tessera '^ready$'
start torch /usr/bin/python3 bench/torch_reference.py --paced --batch_size="$batch" \
  --threads="$threads" --steps="$steps"
expect torch '^ready$'

# turn NAME: lets NAME run its steps; leaves its images/s in $figure.
turn() {
  local fd_var="${1}_in"
  echo go >&"${!fd_var}"
  expect "$1" '^run '
  figure=$(sed -E 's/^run [0-9]+: ([0-9.]+) images.*/\1/' <<< "$line")
}

ratios=()
for ((r = 0; r < rounds; ++r)); do
  turn tessera
  t=$figure
  turn torch
  p=$figure
  ratios+=("$(awk -v t="$t" -v p="$p" 'BEGIN { printf "%.3f", t / p }')")
  echo "round $r: tessera $t torch $p ratio ${ratios[-1]}"
done
exec {tessera_in}>&- {torch_in}>&-  # end of input: each prints its summary and exits
expect tessera '^images_per_sec='
t_best=${line#images_per_sec=}
expect torch '^images_per_sec='
p_best=${line#images_per_sec=}
summary=$(printf '%s\n' "${ratios[@]}" | sort -g |
  awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "ratio=%.2f (rounds=%d, range %.2f-%.2f)", m, NR, v[1], v[NR] }')
echo "tessera_images_per_sec=$t_best torch_images_per_sec=$p_best"
echo "$summary"
