#!/usr/bin/env bash
# Writes the cluster file of a job array: each array element is one task and
# the batch system decides which node each element runs on, so the elements
# meet in a shared directory first.
#
#   scripts/tessera_array_cluster.sh JOB_DIR INDEX COUNT [make-cluster flags...]
#
# Element INDEX (0..COUNT-1) writes its host name to JOB_DIR/hosts/INDEX, waits
# until all COUNT elements have done so, then writes JOB_DIR/cluster.json with
#   tessera_ctl make-cluster --layout=listed --nodes=JOB_DIR/hosts.txt [flags]
# where hosts.txt lists the elements' hosts in index order, so task (rank) i is
# on element i's host, at port P + (how many earlier elements share its host).
# Every element computes the same file and renames it into place atomically.
# Prints the cluster file's path on stdout.
#
# JOB_DIR must be on a file system every node sees (the job's working
# directory). Every element of the array must run at the same time: a job
# array of ps and workers that the scheduler runs a few at a time never starts
# training, and this script then fails after TESSERA_ARRAY_WAIT seconds
# (default 600) naming the elements still missing.
#
# Environment (optional): TESSERA_CTL_BIN (default:
# $TESSERA_HOME/bazel-bin/tools/tessera_ctl), TESSERA_HOSTNAME (the name other
# nodes reach this one by; default: `hostname`), TESSERA_ARRAY_WAIT.
# shellcheck disable=SC2317
set -uo pipefail

readonly ME="tessera_array_cluster.sh"

die() {
  echo "$ME: $1" >&2
  exit 1
}

if [ $# -lt 3 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
job_dir="$1"
index="$2"
count="$3"
shift 3
home="${TESSERA_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
ctl_bin="${TESSERA_CTL_BIN:-$home/bazel-bin/tools/tessera_ctl}"
wait_s="${TESSERA_ARRAY_WAIT:-600}"
host="${TESSERA_HOSTNAME:-$(hostname)}"

if ! [[ "$count" =~ ^[0-9]+$ ]] || [ "$count" -lt 2 ]; then
  die "COUNT=$count: want the number of tasks (2 or more)"
fi
[[ "$index" =~ ^[0-9]+$ ]] || die "INDEX=$index: want the array index, a whole number"
[ "$index" -lt "$count" ] ||
  die "array index $index is out of range 0-$((count - 1)): number the array from 0 (#PBS -J 0-$((count - 1)), #PBS -t 0-$((count - 1)), #SBATCH --array=0-$((count - 1)))"
[[ "$wait_s" =~ ^[0-9]+$ ]] || die "TESSERA_ARRAY_WAIT=$wait_s: want whole seconds"
[ -x "$ctl_bin" ] || die "$ctl_bin is missing; run: bazel build //tools:tessera_ctl"
mkdir -p "$job_dir/hosts" || die "cannot create $job_dir/hosts"

if ! { echo "$host" > "$job_dir/hosts/$index.tmp.$$" &&
       mv -f "$job_dir/hosts/$index.tmp.$$" "$job_dir/hosts/$index"; }; then
  die "cannot write $job_dir/hosts/$index"
fi

deadline=$((SECONDS + wait_s))
next_report=$SECONDS
while true; do
  missing=()
  for ((i = 0; i < count; i++)); do
    [ -s "$job_dir/hosts/$i" ] || missing+=("$i")
  done
  [ ${#missing[@]} -eq 0 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "after ${wait_s} s, ${#missing[@]} of $count array elements have not started: ${missing[*]} (every element must run at once; are enough nodes free?)"
  fi
  if [ "$SECONDS" -ge "$next_report" ]; then
    echo "$ME: element $index on $host: waiting for elements ${missing[*]}" >&2
    next_report=$((SECONDS + 30))
  fi
  sleep 1
done

hosts="$job_dir/hosts.$index.txt"
for ((i = 0; i < count; i++)); do cat "$job_dir/hosts/$i"; done > "$hosts" || die "cannot write $hosts"
tmp="$job_dir/cluster.json.tmp.$index"
"$ctl_bin" make-cluster --layout=listed --nodes="$hosts" "$@" > "$tmp" || die "make-cluster failed (above)"
mv -f "$tmp" "$job_dir/cluster.json" || die "cannot write $job_dir/cluster.json"
rm -f "$hosts"
echo "$job_dir/cluster.json"
