# Emulated hosts on one machine (sourced by bench/netns/emulate.sh and the
# tests; needs root, iproute2's `ip` and `tc`).
#
# Each host is a network namespace of its own, joined by a veth pair to one
# bridge in a switch namespace. Its link is shaped in both directions with tc:
# a tbf on the host's end limits what it sends, a tbf on the switch's end
# limits what it receives; a netem delay can be added on both ends when the
# kernel has sch_netem. Addresses are private to these namespaces (a /24 the
# caller picks, default 10.77.0.0/24); the bridge holds .254, from which the
# switch namespace can reach every host (for tessera_ctl).
#
# Everything made is named by the prefix NETNS_PREFIX (default "tsn"):
#   namespaces  PREFIX-sw (the bridge), PREFIX-<host> (e.g. tsn-ps0, tsn-w1)
#   cgroups     /sys/fs/cgroup/cpu/PREFIX-<host> (a host with a CPU quota)
# Nothing of the root namespace is touched: every veth pair is created inside
# the switch namespace with its peer moved straight into the host's, so
# deleting the namespaces deletes every link, bridge and qdisc made.
#
# Processes started with netns_start are remembered by PID (NETNS_PIDS and
# $NETNS_STATE_DIR/pids); netns_cleanup ends those, then any process still
# inside a namespace of the prefix (`ip netns pids`), then deletes the
# namespaces and cgroups. Callers set their own traps and call netns_cleanup
# from them (emulate.sh does, for INT, TERM, HUP and EXIT).

NETNS_PREFIX="${NETNS_PREFIX:-tsn}"
NETNS_SUBNET="${NETNS_SUBNET:-10.77.0}"
NETNS_STATE_DIR="${NETNS_STATE_DIR:-}"
NETNS_PIDS=()
NETNS_HAVE_NETEM=""
readonly NETNS_CGROUP_ROOT=/sys/fs/cgroup/cpu

netns_log() { echo "netns: $*" >&2; }

# netns_check_prefix PREFIX: a lowercase name of 1-8 letters and digits.
netns_check_prefix() {
  [[ "$1" =~ ^[a-z][a-z0-9]{0,7}$ ]] || {
    netns_log "prefix '$1': want 1-8 lowercase letters or digits, starting with a letter"
    return 2
  }
}

# netns_check_subnet A.B.C: the first three octets of a private /24.
netns_check_subnet() {
  local a b c
  IFS=. read -r a b c <<< "$1"
  if ! [[ "$1" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || [ "$b" -gt 255 ] || [ "$c" -gt 255 ] ||
     ! { [ "$a" = 10 ] || { [ "$a" = 172 ] && [ "$b" -ge 16 ] && [ "$b" -le 31 ]; } ||
         { [ "$a" = 192 ] && [ "$b" = 168 ]; }; }; then
    netns_log "subnet '$1': want the first three octets of a private /24 (10.x.y, 172.16-31.y, 192.168.y)"
    return 2
  fi
}

# netns_rate_bits RATE: prints RATE (e.g. 500mbit, 1gbit, 10gbit) in bit/s.
netns_rate_bits() {
  local n unit
  [[ "$1" =~ ^([0-9]+)(kbit|mbit|gbit)$ ]] || {
    netns_log "rate '$1': want a whole number with kbit, mbit or gbit (e.g. 1gbit, 100mbit)"
    return 2
  }
  n="${BASH_REMATCH[1]}"
  unit="${BASH_REMATCH[2]}"
  [ "$n" -gt 0 ] || { netns_log "rate '$1' must be above 0"; return 2; }
  case "$unit" in
    kbit) echo $((n * 1000)) ;;
    mbit) echo $((n * 1000000)) ;;
    gbit) echo $((n * 1000000000)) ;;
  esac
}

# netns_check_delay MS: a delay in whole or decimal milliseconds.
netns_check_delay() {
  [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
    netns_log "delay '$1': want milliseconds (e.g. 0, 2, 0.5)"
    return 2
  }
}

# netns_require: root, the commands, and a kernel with network namespaces,
# veth, bridges and tbf. Prints why not and returns 1 when something lacks.
netns_require() {
  local cmd
  if [ "$(id -u)" -ne 0 ]; then
    netns_log "needs root (network namespaces, veth, tc); run as root"
    return 1
  fi
  for cmd in ip tc; do
    command -v "$cmd" > /dev/null || { netns_log "'$cmd' (iproute2) is not installed"; return 1; }
  done
  local probe="${NETNS_PREFIX}-probe" out
  if ! out="$(ip netns add "$probe" 2>&1)"; then
    netns_log "cannot create a network namespace ($out)"
    return 1
  fi
  out="$( { ip -n "$probe" link add br0 type bridge &&
            ip -n "$probe" link add veth0 type veth peer name veth1 &&
            ip -n "$probe" link set veth0 up &&
            tc -n "$probe" qdisc add dev veth0 root tbf rate 1gbit burst 128kb latency 10ms; } 2>&1)"
  local rc=$?
  if [ $rc -eq 0 ] && tc -n "$probe" qdisc add dev veth1 root netem delay 1ms > /dev/null 2>&1; then
    NETNS_HAVE_NETEM=1
  else
    NETNS_HAVE_NETEM=0
  fi
  ip netns del "$probe" 2> /dev/null
  if [ $rc -ne 0 ]; then
    netns_log "this kernel lacks a bridge, veth or the tbf qdisc ($out)"
    return 1
  fi
}

# netns_namespaces: the namespaces of the prefix, one per line.
netns_namespaces() {
  ip netns list 2> /dev/null | awk '{print $1}' | grep -E "^${NETNS_PREFIX}-" || true
}

# netns_leftovers: prints what the prefix still holds (namespaces, processes
# in them, cgroups), one per line; nothing when clean.
netns_leftovers() {
  local ns pid dir
  for ns in $(netns_namespaces); do
    echo "namespace $ns"
    for pid in $(ip netns pids "$ns" 2> /dev/null); do
      echo "process $pid ($(cat "/proc/$pid/comm" 2> /dev/null || echo gone)) in $ns"
    done
  done
  for dir in "$NETNS_CGROUP_ROOT/${NETNS_PREFIX}"-*; do
    [ -d "$dir" ] && echo "cgroup $dir"
  done
  return 0
}

# netns_pid_alive PID: true while PID runs and is not a zombie.
netns_pid_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2> /dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

# netns_stop_pids GRACE PID...: SIGTERM, then SIGKILL to those still running
# GRACE seconds later; reaps the ones that are this shell's children.
netns_stop_pids() {
  local grace="$1" pid deadline
  shift
  [ $# -gt 0 ] || return 0
  for pid in "$@"; do netns_pid_alive "$pid" && kill -TERM "$pid" 2> /dev/null; done
  deadline=$((SECONDS + grace))
  for pid in "$@"; do
    while netns_pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if netns_pid_alive "$pid"; then
      netns_log "pid $pid still running ${grace} s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2> /dev/null
    fi
  done
  for pid in "$@"; do wait "$pid" 2> /dev/null || true; done
}

# netns_cleanup: ends the processes started here (by PID), then any process
# left in a namespace of the prefix, deletes the namespaces (their veths,
# bridge and qdiscs go with them) and the cgroups. Returns 1 and lists what
# is left when something could not be removed.
netns_cleanup() {
  local pids=() pid ns dir
  for pid in "${NETNS_PIDS[@]}"; do pids+=("$pid"); done
  if [ -n "$NETNS_STATE_DIR" ] && [ -r "$NETNS_STATE_DIR/pids" ]; then
    while read -r pid; do [ -n "$pid" ] && pids+=("$pid"); done < "$NETNS_STATE_DIR/pids"
  fi
  # A recorded PID counts while this shell still has it as a job (then it
  # cannot have been reused: it may still be in `ip netns exec`, before its
  # namespace); any other process counts only while it is inside one of our
  # namespaces.
  local ours=() jobs_now
  jobs_now=" $(jobs -p | tr '\n' ' ') "
  for pid in "${pids[@]}"; do
    [[ "$jobs_now" == *" $pid "* ]] && netns_pid_alive "$pid" && ours+=("$pid")
  done
  for ns in $(netns_namespaces); do
    for pid in $(ip netns pids "$ns" 2> /dev/null); do
      [[ " ${ours[*]} " == *" $pid "* ]] || ours+=("$pid")
    done
  done
  netns_stop_pids 5 "${ours[@]}"
  for ns in $(netns_namespaces); do
    ip netns del "$ns" 2> /dev/null || netns_log "cannot delete namespace $ns"
  done
  for dir in "$NETNS_CGROUP_ROOT/${NETNS_PREFIX}"-*; do
    [ -d "$dir" ] || continue
    local tries=0
    while ! rmdir "$dir" 2> /dev/null && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
  done
  NETNS_PIDS=()
  [ -n "$NETNS_STATE_DIR" ] && rm -f "$NETNS_STATE_DIR/pids"
  local left
  left="$(netns_leftovers)"
  if [ -n "$left" ]; then
    netns_log "left behind:"
    echo "$left" | sed 's/^/  /' >&2
    return 1
  fi
}

# netns_switch_create: the switch namespace with bridge br0, up, holding
# SUBNET.254 (so tessera_ctl can run there and reach every host).
netns_switch_create() {
  local sw="${NETNS_PREFIX}-sw"
  ip netns add "$sw" &&
    ip -n "$sw" link set lo up &&
    ip -n "$sw" link add br0 type bridge &&
    ip -n "$sw" link set br0 up &&
    ip -n "$sw" addr add "${NETNS_SUBNET}.254/24" dev br0
}

# netns_shape_dev NS DEV RATE DELAY_MS: root tbf at RATE on DEV in NS (what
# DEV sends), with a netem delay of DELAY_MS inside it when DELAY_MS > 0.
netns_shape_dev() {
  local ns="$1" dev="$2" rate="$3" delay="$4" bits burst limit
  bits="$(netns_rate_bits "$rate")" || return 2
  # Burst: 1 ms at line rate, at least 128 KB (a GSO packet of veth is up to
  # 64 KB; tbf would cut larger ones). Queue: 10 ms at line rate, at least
  # 1 MB, so a few TCP streams fill the link without loss.
  burst=$((bits / 8 / 1000))
  [ "$burst" -ge 131072 ] || burst=131072
  limit=$((bits / 8 / 100))
  [ "$limit" -ge 1048576 ] || limit=1048576
  tc -n "$ns" qdisc add dev "$dev" root handle 1: tbf rate "$rate" burst "$burst" limit "$limit" ||
    return 1
  if [ "$(awk -v d="$delay" 'BEGIN { print (d > 0) }')" = 1 ]; then
    if [ "$NETNS_HAVE_NETEM" != 1 ]; then
      netns_log "a delay of $delay ms needs the netem qdisc (sch_netem), which this kernel lacks"
      return 2
    fi
    tc -n "$ns" qdisc add dev "$dev" parent 1:1 handle 10: netem delay "${delay}ms" limit 100000 ||
      return 1
  fi
}

# netns_host_add HOST OCTET RATE DELAY_MS [CPU_CORES]: namespace PREFIX-HOST
# with eth0 = SUBNET.OCTET/24, joined to the bridge; its link limited to RATE
# in each direction, DELAY_MS added each way (netem); with CPU_CORES > 0 a
# cgroup PREFIX-HOST with that CPU quota (netns_start puts the process there).
netns_host_add() {
  local host="$1" octet="$2" rate="$3" delay="$4" cpu="${5:-0}"
  local ns="${NETNS_PREFIX}-$host" sw="${NETNS_PREFIX}-sw"
  ip netns add "$ns" &&
    ip -n "$ns" link set lo up &&
    ip -n "$sw" link add name "$host" type veth peer name eth0 netns "$ns" &&
    ip -n "$sw" link set dev "$host" master br0 &&
    ip -n "$sw" link set dev "$host" up &&
    ip -n "$ns" addr add "${NETNS_SUBNET}.${octet}/24" dev eth0 &&
    ip -n "$ns" link set eth0 up || { netns_log "cannot create host $host"; return 1; }
  netns_shape_dev "$ns" eth0 "$rate" "$delay" || return $?
  netns_shape_dev "$sw" "$host" "$rate" "$delay" || return $?
  if [ "$(awk -v c="$cpu" 'BEGIN { print (c > 0) }')" = 1 ]; then
    local dir="$NETNS_CGROUP_ROOT/$ns" period=100000
    mkdir "$dir" &&
      echo "$period" > "$dir/cpu.cfs_period_us" &&
      awk -v c="$cpu" -v p="$period" 'BEGIN { printf "%d\n", c * p }' > "$dir/cpu.cfs_quota_us" ||
      { netns_log "cannot make the CPU cgroup $dir"; return 1; }
  fi
}

# netns_start HOST LOG CMD...: runs CMD in HOST's namespace (and its cgroup,
# when it has one) in a session of its own, output to LOG; leaves its PID in
# NETNS_LAST_PID and remembers it.
netns_start() {
  local host="$1" log="$2"
  shift 2
  local ns="${NETNS_PREFIX}-$host" procs="$NETNS_CGROUP_ROOT/${NETNS_PREFIX}-$host/cgroup.procs"
  if [ -e "$procs" ]; then
    # The process joins the cgroup before it execs `ip netns exec` (which
    # remounts /sys, hiding the cgroup tree), so every thread is in it.
    setsid sh -c 'echo $$ > "$0" && exec "$@"' "$procs" ip netns exec "$ns" "$@" \
      < /dev/null > "$log" 2>&1 &
  else
    setsid ip netns exec "$ns" "$@" < /dev/null > "$log" 2>&1 &
  fi
  NETNS_LAST_PID=$!
  NETNS_PIDS+=("$NETNS_LAST_PID")
  if [ -n "$NETNS_STATE_DIR" ]; then echo "$NETNS_LAST_PID" >> "$NETNS_STATE_DIR/pids"; fi
}

# netns_exec HOST CMD...: runs CMD in HOST's namespace ("sw" for the switch).
netns_exec() {
  local host="$1"
  shift
  ip netns exec "${NETNS_PREFIX}-$host" "$@"
}
