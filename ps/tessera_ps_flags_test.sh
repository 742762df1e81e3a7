#!/usr/bin/env bash
# tessera_ps's limit flags (docs/security.md, "Limits"): a bad value is exit 1
# with a message naming the flag, before any cluster file is read; good
# values are logged at start (--max_bytes_held=0 as 80% of MemTotal) and
# shown by tessera_ctl status.
set -uo pipefail
RUNFILES="${TEST_SRCDIR}/${TEST_WORKSPACE}"
# shellcheck source=test/check_lib.sh
source "$RUNFILES/test/check_lib.sh"
ps_bin="$RUNFILES/ps/tessera_ps"
tmp="$TEST_TMPDIR"
ps_pid=""
cleanup() { [ -n "$ps_pid" ] && kill "$ps_pid" 2>/dev/null; }
trap cleanup EXIT

# expect_refused "FLAGS" "MESSAGE": tessera_ps exits 1 printing MESSAGE.
expect_refused() {
  local out rc
  # shellcheck disable=SC2086
  out="$("$ps_bin" --cluster="$tmp/none.json" --task=0 $1 2>&1)"
  rc=$?
  [ "$rc" -eq 1 ] || fail "$1: exit $rc, want 1 ($out)"
  [ "$out" = "$2" ] || fail "$1: said '$out', want '$2'"
}
expect_refused "--max_blocks=0" "tessera_ps: --max_blocks must be >= 1, got 0"
expect_refused "--max_block_bytes=2" "tessera_ps: --max_block_bytes must be >= 4 (one float), got 2"
expect_refused "--max_streams_per_peer=-1" "tessera_ps: --max_streams_per_peer must be >= 1, got -1"
expect_refused "--max_bytes_held=-5" \
  "tessera_ps: --max_bytes_held must be >= 0 (0: 80% of physical memory), got -5"
out="$("$ps_bin" --max_blocks=lots 2>&1)" && fail "--max_blocks=lots was accepted"
case "$out" in
  *"max_blocks"*) ;;
  *) fail "--max_blocks=lots: '$out' does not name the flag" ;;
esac

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "{\"cluster\": {\"ps\": [\"127.0.0.1:$port\"], \"worker\": [\"localhost:$((port + 1))\"]}}" \
  > "$tmp/cluster.json"
"$ps_bin" --cluster="$tmp/cluster.json" --task=0 --max_streams_per_peer=5 --max_blocks=77 \
  > "$tmp/ps.log" 2>&1 &
ps_pid=$!
for _ in $(seq 100); do
  grep -q "limits:" "$tmp/ps.log" && break
  sleep 0.1
done
mem_kib="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
want="limits: --max_bytes_held=$((mem_kib * 1024 / 100 * 80)) --max_blocks=77 --max_block_bytes=4294967296 --max_streams_per_peer=5 (docs/security.md, Limits)"
grep -qF "$want" "$tmp/ps.log" || fail "start log lacks '$want': $(cat "$tmp/ps.log")"
# tessera_ctl status shows the caps and their use.
status="$("$RUNFILES/tools/tessera_ctl" status --cluster="$tmp/cluster.json" --job=ps 2>&1)"
case "$status" in
  *"ps limits (docs/security.md):"*"ps:0  holds 0 B of "*"0 of 77 blocks  blocks up to 4.0 GiB  0 streams open, 5 per host  0 refused"*) ;;
  *) fail "tessera_ctl status lacks the limits line: $status" ;;
esac
finish
