#!/usr/bin/python3
"""The results file of an emulated benchmark (ps_scaling.sh, straggler.sh).

  results.py init FILE --kind=scaling|straggler --meta=JSON
  results.py calibrate FILE --figures=F.json --link=link.txt --compute_s=T --cores=N --batch=B
                        [--model_bytes=BYTES]
      derives the scaling model's costs (bench/scaling_model.py) from the
      calibration run (1 ps + 1 worker, ASYNC) measured in the same benchmark:
        bytes                   the model's variables (--model_bytes: 4 x the
                                parameters of `tessera_ctl model summary`), or
                                Tessera's bytes per push (ps status); = per pull
        link_bytes_per_s        TCP goodput worker -> ps (link_check.py); both
                                payload figures, so the headers cancel
        latency_s               the round-trip time of a 1-byte ping
        compute_s               CPU seconds of one step's computation: the
                                calibration job's own (w0_compute_cpu_s, its
                                progress lines), else --compute_s (in process,
                                1 thread)
        worker_cpu_s_per_byte   the worker's CPU beyond compute_s, per byte moved
        ps_cpu_s_per_byte       the ps's CPU per byte moved (transport + apply)
        overhead_s              the rest of the measured step time: what the
                                model without it would leave unexplained
        cpu_pool                the machine's cores, shared by every task (and
                                by other programs: each run's others_threads,
                                scaling_model.with_others)
        jitter                  the spread of the step times (std / mean)
  results.py add FILE --name=N --config=JSON --figures=F.json
  results.py meta FILE KEY=VALUE...   adds notes (e.g. the load after the runs)
  results.py table FILE     prints the benchmark's table: figures and ratios
"""

import argparse
import dataclasses
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import scaling_model  # noqa: E402  (bench/scaling_model.py)


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def parse_link(path):
    text = open(path).read()
    m = re.search(r"rtt_ms=([0-9.]+) goodput_bytes_per_sec=([0-9.]+)", text)
    if not m:
        sys.exit(f"results: {path}: no rtt_ms= and goodput_bytes_per_sec= in {text!r}")
    return float(m.group(1)) / 1000, float(m.group(2))


def calibrate(fig, link_path, compute_s, cores, batch, model_bytes=None):
    latency, goodput = parse_link(link_path)
    steps = fig["worker_steps_per_sec"]
    nbytes = model_bytes or fig.get("ps0_bytes_per_push")
    if not nbytes:
        sys.exit("results: no --model_bytes and the calibration run has no ps0_bytes_per_push "
                 "(status_end.json missing?)")
    moved = 2 * nbytes * steps  # bytes per second through the worker (and the ps)
    # The job's own figure where the worker logged it: the same moment's
    # machine as the CPU seconds it is taken from (docs/scaling.md).
    compute_s = fig.get("w0_compute_cpu_s") or compute_s
    worker_extra = max(0.0, fig.get("cpu_worker0", 0.0) - compute_s * steps)
    costs = scaling_model.Costs(
        bytes=nbytes, compute_s=compute_s, link_bytes_per_s=goodput, batch=batch,
        latency_s=latency, worker_cpu_s_per_byte=worker_extra / moved,
        ps_cpu_s_per_byte=fig.get("cpu_ps0", 0.0) / moved, cpu_pool=float(cores),
        jitter=min(0.5, max(0.01, fig.get("w0_step_cv", 0.05))))
    # The overhead: measured step time minus the model's without overhead
    # (with the other programs of the run's window: scaling_model.with_others).
    bare = scaling_model.simulate(scaling_model.with_others(dataclasses.replace(costs, jitter=0.0), fig),
                                  1, 1, "async", seeds=1)
    costs.overhead_s = max(0.0, 1.0 / steps - 1.0 / bare["worker_steps_per_sec"])
    return costs


def table_scaling(data):
    runs = data["runs"]
    link = data["calibration"]["costs"]["link_bytes_per_s"]
    print(f"{'mode':<6} {'W':>2} {'P':>2} {'images/s':>9} {'steps/s':>8} {'vs 1 ps':>8} "
          f"{'ps MB/s each (sent+received)':>34} {'max/mean':>8} {'CPU cores':>9}  limit")
    base = {}
    for r in runs:
        c, m = r["config"], r["measured"]
        if c["ps"] == 1:
            base[(c["mode"], c["workers"])] = m["images_per_sec"]
    for r in runs:
        c, m = r["config"], r["measured"]
        b = base.get((c["mode"], c["workers"]))
        ratio = f"{m['images_per_sec'] / b:.2f}x" if b else "-"
        share = f"{m['ps_share_max_over_mean']:.3f}" if "ps_share_max_over_mean" in m else "-"
        ps_rates = [(m.get(f"ps{p}_sent_bytes_per_sec", 0) + m.get(f"ps{p}_received_bytes_per_sec", 0)) / 1e6
                    for p in range(c["ps"])]
        print(f"{c['mode']:<6} {c['workers']:>2} {c['ps']:>2} {m['images_per_sec']:>9.2f} "
              f"{m['worker_steps_per_sec']:>8.3f} {ratio:>8} {' '.join(f'{x:.0f}' for x in ps_rates):>34} "
              f"{share:>8} {m.get('cpu_total', 0):>9.2f}  {limit(m, c, link, data)}")


def limit(m, c, link, data):
    """The busiest resource in the window: a ps link, a worker link, or the CPU.
    Link figures are wire bytes, the link's goodput is payload: 4.5% apart."""
    wire_link = link * 1514 / 1448
    uses = []
    for p in range(c["ps"]):
        for d in ("sent", "received"):
            uses.append((m.get(f"ps{p}_{d}_bytes_per_sec", 0) / wire_link, f"ps{p} {d}"))
    for w in range(c["workers"]):
        for d in ("sent", "received"):
            uses.append((m.get(f"w{w}_{d}_bytes_per_sec", 0) / wire_link, f"w{w} {d}"))
    cores = data["calibration"]["costs"].get("cpu_pool", 0)
    if cores:
        uses.append((m.get("cpu_total", 0) / cores, "CPU"))
    u, what = max(uses)
    return f"{what} {100 * u:.0f}% busy"


def table_straggler(data):
    runs = data["runs"]
    ref = next((r for r in runs if r["name"] == "sync_no_straggler"), None)
    ref_ips = ref["measured"]["images_per_sec"] if ref else None
    print(f"{'run':<22} {'images/s':>9} {'applied/s':>9} {'vs no straggler':>15} "
          f"{'straggler steps/s':>17} {'others steps/s':>15} {'test acc':>9} {'global steps':>12} "
          f"{'dropped':>12} {'wall s':>7}")
    for r in runs:
        m, c = r["measured"], r["config"]
        slow = f"w{c['workers'] - 1}"
        others = [m.get(f"w{w}_steps_per_sec", 0) for w in range(c["workers"] - 1)]
        dropped = f"{m['pushes_dropped']} of {m['pushes']}" if "pushes" in m else "-"
        print(f"{r['name']:<22} {m['images_per_sec']:>9.1f} {m.get('applied_images_per_sec', 0):>9.1f} "
              f"{(m['images_per_sec'] / ref_ips if ref_ips else 0):>14.2f}x "
              f"{m.get(slow + '_steps_per_sec', 0):>17.2f} {sum(others) / len(others):>15.2f} "
              f"{m.get('test_accuracy', float('nan')):>9.4f} {m.get('final_global_step', 0):>12} "
              f"{dropped:>12} {m.get('train_wall_s', 0):>7.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    i = sub.add_parser("init")
    i.add_argument("file")
    i.add_argument("--kind", choices=("scaling", "straggler"), required=True)
    i.add_argument("--meta", default="{}")
    c = sub.add_parser("calibrate")
    c.add_argument("file")
    c.add_argument("--figures", required=True)
    c.add_argument("--link", required=True)
    c.add_argument("--compute_s", type=float, required=True)
    c.add_argument("--cores", type=int, required=True)
    c.add_argument("--batch", type=int, required=True)
    c.add_argument("--model_bytes", type=float, help="bytes of the model's variables")
    a = sub.add_parser("add")
    a.add_argument("file")
    a.add_argument("--name", required=True)
    a.add_argument("--config", required=True)
    a.add_argument("--figures", required=True)
    n = sub.add_parser("meta")
    n.add_argument("file")
    n.add_argument("items", nargs="+")
    t = sub.add_parser("table")
    t.add_argument("file")
    args = parser.parse_args()

    if args.command == "init":
        save(args.file, {"kind": args.kind, "meta": json.loads(args.meta), "runs": []})
        return
    data = load(args.file)
    if args.command == "calibrate":
        if args.compute_s <= 0 or args.cores < 1 or args.batch < 1:
            parser.error("--compute_s must be > 0, --cores and --batch >= 1")
        fig = load(args.figures)
        costs = calibrate(fig, args.link, args.compute_s, args.cores, args.batch, args.model_bytes)
        data["calibration"] = {"costs": dataclasses.asdict(costs), "measured": fig,
                               "compute_s_in_process": args.compute_s}
        save(args.file, data)
        for k, v in dataclasses.asdict(costs).items():
            print(f"  {k}={v:.4g}" if isinstance(v, float) else f"  {k}={v}")
    elif args.command == "meta":
        for item in args.items:
            key, sep, value = item.partition("=")
            if not sep:
                parser.error(f"meta: {item!r}: want KEY=VALUE")
            data["meta"][key] = value
        save(args.file, data)
    elif args.command == "add":
        data["runs"].append({"name": args.name, "config": json.loads(args.config),
                             "measured": load(args.figures)})
        save(args.file, data)
    else:
        (table_scaling if data["kind"] == "scaling" else table_straggler)(data)


if __name__ == "__main__":
    main()
