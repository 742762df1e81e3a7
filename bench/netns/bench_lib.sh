# Helpers of the emulated benchmarks (ps_scaling.sh, straggler.sh); sourced
# after `set -euo pipefail` with ROOT set to the repository.

bench_bin="${TESSERA_BIN:-$ROOT/bazel-bin}"
bench_py=/usr/bin/python3

bench_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# bench_check_binaries: the daemons, tessera_ctl and tessera_train_local.
bench_check_binaries() {
  local b
  for b in ps/tessera_ps worker/tessera_worker tools/tessera_ctl worker/tessera_train_local; do
    [ -x "$bench_bin/$b" ] ||
      bench_die "missing $bench_bin/$b: bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl //worker:tessera_train_local"
  done
  [ "$(id -u)" -eq 0 ] || bench_die "needs root (network namespaces); run as root"
}

# bench_load: "load 1.23 2.34 3.45" (1, 5 and 15 minutes).
bench_load() { awk '{ print "load " $1 " " $2 " " $3 }' /proc/loadavg; }

# bench_machine_check: is the machine quiet? bench/machine_check's summary
# (sgemm GFLOPS on all cores, about 220 when quiet; docs/benchmarks.md), or a
# note that it is not built.
bench_machine_check() {
  if [ -x "$bench_bin/bench/machine_check" ]; then
    "$bench_bin/bench/machine_check" 2>&1 | grep -o 'all_cores_gflops=.*' || echo "machine_check failed"
  else
    echo "machine_check not built (bazel build //bench:machine_check)"
  fi
}

# bench_compute_s CONFIG STEPS: CPU seconds of one training step in one
# process (tessera_train_local: forward, backward and the optimizer's update):
# the CPU time of a run of 2 x STEPS steps less that of a run of STEPS, over
# STEPS, so that loading the data and evaluating cancel out. CPU time rather
# than wall time: what other programs take of the cores does not count.
bench_compute_s() {
  "$bench_py" - "$bench_bin/worker/tessera_train_local" "$1" "$2" <<'PY' ||
import resource, subprocess, sys
binary, config, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cpu(n):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([binary, "--config=" + config, f"--max_steps={n}"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"tessera_train_local failed on {config}: {r.stderr[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
short, long_ = cpu(steps), cpu(2 * steps)
if long_ <= short:
    sys.exit(f"tessera_train_local: {2 * steps} steps took no more CPU than {steps}")
print(f"{(long_ - short) / steps:.6f}")
PY
    bench_die "could not measure a step of $1 in one process"
}

# bench_emulate OUT NAME BATCH REPLICAS [emulate.sh args...]: one emulated
# job in OUT/NAME, then its figures in OUT/NAME/figures.json (job_figures.py).
bench_emulate() {
  local out="$1" name="$2" batch="$3" replicas="$4"
  shift 4
  echo "== $name ($(bench_load))"
  if ! "$ROOT/bench/netns/emulate.sh" --run_dir="$out/$name" --sample_every=1 "$@" \
       > "$out/$name.out" 2>&1; then
    cat "$out/$name.out" >&2
    tail -n 5 "$out/$name"/*.log >&2 2> /dev/null
    bench_die "run $name failed (logs in $out/$name)"
  fi
  "$bench_py" "$ROOT/bench/netns/job_figures.py" "$out/$name" --batch="$batch" \
    --replicas="$replicas" --skip="${BENCH_SKIP:-2}" --json="$out/$name/figures.json" > "$out/$name/figures.txt" ||
    bench_die "no figures for run $name (logs in $out/$name)"
  grep -E '^(images_per_sec|worker_steps_per_sec|cpu_total|test_accuracy)=' "$out/$name/figures.txt" |
    tr '\n' ' ' | sed 's/^/  /'
  echo
}

# bench_model_bytes MODEL.pbtxt [ENCODING]: the bytes of one copy of the
# model on the wire: 4 bytes per parameter (tessera_ctl model summary), 2 with
# ENCODING BFLOAT16 (TrainConfig.transport_encoding).
bench_model_bytes() {
  local params
  params="$("$bench_bin/tools/tessera_ctl" model summary "$1" | sed -n 's/^parameters: \([0-9]*\).*/\1/p')"
  [ -n "$params" ] || bench_die "tessera_ctl model summary $1 printed no parameter count"
  if [ "${2:-FLOAT32}" = BFLOAT16 ]; then echo $((params * 2)); else echo $((params * 4)); fi
}
