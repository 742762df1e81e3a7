#!/usr/bin/env bash
# Security end to end (docs/security.md), on a cluster file that names this
# host by a non-loopback address when it has one, so that the daemons must
# have TLS and the job token:
#  1. tessera_ps refuses to start without them, or with a token file others
#     can read; with --insecure it starts, warns, and status says so;
#  2. a ps started with the job's security directory answers tessera_ctl
#     status only with the token: without any flag (plaintext against TLS)
#     and without the token (UNAUTHENTICATED) the task is unreachable, and the
#     ps logs the refusal;
#  3. run_local.sh trains a 2 ps + 2 worker job under mutual TLS and the token
#     end to end, the workers calling both ps through their local sockets
#     (docs/security.md, "Local sockets"), and a local socket directory others
#     can enter is refused.
set -uo pipefail
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/cluster_lib.sh"
cd "$runfiles" || exit 1

host="$(hostname -I 2>/dev/null | awk '{ print $1 }')"
case "$host" in
  ""|*:*) host=localhost; echo "no IPv4 address besides loopback: the cluster uses localhost" ;;
esac
cluster="$TEST_TMPDIR/cluster.json"
write_cluster "$cluster" 2 2
sed -i "s/localhost:/$host:/g" "$cluster"
echo "cluster: $(cat "$cluster")"
security="$TEST_TMPDIR/security"
"$runfiles/scripts/tessera_security.sh" "$security" "$cluster" || fail "tessera_security.sh failed"
ps_address="$(sed -n 's/.*"ps": \["\([^"]*\)".*/\1/p' "$cluster")"

# run_ps NAME ARGS...: runs tessera_ps ps:0 in the background, output in $TEST_TMPDIR/NAME.log.
run_ps() {
  local name="$1"
  shift
  "$TESSERA_PS_BIN" --cluster="$cluster" --task=0 "$@" > "$TEST_TMPDIR/$name.log" 2>&1 &
  ps_pid=$!
}
# wait_serving NAME: until the ps logs that it serves (at most 30 s).
wait_serving() {
  for _ in $(seq 300); do
    grep -qF "serving on" "$TEST_TMPDIR/$1.log" && return 0
    sleep 0.1
  done
  fail "$1: the ps did not start serving"
  cat "$TEST_TMPDIR/$1.log"
}
stop_ps() { kill -TERM "$ps_pid" 2>/dev/null; wait "$ps_pid" 2>/dev/null; }
trap 'kill -KILL "${ps_pid:-}" 2>/dev/null' EXIT

# 1. The safe default.
if [ "$host" != localhost ]; then
  run_ps plain
  wait "$ps_pid"
  rc=$?
  [ "$rc" -eq 1 ] || fail "ps without TLS and token on $host exited $rc, want 1"
  grep -qF "refusing to serve without TLS and a job token on a cluster that is not all loopback" \
    "$TEST_TMPDIR/plain.log" || { fail "no refusal in plain.log"; cat "$TEST_TMPDIR/plain.log"; }

  run_ps insecure --insecure
  wait_serving insecure
  out="$("$TESSERA_CTL_BIN" status --cluster="$cluster" --job=ps --json 2>&1)"
  grep -qF '"security":"insecure (--insecure)"' <<< "$out" ||
    fail "status of an --insecure ps lacks \"insecure (--insecure)\": $out"
  stop_ps
  grep -qF "security: insecure (--insecure): no TLS and no job token" "$TEST_TMPDIR/insecure.log" ||
    fail "the --insecure ps did not say so in its log"
fi
cp "$security/token" "$TEST_TMPDIR/open_token"
chmod 644 "$TEST_TMPDIR/open_token"
run_ps open_token --security_dir="$security" --token_file="$TEST_TMPDIR/open_token"
wait "$ps_pid"
rc=$?
[ "$rc" -eq 1 ] || fail "ps with a token file of mode 0644 exited $rc, want 1"
grep -qF "token file $TEST_TMPDIR/open_token has mode 0644" "$TEST_TMPDIR/open_token.log" ||
  { fail "no mode complaint"; cat "$TEST_TMPDIR/open_token.log"; }

# 2. Status needs TLS and the token.
run_ps secured --security_dir="$security"
wait_serving secured
status() { "$TESSERA_CTL_BIN" status --cluster="$cluster" --job=ps --timeout=5 "$@" 2>&1; }
out="$(status --security_dir="$security")"
grep -E "^ps +0 .* mtls\+token " <<< "$out" > /dev/null || fail "secured status: $out"
out="$(status)"
grep -E "^ps +0 .* unreachable .*UNAVAILABLE" <<< "$out" > /dev/null || fail "plaintext status: $out"
out="$(status --tls_ca="$security/ca.pem" --tls_cert="$security/cert.pem" --tls_key="$security/key.pem")"
grep -E "^ps +0 .* unreachable .*UNAUTHENTICATED: missing job token" <<< "$out" > /dev/null ||
  fail "status without the token: $out"
echo "$out" | head -3
stop_ps
grep -qF "refused /tessera.Admin/GetStatus: missing job token" "$TEST_TMPDIR/secured.log" ||
  { fail "the ps did not log the refused call"; cat "$TEST_TMPDIR/secured.log"; }

# 3. A secured job trains end to end.
config="$TEST_TMPDIR/mnist.pbtxt"
sed -e "s|model_file: \"models/|model_file: \"$runfiles/examples/models/|" \
    examples/mnist_deep_fashion.pbtxt > "$config"
RUN_DIR="$TEST_TMPDIR/run" TESSERA_SECURITY_DIR="$security" timeout 600 \
  "$run_local" "$cluster" "$config" --max_steps=100 > "$TEST_TMPDIR/run_local.out" 2>&1
rc=$?
cat "$TEST_TMPDIR/run_local.out"
[ "$rc" -eq 0 ] || fail "run_local.sh exited $rc"
for log in ps_0 ps_1 worker_0 worker_1; do
  grep -qF "] security: mtls+token" "$TEST_TMPDIR/run/$log.log" || fail "$log.log: not mtls+token"
done
grep -q "final global step 10[0-9]" "$TEST_TMPDIR/run/worker_0.log" ||
  fail "the chief did not reach global step 100"
grep -qF "status --cluster=$cluster --security_dir=$security" "$TEST_TMPDIR/run_local.out" ||
  fail "run_local.sh printed no tessera_ctl command with --security_dir"
for ps in 0 1; do
  grep -qF "for this host's workers" "$TEST_TMPDIR/run/ps_$ps.log" ||
    fail "ps_$ps.log: no local socket"
  for w in 0 1; do
    grep -qE "ps $ps at .* is on this host: calling it through /tmp/tessera-$(id -u)/ps$ps-" \
      "$TEST_TMPDIR/run/worker_$w.log" || fail "worker_$w.log: ps $ps not called through its local socket"
  done
done
mkdir -m 755 "$TEST_TMPDIR/open_sockets"
run_ps open_sockets --security_dir="$security" --local_socket_dir="$TEST_TMPDIR/open_sockets"
wait "$ps_pid"
rc=$?
[ "$rc" -eq 1 ] || fail "ps with a local socket directory of mode 0755 exited $rc, want 1"
grep -qF "local socket directory $TEST_TMPDIR/open_sockets has mode 0755: other users could reach the sockets" \
  "$TEST_TMPDIR/open_sockets.log" || { fail "no mode complaint"; cat "$TEST_TMPDIR/open_sockets.log"; }
finish
