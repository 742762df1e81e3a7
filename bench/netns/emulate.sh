#!/usr/bin/env bash
# Runs a Tessera job on emulated hosts: every ps and every worker in a network
# namespace of its own, each joined to one bridge by a veth pair whose rate
# (and, where the kernel has sch_netem, delay) tc limits in both directions.
# Needs root. docs/scaling.md.
#
#   bench/netns/emulate.sh --ps=N --workers=M --config=TRAIN.pbtxt [options] [-- worker flags]
#   bench/netns/emulate.sh --cleanup [--prefix=P]
#
# Options:
#   --rate=RATE           every host's link, each direction (default 1gbit;
#                         NUMBER followed by kbit, mbit or gbit)
#   --delay=MS            one-way delay added on every host's link, each
#                         direction (default 0; needs the netem qdisc)
#   --host_rate=HOST=RATE one host's link instead (repeatable), e.g. w1=100mbit
#   --host_delay=HOST=MS  one host's delay instead (repeatable; netem)
#   --host_cpu=HOST=CORES one host's CPU quota in cores (repeatable; cpu
#                         cgroup), e.g. w1=0.25. Hosts: ps0, ps1, ..., w0, w1, ...
#   --prefix=P            name of everything made (default tsn): namespaces
#                         P-sw, P-ps0, P-w0, ...; cgroups /sys/fs/cgroup/cpu/P-*
#   --subnet=A.B.C        the private /24 inside the namespaces (default 10.77.0):
#                         ps i at A.B.C.(1+i), worker j at A.B.C.(101+j),
#                         the bridge (switch namespace) at A.B.C.254
#   --port=PORT           every task's port (default 2222)
#   --run_dir=DIR         logs, cluster.json, security/, status.jsonl
#                         (default runs/netns-<UTC date-time>)
#   --insecure            no TLS and no job token (the daemons get --insecure
#                         and say so in their logs and status); default: the
#                         job's CA, certificate and token from
#                         scripts/tessera_security.sh, as run_local.sh does
#   --sample_every=SECS   every SECS seconds append each task's CPU seconds so
#                         far (user + system, /proc) to RUN_DIR/cpu.txt
#                         ("UNIX_TIME ps:0=S worker:0=S ... oncpu:ps:0=S
#                         runq:ps:0=S ... machine=S" lines; oncpu, runq: the
#                         seconds the task's threads ran and waited for a
#                         core, /proc/PID/task/*/schedstat; machine: all
#                         cores' busy seconds, every program) and each
#                         host's link byte counters to RUN_DIR/net.txt
#                         ("UNIX_TIME ps0=SENT:RECEIVED w0=..."; bytes on
#                         the wire, headers included); default 0 = never
#   --status_every=SECS   append `tessera_ctl status --json` (from the switch
#                         namespace) to RUN_DIR/status.jsonl every SECS
#                         seconds ("UNIX_TIME JSON" lines; default 0 = never).
#                         Status calls cross the shaped links, so on a busy
#                         link they are slow: prefer --sample_every
#   --train_seconds=SECS  once every worker has logged a training step, let
#                         the job train SECS seconds, then write RUN_DIR/
#                         status_end.json (the ps tasks' tessera_ctl status
#                         --json) and end
#                         the job: SIGTERM to the workers (they stop after
#                         their current step and exit 0), then to the ps tasks
#   --timeout=SECS        stop the job when it runs longer (default 1800)
#   --link_check          before the job, measure TCP goodput and round-trip
#                         time from w0 to ps0 (bench/netns/link_check.py);
#                         printed and written to RUN_DIR/link.txt
#   --cleanup             end every process in, and delete every namespace and
#                         cgroup of, the prefix; then exit
#
# Refuses to start when the prefix has leftovers (namespaces, processes in
# them, cgroups) from an earlier run: run with --cleanup first. Removes
# everything it made when the job ends, fails, or on Ctrl-C / SIGTERM /
# SIGHUP: the workers get SIGTERM first (the chief may checkpoint), then the
# ps tasks; whatever runs 5 s later gets SIGKILL.
# Exit status: 0 when every task exited 0; 1 when a task failed, the timeout
# struck or cleanup left something; 2 on a usage or setup error before any
# task started; 128+N after signal N.
#
# Environment: TESSERA_BIN (default bazel-bin under the repository) holds
# ps/tessera_ps, worker/tessera_worker and tools/tessera_ctl;
# TESSERA_PS_GRACE seconds the ps tasks get to exit after the last worker (30).
# shellcheck disable=SC2317  # trap handlers
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT ME=emulate.sh
# shellcheck source=bench/netns/netns_lib.sh
source "$ROOT/bench/netns/netns_lib.sh"

usage() {
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}
die() { echo "$ME: $1" >&2; exit 2; }

num_ps="" num_workers="" config="" rate=1gbit delay=0 prefix=tsn subnet=10.77.0 port=2222
run_dir="" insecure=0 sample_every=0 status_every=0 timeout=1800 cleanup_only=0 link_check=0 train_seconds=0
declare -A host_rate=() host_delay=() host_cpu=()
worker_flags=()
while [ $# -gt 0 ]; do
  arg="$1"
  shift
  case "$arg" in
    --ps=*) num_ps="${arg#*=}" ;;
    --workers=*) num_workers="${arg#*=}" ;;
    --config=*) config="${arg#*=}" ;;
    --rate=*) rate="${arg#*=}" ;;
    --delay=*) delay="${arg#*=}" ;;
    --host_rate=*|--host_delay=*|--host_cpu=*)
      kv="${arg#*=}"
      [[ "$kv" =~ ^(ps|w)[0-9]+=.+$ ]] || die "$arg: want HOST=VALUE with HOST ps<i> or w<j>, e.g. ${arg%%=*}=w1=..."
      case "$arg" in
        --host_rate=*) host_rate[${kv%%=*}]="${kv#*=}" ;;
        --host_delay=*) host_delay[${kv%%=*}]="${kv#*=}" ;;
        --host_cpu=*) host_cpu[${kv%%=*}]="${kv#*=}" ;;
      esac ;;
    --prefix=*) prefix="${arg#*=}" ;;
    --subnet=*) subnet="${arg#*=}" ;;
    --port=*) port="${arg#*=}" ;;
    --run_dir=*) run_dir="${arg#*=}" ;;
    --insecure) insecure=1 ;;
    --sample_every=*) sample_every="${arg#*=}" ;;
    --status_every=*) status_every="${arg#*=}" ;;
    --timeout=*) timeout="${arg#*=}" ;;
    --train_seconds=*) train_seconds="${arg#*=}" ;;
    --cleanup) cleanup_only=1 ;;
    --link_check) link_check=1 ;;
    -h|--help) usage ;;
    --) worker_flags=("$@"); break ;;
    *) die "unknown argument '$arg' (--help lists the options)" ;;
  esac
done

netns_check_prefix "$prefix" || exit 2
NETNS_PREFIX="$prefix"
if [ "$cleanup_only" = 1 ]; then
  [ "$(id -u)" -eq 0 ] || die "--cleanup needs root"
  left="$(netns_leftovers)"
  [ -n "$left" ] || { echo "$ME: nothing of prefix '$prefix' to clean up"; exit 0; }
  echo "$left" | sed "s/^/$ME: removing /"
  netns_cleanup || exit 1
  echo "$ME: prefix '$prefix' is clean"
  exit 0
fi

[[ "$num_ps" =~ ^[0-9]+$ ]] && [ "$num_ps" -ge 1 ] && [ "$num_ps" -le 100 ] ||
  die "--ps='$num_ps': want 1 to 100 parameter servers"
[[ "$num_workers" =~ ^[0-9]+$ ]] && [ "$num_workers" -ge 1 ] && [ "$num_workers" -le 150 ] ||
  die "--workers='$num_workers': want 1 to 150 workers"
[ -n "$config" ] || die "--config=TRAIN.pbtxt is required"
[ -r "$config" ] || die "--config=$config: cannot read it"
config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
netns_rate_bits "$rate" > /dev/null || exit 2
netns_check_delay "$delay" || exit 2
netns_check_subnet "$subnet" || exit 2
NETNS_SUBNET="$subnet"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port='$port': want 1-65535"
[[ "$sample_every" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--sample_every='$sample_every': want seconds"
[[ "$status_every" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--status_every='$status_every': want seconds"
[[ "$timeout" =~ ^[0-9]+$ ]] && [ "$timeout" -gt 0 ] || die "--timeout='$timeout': want whole seconds > 0"
[[ "$train_seconds" =~ ^[0-9]+$ ]] || die "--train_seconds='$train_seconds': want whole seconds"
ps_grace="${TESSERA_PS_GRACE:-30}"
[[ "$ps_grace" =~ ^[0-9]+$ ]] || die "TESSERA_PS_GRACE=$ps_grace: want whole seconds"

hosts=()
for ((i = 0; i < num_ps; i++)); do hosts+=("ps$i"); done
for ((j = 0; j < num_workers; j++)); do hosts+=("w$j"); done
known=" ${hosts[*]} "
for h in "${!host_rate[@]}"; do
  [[ "$known" == *" $h "* ]] || die "--host_rate: no host $h in this job (hosts: ${hosts[*]})"
  netns_rate_bits "${host_rate[$h]}" > /dev/null || exit 2
done
for h in "${!host_delay[@]}"; do
  [[ "$known" == *" $h "* ]] || die "--host_delay: no host $h in this job (hosts: ${hosts[*]})"
  netns_check_delay "${host_delay[$h]}" || exit 2
done
for h in "${!host_cpu[@]}"; do
  [[ "$known" == *" $h "* ]] || die "--host_cpu: no host $h in this job (hosts: ${hosts[*]})"
  [[ "${host_cpu[$h]}" =~ ^[0-9]*\.?[0-9]+$ ]] &&
    [ "$(awk -v c="${host_cpu[$h]}" 'BEGIN { print (c > 0) }')" = 1 ] ||
    die "--host_cpu=$h=${host_cpu[$h]}: want cores > 0 (e.g. 0.25)"
done

bin="${TESSERA_BIN:-$ROOT/bazel-bin}"
ps_bin="$bin/ps/tessera_ps" worker_bin="$bin/worker/tessera_worker" ctl_bin="$bin/tools/tessera_ctl"
for b in "$ps_bin" "$worker_bin" "$ctl_bin"; do
  [ -x "$b" ] || die "missing $b: bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl"
done

netns_require || exit 2
left="$(netns_leftovers)"
if [ -n "$left" ]; then
  echo "$ME: prefix '$prefix' has leftovers of an earlier run:" >&2
  echo "$left" | sed 's/^/  /' >&2
  die "remove them with: $0 --cleanup --prefix=$prefix (or pick another --prefix)"
fi
if [ "$(awk -v d="$delay" 'BEGIN { print (d > 0) }')" = 1 ] || [ ${#host_delay[@]} -gt 0 ]; then
  [ "$NETNS_HAVE_NETEM" = 1 ] ||
    die "--delay/--host_delay need the netem qdisc (sch_netem), which this kernel lacks; use --host_rate or --host_cpu for a straggler"
fi

[ -n "$run_dir" ] || run_dir="$ROOT/runs/netns-$(date -u +%Y%m%d-%H%M%S)"
[ -e "$run_dir" ] && [ -n "$(ls -A "$run_dir" 2> /dev/null)" ] && die "--run_dir=$run_dir exists and is not empty"
mkdir -p "$run_dir" || die "cannot create $run_dir"
run_dir="$(cd "$run_dir" && pwd)"
NETNS_STATE_DIR="$run_dir"

# From here on everything made is removed on the way out.
finish() {  # finish CODE: stop what runs (workers first), remove everything, exit
  local code="$1" w=() p=() i
  trap - EXIT
  trap '' INT TERM HUP PIPE
  for i in "${!task_pids[@]}"; do
    if [ "${task_jobs[$i]}" = worker ]; then w+=("${task_pids[$i]}"); else p+=("${task_pids[$i]}"); fi
  done
  netns_stop_pids 10 "${w[@]}"
  netns_stop_pids 5 "${p[@]}"
  netns_cleanup || code=1
  trap - INT TERM HUP
  exit "$code"
}
task_pids=() task_jobs=() task_names=()
on_signal() {  # on_signal NAME CODE
  # Output may go to a pipe whose reader is gone (Ctrl-C in `emulate.sh | tail`):
  # a write must not kill the cleanup.
  trap '' PIPE
  echo "$ME: SIG$1: stopping the job and removing its namespaces" >&2
  finish "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP
trap 'on_signal PIPE 141' PIPE
trap 'finish 1' EXIT

netns_switch_create || { echo "$ME: cannot create the switch namespace" >&2; finish 2; }
addresses=()
for h in "${hosts[@]}"; do
  if [[ "$h" == ps* ]]; then octet=$((1 + ${h#ps})); else octet=$((101 + ${h#w})); fi
  netns_host_add "$h" "$octet" "${host_rate[$h]:-$rate}" "${host_delay[$h]:-$delay}" "${host_cpu[$h]:-0}" ||
    finish 2
  addresses+=("$subnet.$octet:$port")
done
json_list() { local out="" a; for a in "$@"; do out+="${out:+, }\"$a\""; done; echo "[$out]"; }
cluster="$run_dir/cluster.json"
echo "{\"cluster\": {\"ps\": $(json_list "${addresses[@]:0:num_ps}"), \"worker\": $(json_list "${addresses[@]:num_ps}")}}" \
  > "$cluster"

if [ "$link_check" = 1 ]; then
  netns_start ps0 "$run_dir/link_check_server.log" /usr/bin/python3 "$ROOT/bench/netns/link_check.py" \
    serve $((port + 1))
  server_pid="$NETNS_LAST_PID"
  out="$(netns_exec w0 /usr/bin/python3 "$ROOT/bench/netns/link_check.py" measure "$subnet.1" \
         $((port + 1)) --seconds=3 2>&1)" ||
    { echo "$ME: link check failed: $out" >&2; finish 2; }
  netns_stop_pids 2 "$server_pid"
  echo "link w0->ps0: $out" | tee "$run_dir/link.txt"
fi

security_flags=()
if [ "$insecure" = 1 ]; then
  security_flags=(--insecure)
  ctl_security=()
  echo "$ME: --insecure: no TLS and no job token"
else
  out="$(TESSERA_CTL_BIN="$ctl_bin" "$ROOT/scripts/tessera_security.sh" "$run_dir/security" "$cluster" 2>&1)" ||
    { echo "$ME: cannot make the job's certificates and token: $out" >&2; finish 2; }
  security_flags=(--security_dir="$run_dir/security")
  ctl_security=(--security_dir="$run_dir/security")
fi

{
  echo "$ME: $num_ps ps + $num_workers workers, prefix $prefix, subnet $subnet.0/24"
  for h in "${hosts[@]}"; do
    line="  $h ${prefix}-$h link ${host_rate[$h]:-$rate} each way, delay ${host_delay[$h]:-$delay} ms"
    [ -n "${host_cpu[$h]:-}" ] && line+=", CPU quota ${host_cpu[$h]} cores"
    echo "$line"
  done
} | tee "$run_dir/hosts.txt"

start_task() {  # start_task JOB INDEX HOST BINARY ARGS...
  local job="$1" index="$2" host="$3" log="$run_dir/${1}_${2}.log"
  shift 3
  netns_start "$host" "$log" "$@"
  task_pids+=("$NETNS_LAST_PID") task_jobs+=("$job") task_names+=("$job:$index")
}
# The hosts are emulated, the file system is not: a ps's local socket (named
# by task and port, docs/security.md) would be the same file for another job
# emulated at once, and no worker here is on the ps's host. TCP only.
for ((i = 0; i < num_ps; i++)); do
  start_task ps "$i" "ps$i" "$ps_bin" --cluster="$cluster" --task="$i" --local_socket_dir=none \
    "${security_flags[@]}"
done
for ((j = 0; j < num_workers; j++)); do
  start_task worker "$j" "w$j" "$worker_bin" --cluster="$cluster" --task="$j" --config="$config" \
    "${security_flags[@]}" "${worker_flags[@]}"
done
echo "$ME: logs in $run_dir"
echo "$ME: watch with: ip netns exec ${prefix}-sw $ctl_bin status --cluster=$cluster ${ctl_security[*]}"

any_worker_running() {
  local i
  for i in "${!task_pids[@]}"; do
    [ "${task_jobs[$i]}" = worker ] && netns_pid_alive "${task_pids[$i]}" && return 0
  done
  return 1
}
# cpu_sample: "ps:0=S worker:0=S ..." (user + system seconds so far) for the
# tasks still running, read from /proc in one process.
clk_tck="$(getconf CLK_TCK)"
cpu_sample() {
  local i args=()
  for i in "${!task_pids[@]}"; do args+=("${task_names[$i]}" "/proc/${task_pids[$i]}/stat"); done
  awk -v hz="$clk_tck" 'BEGIN {
    for (i = 1; i < ARGC; i += 2) {
      if ((getline line < ARGV[i + 1]) > 0) {
        sub(/^.*\) /, "", line)  # after "PID (COMM) ": state is field 1, utime 12, stime 13
        split(line, f, " ")
        if (f[1] != "Z") printf "%s=%.2f ", ARGV[i], (f[12] + f[13]) / hz
      }
      close(ARGV[i + 1])
    }
  }' "${args[@]}"
}
# sched_sample: "oncpu:ps:0=S runq:ps:0=S ..." for the tasks still running:
# the seconds their threads ran and the seconds they waited, runnable, for a
# core (summed over each task's threads, /proc/PID/task/*/schedstat), so that
# the share of a core a runnable thread of the job got can be told.
sched_sample() {
  local i files=() names=()
  for i in "${!task_pids[@]}"; do
    files+=(/proc/"${task_pids[$i]}"/task/*/schedstat)
    names+=("${task_pids[$i]}=${task_names[$i]}")
  done
  # A thread or task that ended since the glob is skipped (grep -s).
  grep -sH . "${files[@]}" |
    awk -v names="${names[*]}" 'BEGIN {
      n = split(names, m, " ")
      for (i = 1; i <= n; i++) { split(m[i], kv, "="); name[kv[1]] = kv[2] }
    }
    {  # /proc/PID/task/TID/schedstat:RUN_NS WAIT_NS SLICES
      split($1, p, "/"); split($0, f, ":"); split(f[2], v, " ")
      run[p[3]] += v[1]; wait[p[3]] += v[2]
    }
    END {
      for (pid in run) if (pid in name)
        printf "oncpu:%s=%.3f runq:%s=%.3f ", name[pid], run[pid] / 1e9, name[pid], wait[pid] / 1e9
    }'
}
# machine_busy: "machine=S", the seconds every core of the machine spent
# busy so far (user, nice, system, irq, softirq, steal: /proc/stat), so that
# what other programs took can be told from what the tasks took.
machine_busy() {
  awk -v hz="$clk_tck" '/^cpu / { printf "machine=%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}
# due NAME PERIOD: true (and schedules the next) when NAME's next sample is due.
declare -A next_due=()
due() {
  [ "$2" != 0 ] || return 1
  local now
  now="$(date +%s.%N)"
  [ "$(awk -v n="$now" -v t="${next_due[$1]:-0}" 'BEGIN { print (n >= t) }')" = 1 ] || return 1
  next_due[$1]="$(awk -v n="$now" -v s="$2" 'BEGIN { printf "%.3f", n + s }')"
}
# Each host's bytes sent and received: the counters of its port on the
# bridge, read in the switch namespace (the port receives what the host sends).
net_sample() {
  netns_exec sw sh -c 'cd /sys/class/net && for i in *; do
    [ "$i" = lo ] || [ "$i" = br0 ] ||
      echo "$i=$(cat "$i/statistics/rx_bytes"):$(cat "$i/statistics/tx_bytes")"; done' | tr '\n' ' '
}
status_json() {  # status_json [TIMEOUT]: every task's status, one line
  netns_exec sw "$ctl_bin" status --cluster="$cluster" --json --timeout="${1:-5}" "${ctl_security[@]}" \
    2> /dev/null | tr -d '\n'
}
every_worker_training() {  # every worker has logged a training step
  local j
  for ((j = 0; j < num_workers; j++)); do
    grep -q '\] global step ' "$run_dir/worker_$j.log" 2> /dev/null || return 1
  done
}
started=$SECONDS
training_since=""
stop_sent=0
while any_worker_running; do
  if [ $((SECONDS - started)) -ge "$timeout" ]; then
    echo "$ME: the job ran longer than --timeout=$timeout s: stopping it" >&2
    finish 1
  fi
  if due sample "$sample_every"; then
    now="$(date +%s.%N)"
    echo "$now $(cpu_sample)$(sched_sample)$(machine_busy)" >> "$run_dir/cpu.txt"
    echo "$now $(net_sample)" >> "$run_dir/net.txt"
  fi
  if due status "$status_every"; then
    now="$(date +%s.%N)"
    status="$(status_json)"
    [ -n "$status" ] && echo "$now $status" >> "$run_dir/status.jsonl"
  fi
  if [ -z "$training_since" ] && every_worker_training; then
    training_since=$SECONDS
    echo "$ME: every worker is training"
  fi
  if [ "$train_seconds" != 0 ] && [ -n "$training_since" ] && [ "$stop_sent" = 0 ] &&
     [ $((SECONDS - training_since)) -ge "$train_seconds" ]; then
    echo "$ME: trained --train_seconds=$train_seconds s: stopping the workers (SIGTERM)"
    # The ps tasks' counters; tried up to five times, as on a saturated link
    # (or a busy machine) a status call can time out.
    for _ in 1 2 3 4 5; do
      status="$(netns_exec sw "$ctl_bin" status --cluster="$cluster" --job=ps --json --timeout=10 \
                "${ctl_security[@]}" 2> /dev/null | tr -d '\n')"
      [[ "$status" == *'"all_reachable":true'* ]] && break
    done
    echo "$status" > "$run_dir/status_end.json"
    for i in "${!task_pids[@]}"; do
      [ "${task_jobs[$i]}" = worker ] && kill -TERM "${task_pids[$i]}" 2> /dev/null
    done
    stop_sent=1
  fi
  sleep 0.2
done
if [ "$sample_every" != 0 ]; then
  # A last sample once the workers are done: the counters cover the whole job
  # even when it was shorter than a sampling period.
  now="$(date +%s.%N)"
  echo "$now $(cpu_sample)$(sched_sample)$(machine_busy)" >> "$run_dir/cpu.txt"
  echo "$now $(net_sample)" >> "$run_dir/net.txt"
fi
if [ "$stop_sent" = 1 ]; then
  # Stopped workers leave the ps tasks running (the chief shuts them down only
  # at max_steps).
  for i in "${!task_pids[@]}"; do
    [ "${task_jobs[$i]}" = ps ] && kill -TERM "${task_pids[$i]}" 2> /dev/null
  done
fi
deadline=$((SECONDS + ps_grace))
for i in "${!task_pids[@]}"; do
  [ "${task_jobs[$i]}" = ps ] || continue
  while netns_pid_alive "${task_pids[$i]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
done

# Exit statuses: every worker has exited; ps tasks still running get stopped.
failed=0
echo "$ME: exit status of each task:"
for i in "${!task_pids[@]}"; do
  pid="${task_pids[$i]}"
  note=""
  if netns_pid_alive "$pid"; then
    note=", still running ${ps_grace} s after the last worker: stopped"
    netns_stop_pids 5 "$pid"
    rc=1
  else
    wait "$pid" 2> /dev/null
    rc=$?
  fi
  [ "$rc" -eq 0 ] && [ -z "$note" ] || failed=1
  printf '  %-10s %-20s exit %s%s\n' "${task_names[$i]}" "${addresses[$i]}" "$rc" "$note"
done
grep -hE '\] (final global step|test at global step)' "$run_dir/worker_0.log" 2> /dev/null | sed 's/^/  chief: /'
finish "$failed"
