#!/usr/bin/env bash
# Regression test for the launch scripts' secured job arrays:
#   1. scripts/tessera_security.sh run by several processes at once (array
#      elements) exits 0 in every one, and all end with the same files.
#   2. `tessera_ctl wait --for=ready` started before a TLS + token ps listens
#      sees it once it does. It did not: the reconnection attempts gRPC makes
#      between polls were never polled in tessera_ctl, so every TLS handshake
#      ended as "tcp handshaker shutdown" until the wait timed out
#      (common/admin/admin_client.cc). The ps is another process on purpose:
#      in one process the server's threads poll the client's connection too.
set -uo pipefail
RUNFILES="${TEST_SRCDIR}/${TEST_WORKSPACE}"
# shellcheck source=test/check_lib.sh
source "$RUNFILES/test/check_lib.sh"
ctl="$RUNFILES/tools/tessera_ctl"
ps_bin="$RUNFILES/ps/tessera_ps"
tmp="$TEST_TMPDIR"
ps_pid=""
cleanup() { [ -n "$ps_pid" ] && kill "$ps_pid" 2>/dev/null; }
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "{\"cluster\": {\"ps\": [\"127.0.0.1:$port\"], \"worker\": [\"localhost:$((port + 1))\"]}}" \
  > "$tmp/cluster.json"

# 1. Racing creators.
pids=()
for i in 1 2 3 4; do
  TESSERA_CTL_BIN="$ctl" "$RUNFILES/scripts/tessera_security.sh" "$tmp/security" "$tmp/cluster.json" \
    > "$tmp/security.$i.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "tessera_security.sh $((i + 1)) of 4 exited $?: $(cat "$tmp/security.$((i + 1)).log")"
done
for f in ca.pem cert.pem key.pem token; do
  [ -s "$tmp/security/$f" ] || fail "security/$f is missing"
done
leftovers="$(find "$tmp" -maxdepth 1 -name 'security.tmp.*')"
[ -z "$leftovers" ] || fail "temporary directories left: $leftovers"
openssl verify -CAfile "$tmp/security/ca.pem" "$tmp/security/cert.pem" > /dev/null ||
  fail "cert.pem is not signed by ca.pem"

# 2. wait first, the ps 2 s after the wait's first poll found it down (seen
# in wait.log, not assumed 2 s after the start: tessera_ctl under ASan on a
# loaded machine may take that long to make its first poll, and then the ps
# was up before it).
"$ctl" wait --cluster="$tmp/cluster.json" --for=ready --job=ps --timeout=30 \
  --security_dir="$tmp/security" > "$tmp/wait.log" 2>&1 &
wait_pid=$!
for _ in $(seq 150); do
  grep -q "waiting for ps:0" "$tmp/wait.log" && break
  kill -0 "$wait_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "waiting for ps:0" "$tmp/wait.log" ||
  fail "tessera_ctl wait did not report waiting for ps:0 within 15 s: $(cat "$tmp/wait.log")"
sleep 2
"$ps_bin" --cluster="$tmp/cluster.json" --task=0 --security_dir="$tmp/security" > "$tmp/ps.log" 2>&1 &
ps_pid=$!
if wait "$wait_pid"; then
  grep -q "all 1 task(s) ready (answering)" "$tmp/wait.log" || fail "wait: $(cat "$tmp/wait.log")"
  grep -q "waiting for ps:0" "$tmp/wait.log" || fail "the ps was up before the wait's first poll"
else
  fail "tessera_ctl wait did not see the TLS ps that started late: $(cat "$tmp/wait.log"; tail -n 5 "$tmp/ps.log")"
fi
finish
