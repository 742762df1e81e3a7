# Helpers of the benchmarks whose sides take turns (train_throughput.sh,
# resnet_throughput.sh): each side runs in its own process, blocked on a pipe
# after its warm-up, and runs one timed turn per line it reads (the --paced
# protocol of train_throughput_tessera and torch_reference.py). Source it
# after `set -euo pipefail`; it sets an EXIT trap that stops every process
# started here and removes its temporary folder.

turns_tmp=$(mktemp -d)
pids=()
turns_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$turns_tmp"
}
trap turns_cleanup EXIT

# start NAME CMD...: runs CMD with stdin and stdout on pipes; fds go to
# ${NAME}_in / ${NAME}_out, its pid to ${NAME}_pid.
open_fds=()  # the pipe ends this script holds; a child must not inherit them
start() {
  local name=$1; shift
  rm -f "$turns_tmp/$name.in" "$turns_tmp/$name.out"
  mkfifo "$turns_tmp/$name.in" "$turns_tmp/$name.out"
  (
    for fd in "${open_fds[@]}"; do exec {fd}>&-; done
    exec "$@"
  ) < "$turns_tmp/$name.in" > "$turns_tmp/$name.out" 2> "$turns_tmp/$name.log" &
  pids+=($!)
  printf -v "${name}_pid" '%s' "$!"
  local in out
  exec {in}> "$turns_tmp/$name.in"
  exec {out}< "$turns_tmp/$name.out"
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
      cat "$turns_tmp/$1.log" >&2
      exit 1
    fi
    echo "  $1: $line"
    [[ "$line" =~ $2 ]] && return 0
  done
}

# turn NAME: lets NAME run its steps; leaves its images/s in $figure.
turn() {
  local fd_var="${1}_in"
  echo go >&"${!fd_var}"
  expect "$1" '^run '
  figure=$(sed -E 's/^run [0-9]+: ([0-9.]+) images.*/\1/' <<< "$line")
}

# finish NAME: ends NAME's input, reads its summary (peak_rss_mb=, then
# images_per_sec=), leaves the peak in $peak_rss_mb and waits for it to exit.
finish() {
  local in_var="${1}_in" out_var="${1}_out" pid_var="${1}_pid"
  eval "exec ${!in_var}>&-"
  expect "$1" '^peak_rss_mb='
  peak_rss_mb=$(sed -E 's/^peak_rss_mb=([0-9.]+).*/\1/' <<< "$line")
  expect "$1" '^images_per_sec='
  eval "exec ${!out_var}<&-"
  wait "${!pid_var}" 2>/dev/null || true
}

# median_range X...: prints the median, the lowest and the highest of the X.
median_range() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%s %s %s", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}
