#!/usr/bin/env bash
# Training speed of a real cluster against in-process training, same run:
# mnist_deep on Fashion-MNIST, batch 50, on 1 ps + 1 worker on this machine
# (both daemons share its cores), against bench/train_throughput_tessera.
#   bazel run //bench:cluster_throughput -- [--steps=300] [--tls_turns=N]
#       [--transport_encoding=BFLOAT16]
# --transport_encoding sets the job's TrainConfig.transport_encoding (default
# FLOAT32).
# Prints both figures and `ratio=cluster/in_process` (target >= 0.7). The
# cluster runs as run_local.sh starts every job: mutual TLS and the job token,
# the worker calling the ps through its local socket (docs/security.md);
# TESSERA_LOCAL_SOCKET_DIR=none in the environment makes it use TCP (with TLS).
#
# --tls_turns=N (N >= 1) measures the cost of that security instead: the same
# cluster job N times with TLS + token and N times plain (TESSERA_SECURITY=off),
# taking turns, and prints each side's mean and `tls_ratio=tls/plain` (the
# median of the turns' ratios; issue 16's target: >= 0.95).
set -euo pipefail
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
steps=300
tls_turns=0
encoding=FLOAT32
for arg in "$@"; do
  case "$arg" in
    --steps=*) steps="${arg#*=}" ;;
    --tls_turns=*) tls_turns="${arg#*=}" ;;
    --transport_encoding=*) encoding="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --steps=, --tls_turns= or --transport_encoding=)" >&2
       exit 2 ;;
  esac
done
case "$encoding" in
  FLOAT32|BFLOAT16) ;;
  *) echo "--transport_encoding=$encoding: want FLOAT32 or BFLOAT16" >&2; exit 2 ;;
esac
[[ "$steps" =~ ^[1-9][0-9]{0,6}$ && "$steps" -gt 20 ]] ||
  { echo "--steps=$steps: want an integer in [21, 9999999] (the worker is timed after its first 20 steps)" >&2; exit 2; }
[[ "$tls_turns" =~ ^[0-9]{1,2}$ ]] || { echo "--tls_turns=$tls_turns: want an integer in [0, 99]" >&2; exit 2; }
bin=bazel-bin
for b in bench/train_throughput_tessera ps/tessera_ps worker/tessera_worker tools/tessera_ctl; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: bazel build //bench:cluster_throughput" >&2; exit 2; }
done
source scripts/local_cluster.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
write_cluster "$tmp/cluster.json" 1 1
# The example config with the model file's absolute path and the encoding.
sed "s|^model_file: \"models/|model_file: \"$PWD/examples/models/|" examples/mnist_deep_fashion.pbtxt \
  > "$tmp/config.pbtxt"
echo "transport_encoding: $encoding" >> "$tmp/config.pbtxt"

# cluster_run NAME SECURITY(on|off): one 1 ps + 1 worker job; prints the
# worker's line and sets `images` to its images/s.
cluster_run() {
  local name=$1 security=$2
  TESSERA_SECURITY="$security" TESSERA_PS_BIN="$bin/ps/tessera_ps" \
  TESSERA_WORKER_BIN="$bin/worker/tessera_worker" TESSERA_CTL_BIN="$bin/tools/tessera_ctl" \
  TESSERA_NO_BUILD=1 RUN_DIR="$tmp/$name" \
    scripts/run_local.sh "$tmp/cluster.json" "$tmp/config.pbtxt" \
    --max_steps="$steps" > "$tmp/$name.out" 2>&1 || { cat "$tmp/$name.out"; exit 1; }
  grep "trained .* local steps\|after the first" "$tmp/$name/worker_0.log" | sed 's/^.*] //'
  # After the first 20 steps, as train_throughput_tessera times after its 20
  # warm-up steps.
  images=$(sed -n 's/.*after the first [0-9]* steps: \([0-9.e+]*\) images\/s.*/\1/p' \
    "$tmp/$name/worker_0.log")
  [ -n "$images" ] || { echo "$name printed no figure" >&2; exit 1; }
}

if [ "$tls_turns" -gt 0 ]; then
  tls_all=() plain_all=()
  for ((t = 1; t <= tls_turns; t++)); do
    echo "== turn $t/$tls_turns: 1 ps + 1 worker with mutual TLS + token ($steps steps, $encoding)"
    cluster_run "tls$t" on; tls_all+=("$images")
    echo "== turn $t/$tls_turns: 1 ps + 1 worker plaintext ($steps steps, $encoding)"
    cluster_run "plain$t" off; plain_all+=("$images")
  done
  /usr/bin/python3 - "${tls_all[*]}" "${plain_all[*]}" <<'PY'
import statistics, sys
tls = [float(x) for x in sys.argv[1].split()]
plain = [float(x) for x in sys.argv[2].split()]
ratios = [a / b for a, b in zip(tls, plain)]
print("tls_images_per_sec=%.1f plain_images_per_sec=%.1f tls_ratio=%.3f "
      "(median of %d turns, range %.3f-%.3f)" % (
          statistics.mean(tls), statistics.mean(plain), statistics.median(ratios),
          len(ratios), min(ratios), max(ratios)))
PY
  exit 0
fi

echo "== in-process ($steps steps)"
"$bin/bench/train_throughput_tessera" --steps="$steps" --repeats=1 > "$tmp/inproc.out" 2>&1
tail -3 "$tmp/inproc.out"
inproc=$(sed -n 's/^images_per_sec=//p' "$tmp/inproc.out")

echo "== cluster: 1 ps + 1 worker, mutual TLS + token ($steps steps, $encoding)"
cluster_run run on
cluster=$images
[ -n "$inproc" ] || { echo "the in-process run printed no figure" >&2; exit 1; }
echo "in_process_images_per_sec=$inproc cluster_images_per_sec=$cluster ratio=$(/usr/bin/python3 -c "print(f'{$cluster/$inproc:.2f}')")"
