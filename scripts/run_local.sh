#!/usr/bin/env bash
# Runs every task of a cluster file on this host and waits for the job to end.
#
#   scripts/run_local.sh CLUSTER TRAIN.pbtxt [worker flags...]
#
# Starts each ps task (tessera_ps --cluster=CLUSTER --task=N) and each worker
# task (tessera_worker --cluster=CLUSTER --task=N --config=TRAIN.pbtxt [worker
# flags]) in the background, each logging to <run dir>/<job>_<N>.log. Waits for
# the workers; then gives the ps tasks TESSERA_PS_GRACE seconds to exit (the
# chief shuts them down) and stops any still running. Prints each task's exit
# status. Exits 0 when every task exited 0, 1 when any did not (or was
# stopped), 2 on a usage or setup error before anything started, and 128+N
# after signal N (Ctrl-C, SIGTERM, SIGHUP). No task process outlives the
# script. On Ctrl-C (or SIGTERM, SIGHUP) the workers get SIGTERM first and up
# to TESSERA_STOP_GRACE seconds to finish their step (the chief writes a final
# checkpoint and evaluates); then the ps tasks get SIGTERM; whatever still runs
# 5 s after its SIGTERM gets SIGKILL. A second Ctrl-C kills everything at once.
#
# Every task must be on this host: localhost, ::1, 127.x.x.x, this host's
# name, or one of its addresses. Evaluator tasks are not started (refused).
#
# Security (docs/security.md): the script makes the job's CA, certificate and
# token in <run dir>/security (scripts/tessera_security.sh, mode 0600) and
# gives every task --security_dir=<run dir>/security: mutual TLS and the job
# token on every call, even on loopback. The tessera_ctl command it prints
# carries the same flag.
#
# Environment (all optional):
#   RUN_DIR             log directory (default: runs/<UTC date-time>/ under the repository)
#   TESSERA_PS_BIN      ps binary (default: bazel-bin/ps/tessera_ps)
#   TESSERA_WORKER_BIN  worker binary (default: bazel-bin/worker/tessera_worker)
#   TESSERA_CTL_BIN     tessera_ctl binary (default: bazel-bin/tools/tessera_ctl)
#   TESSERA_PS_GRACE    seconds the ps tasks get to exit after the last worker (default: 30)
#   TESSERA_STOP_GRACE  seconds the workers get after Ctrl-C before the ps tasks stop (default: 30)
#   TESSERA_NO_BUILD=1  do not run `bazel build` for the default binaries
#   TESSERA_SECURITY_DIR  use this security directory (made there when it does
#                       not exist yet; docs/security.md) instead of <run dir>/security
#   TESSERA_SECURITY=off  no TLS and no token (the daemons allow that only when
#                       every address of CLUSTER is loopback)
#   TESSERA_LOCAL_SOCKET_DIR  every task's --local_socket_dir (default: the
#                       daemons' own, /tmp/tessera-<uid>); none: workers call
#                       the ps tasks over TCP (docs/security.md, Local sockets)
# When any binary is left at its default, the script first runs
#   bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl
# in the repository (a no-op when they are up to date).
# shellcheck disable=SC2317  # the trap handlers are reached through trap only
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly ME="run_local.sh"
readonly TARGETS=(//ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl)

usage() {
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

die() {  # die CODE MESSAGE: before any task started
  echo "$ME: $2" >&2
  exit "$1"
}

[ $# -ge 2 ] || usage
case "$1" in -h|--help) usage ;; esac
cluster="$1"
config="$2"
shift 2
worker_flags=("$@")
[ -r "$cluster" ] || die 2 "cannot read cluster file $cluster"
[ -r "$config" ] || die 2 "cannot read training config $config"
cluster="$(cd "$(dirname "$cluster")" && pwd)/$(basename "$cluster")"
config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"

ps_bin="${TESSERA_PS_BIN:-$ROOT/bazel-bin/ps/tessera_ps}"
worker_bin="${TESSERA_WORKER_BIN:-$ROOT/bazel-bin/worker/tessera_worker}"
ctl_bin="${TESSERA_CTL_BIN:-$ROOT/bazel-bin/tools/tessera_ctl}"
grace="${TESSERA_PS_GRACE:-30}"
[[ "$grace" =~ ^[0-9]+$ ]] || die 2 "TESSERA_PS_GRACE=$grace: want whole seconds"
stop_grace="${TESSERA_STOP_GRACE:-30}"
[[ "$stop_grace" =~ ^[0-9]+$ ]] || die 2 "TESSERA_STOP_GRACE=$stop_grace: want whole seconds"

if [ -z "${TESSERA_PS_BIN:-}" ] || [ -z "${TESSERA_WORKER_BIN:-}" ] ||
   [ -z "${TESSERA_CTL_BIN:-}" ]; then
  if [ "${TESSERA_NO_BUILD:-}" != 1 ]; then
    echo "$ME: bazel build ${TARGETS[*]}"
    (cd "$ROOT" && bazel build "${TARGETS[@]}") >&2 ||
      die 2 "build failed; fix it, or run: bazel build ${TARGETS[*]}"
  fi
fi
for bin in "$ps_bin" "$worker_bin" "$ctl_bin"; do
  [ -x "$bin" ] || die 2 "$bin is missing or not executable; run: bazel build ${TARGETS[*]}"
done

# The tasks, as "job index address" lines; tessera_ctl validates the file.
tasks_text="$("$ctl_bin" tasks --cluster="$cluster" 2>&1)" || die 2 "$tasks_text"

is_local_host() {
  local host="$1" name
  case "$host" in localhost|::1|127.*) return 0 ;; esac
  for name in "$(hostname)" "$(hostname -f 2>/dev/null)" "$(hostname -s 2>/dev/null)" \
              $(hostname -I 2>/dev/null); do
    [ -n "$name" ] && [ "$host" = "$name" ] && return 0
  done
  return 1
}

jobs_=() indexes=() addresses=()
while read -r job index address; do
  [ -n "$job" ] || continue
  host="${address%:*}"
  host="${host#[}"
  host="${host%]}"
  [ "$job" = evaluator ] &&
    die 2 "task evaluator:$index: run_local.sh starts ps and worker tasks only; remove the evaluator job from $cluster"
  is_local_host "$host" ||
    die 2 "task $job:$index is on host \"$host\", not this host ($(hostname)); run_local.sh starts only tasks on localhost, 127.0.0.1, ::1 or $(hostname)"
  jobs_+=("$job") indexes+=("$index") addresses+=("$address")
done <<< "$tasks_text"

run_dir="${RUN_DIR:-$ROOT/runs/$(date -u +%Y%m%d-%H%M%S)}"
if [ -z "${RUN_DIR:-}" ] && [ -e "$run_dir" ]; then run_dir="$run_dir-$$"; fi
mkdir -p "$run_dir" || die 2 "cannot create run directory $run_dir"

security_flags=()
case "${TESSERA_SECURITY:-on}" in
  on)
    security_dir="${TESSERA_SECURITY_DIR:-$run_dir/security}"
    out="$(TESSERA_CTL_BIN="$ctl_bin" "$ROOT/scripts/tessera_security.sh" "$security_dir" "$cluster" 2>&1)" ||
      die 2 "cannot make the job's certificates and token: $out"
    security_flags=(--security_dir="$security_dir")
    ;;
  off) ;;
  *) die 2 "TESSERA_SECURITY=${TESSERA_SECURITY}: want on or off" ;;
esac

# Per task i: pids[i] ("" before start), status[i] (exit code once reaped),
# note[i] (how it ended, when the script stopped it).
pids=() status=() note=()

# True while task I has not exited. Asks bash's job table rather than kill -0,
# so a PID the kernel has reused for another process is never mistaken for it;
# and the process state, because inside a signal handler that interrupted
# `wait` bash does not update its job table (an exited task stays listed, as
# a zombie, until the handler returns).
# Whether task I runs: our child (its parent is this script: a reused PID is
# not), not a zombie. No command substitution here: bash 5.2 garbles a trap
# that runs while it parses one ("unexpected EOF while looking for matching
# `)'"), and a second Ctrl-C arrives while stop_tasks polls this.
is_running() {
  [ -n "${pids[$1]}" ] && [ -z "${status[$1]}" ] || return 1
  local line rest state ppid
  { read -r line < "/proc/${pids[$1]}/stat"; } 2>/dev/null || return 1  # "PID (COMM) STATE PPID ..."
  rest="${line##*) }"
  state="${rest%% *}"
  rest="${rest#* }"
  ppid="${rest%% *}"
  [ "$state" != Z ] && [ "$ppid" = "$$" ]
}

reap() {  # reap I: records the exit status of task I (it must have exited or be exiting)
  local rc
  wait "${pids[$1]}" 2>/dev/null
  rc=$?
  status[$1]=$rc
}

hurry=0  # set by a second signal: SIGKILL at once

# stop_tasks WHY GRACE I...: SIGTERM to the listed tasks still running, SIGKILL
# to those still running GRACE seconds later (at once after a second signal),
# then reap them all.
stop_tasks() {
  local why="$1" wait_secs="$2" i deadline
  shift 2
  for i in "$@"; do
    if is_running "$i"; then
      note[i]="stopped by $ME ($why)"
      kill -TERM "${pids[$i]}" 2>/dev/null
    fi
  done
  deadline=$((SECONDS + wait_secs))
  for i in "$@"; do
    while is_running "$i" && [ "$SECONDS" -lt "$deadline" ] && [ "$hurry" = 0 ]; do
      sleep 0.1
    done
    if is_running "$i"; then
      if [ "$hurry" = 0 ]; then
        note[i]="killed by $ME ($why; still running ${wait_secs} s after SIGTERM)"
      else
        note[i]="killed by $ME ($why; a second signal)"
      fi
      kill -KILL "${pids[$i]}" 2>/dev/null
    fi
  done
  for i in "$@"; do
    if [ -n "${pids[$i]}" ] && [ -z "${status[$i]}" ]; then reap "$i"; fi
  done
}

describe() {  # describe RC: "exit 0", "exit 3", "killed by SIGTERM"
  if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then
    echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
  else
    echo "exit $1"
  fi
}

# Prints each task's exit status and returns 0 when every task exited 0.
report() {
  local i failed=0 line
  echo "$ME: exit status of each task (logs in $run_dir):"
  for i in "${!jobs_[@]}"; do
    [ -n "${pids[$i]}" ] || continue
    line="$(printf '  %-10s %-22s %s' "${jobs_[$i]}:${indexes[$i]}" "${addresses[$i]}" \
            "$(describe "${status[$i]}")")"
    [ -n "${note[$i]}" ] && line="$line, ${note[$i]}"
    if [ "${status[$i]}" -ne 0 ] || [ -n "${note[$i]}" ]; then
      failed=1
      line="$line  <- see ${jobs_[$i]}_${indexes[$i]}.log"
    fi
    echo "$line"
  done
  chief_summary
  return "$failed"
}

# Prints the chief's closing lines (final step, test results, the variables of a small model).
chief_summary() {
  local log="$run_dir/worker_0.log"
  [ -f "$log" ] || return 0
  local lines
  lines="$(grep -E '\] (final global step|test at global step|[^ ]+ \[[0-9, ]*\] = \[)' "$log" | tail -n 12)"
  [ -n "$lines" ] || return 0
  echo "$ME: the chief (worker:0) reported:"
  echo "$lines" | sed 's/^[IWE][0-9]* [0-9:.]* worker:0\] /  /'
}

on_second_signal() {
  hurry=1
  echo "$ME: second signal: killing every task now" >&2
}

on_signal() {
  local signal="$1" code="$2" i workers=() ps=()
  trap - EXIT
  trap on_second_signal INT TERM HUP
  for i in "${!jobs_[@]}"; do
    if [ "${jobs_[$i]}" = ps ]; then ps+=("$i"); else workers+=("$i"); fi
  done
  echo "$ME: got SIG$signal: stopping the workers (up to ${stop_grace} s: the chief" \
    "saves a final checkpoint), then the ps tasks; Ctrl-C again to kill at once" >&2
  stop_tasks "SIG$signal" "$stop_grace" "${workers[@]}"
  stop_tasks "SIG$signal" 5 "${ps[@]}"
  trap - INT TERM HUP
  report
  exit "$code"
}

on_exit() {
  # Safety net for an unexpected exit: never leave a task behind.
  stop_tasks "run_local.sh exiting" 5 "${!jobs_[@]}"
}

trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP
trap on_exit EXIT

start_task() {  # start_task I BINARY ARGS...
  local i="$1" log="$run_dir/${jobs_[$1]}_${indexes[$1]}.log"
  shift
  # In a session of its own: a terminal's Ctrl-C goes to this script only,
  # which then stops the workers before the ps tasks (see the top).
  setsid "$@" < /dev/null > "$log" 2>&1 &
  pids[i]=$!
  printf '  %-10s %-22s pid %-8s %s\n' "${jobs_[$i]}:${indexes[$i]}" "${addresses[$i]}" \
    "${pids[$i]}" "$log"
}

socket_flags=()
if [ -n "${TESSERA_LOCAL_SOCKET_DIR:-}" ]; then
  socket_flags=(--local_socket_dir="$TESSERA_LOCAL_SOCKET_DIR")
fi
for i in "${!jobs_[@]}"; do pids[i]="" status[i]="" note[i]=""; done
echo "$ME: starting ${#jobs_[@]} task(s) of $cluster"
for i in "${!jobs_[@]}"; do
  [ "${jobs_[$i]}" = ps ] && start_task "$i" "$ps_bin" --cluster="$cluster" --task="${indexes[$i]}" \
    "${security_flags[@]}" "${socket_flags[@]}"
done
for i in "${!jobs_[@]}"; do
  [ "${jobs_[$i]}" = worker ] && start_task "$i" "$worker_bin" --cluster="$cluster" \
    --task="${indexes[$i]}" --config="$config" "${security_flags[@]}" "${socket_flags[@]}" \
    "${worker_flags[@]}"
done
echo "$ME: logs in $run_dir"
echo "$ME: watch with: $ctl_bin status --cluster=$cluster ${security_flags[*]}"

for i in "${!jobs_[@]}"; do
  [ "${jobs_[$i]}" = worker ] && reap "$i"
done
echo "$ME: every worker has exited; giving the ps tasks up to ${grace} s to exit"
deadline=$((SECONDS + grace))
ps_indexes=()
for i in "${!jobs_[@]}"; do [ "${jobs_[$i]}" = ps ] && ps_indexes+=("$i"); done
for i in "${ps_indexes[@]}"; do
  while is_running "$i" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
done
stop_tasks "still running ${grace} s after the last worker" 5 "${ps_indexes[@]}"
trap - INT TERM HUP EXIT
report && exit 0
exit 1
