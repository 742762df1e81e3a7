#!/usr/bin/python3
"""The plots of docs/scaling.md, from the benchmarks' output (matplotlib).

  plot_scaling.py --out=docs/scaling [--scaling=DIR] [--straggler=DIR] [--predictions=FILE]

  --scaling=DIR       an OUT of bench/netns/ps_scaling.sh (results.json,
                      validation.json): ps_scaling.png (images/s against the
                      number of ps, measured and modelled), ps_links.png
                      (each ps host's link, MB/s)
  --straggler=DIR     an OUT of bench/netns/straggler.sh: straggler.png
                      (images/s applied and test accuracy per mode)
  both                validation.png (modelled against measured, every run)
  --predictions=FILE  the --json of `scaling_model.py predict`:
                      predict_<model>.png (efficiency against workers, per
                      link speed, PS and all-reduce)
Every figure comes from those files; nothing is typed in.
"""

import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"plot_scaling: cannot read {path}: {e}")


def meta_line(results):
    m = results.get("meta", {})
    return f"{m.get('start', '')}, {m.get('load_before', '')} before / {m.get('load_after', '')} after"


def save(fig, out, name, rect=None):
    """Lays out `fig`, writes it to out/name (110 dpi) and frees it."""
    if rect is None:
        fig.tight_layout()
    else:
        fig.tight_layout(rect=rect)
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)


def plot_scaling(results, validation, out):
    rows = {r["name"]: r for r in validation["rows"]}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = {}
    for run in results["runs"]:
        c = run["config"]
        groups.setdefault((c["mode"], c["workers"]), []).append(run)
    for (mode, workers), runs in sorted(groups.items()):
        runs.sort(key=lambda r: r["config"]["ps"])
        ps = [r["config"]["ps"] for r in runs]
        measured = [r["measured"]["images_per_sec"] for r in runs]
        model = [rows[r["name"]]["simulated_images_per_sec"] for r in runs]
        line, = ax.plot(ps, measured, "o-", label=f"{mode}, {workers} workers: measured")
        ax.plot(ps, model, "x--", color=line.get_color(), alpha=0.7, label=f"{mode}, {workers} workers: model")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({r["config"]["ps"] for r in results["runs"]}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("parameter servers")
    ax.set_ylabel("images/s (job)")
    ax.set_title(f"wide_mlp (80 MB), {results['meta'].get('rate')} links: job throughput\n"
                 f"{meta_line(results)}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, out, "ps_scaling.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    labels, x = [], 0
    for run in results["runs"]:
        c, m = run["config"], run["measured"]
        for p in range(c["ps"]):
            sent = m.get(f"ps{p}_sent_bytes_per_sec", 0) / 1e6
            received = m.get(f"ps{p}_received_bytes_per_sec", 0) / 1e6
            ax.bar(x, sent, color="tab:blue", label="sent (pulls)" if x == 0 else None)
            ax.bar(x, received, bottom=sent, color="tab:orange", label="received (pushes)" if x == 0 else None)
            x += 1
        labels.append((x - c["ps"] / 2 - 0.5, run["name"]))
        x += 1
    ax.set_xticks([p for p, _ in labels])
    ax.set_xticklabels([n for _, n in labels], rotation=60, fontsize=7, ha="right")
    ax.set_ylabel("MB/s on each ps host's link")
    ax.set_title("each ps's link: placement by bytes loads them evenly", fontsize=9)
    ax.legend(fontsize=7)
    save(fig, out, "ps_links.png")


def plot_straggler(results, out):
    runs = results["runs"]
    names = [r["name"] for r in runs]
    applied = [r["measured"].get("applied_images_per_sec", 0) for r in runs]
    computed = [r["measured"]["images_per_sec"] for r in runs]
    accuracy = [r["measured"].get("test_accuracy", 0) for r in runs]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
    xs = range(len(runs))
    a1.bar([x - 0.2 for x in xs], computed, width=0.4, label="computed")
    a1.bar([x + 0.2 for x in xs], applied, width=0.4, label="applied")
    a1.set_xticks(list(xs))
    a1.set_xticklabels(names, rotation=40, ha="right", fontsize=7)
    a1.set_ylabel("images/s")
    a1.legend(fontsize=7)
    a2.bar(list(xs), accuracy, color="tab:green")
    lo = min(a for a in accuracy if a > 0) if any(accuracy) else 0
    a2.set_ylim(max(0, lo - 0.05), min(1, max(accuracy) + 0.02) if accuracy else 1)
    a2.set_xticks(list(xs))
    a2.set_xticklabels(names, rotation=40, ha="right", fontsize=7)
    a2.set_ylabel(f"test accuracy after {results['meta'].get('examples')} examples")
    fig.suptitle(f"1 ps + 3 workers, worker 2 slowed ({results['meta'].get('straggler')}); "
                 f"{meta_line(results)}", fontsize=8)
    save(fig, out, "straggler.png")


def plot_validation(validations, out):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0
    for label, v in validations:
        m = [r["measured_images_per_sec"] for r in v["rows"]]
        s = [r["simulated_images_per_sec"] for r in v["rows"]]
        ax.scatter(m, s, label=label)
        top = max([top] + m + s)
    xs = [0, top * 1.1]
    ax.plot(xs, xs, "k-", lw=0.8)
    ax.plot(xs, [x * 1.15 for x in xs], "k:", lw=0.8, label="+-15%")
    ax.plot(xs, [x * 0.85 for x in xs], "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured images/s")
    ax.set_ylabel("model images/s")
    ax.set_title("the scaling model against every emulated run", fontsize=9)
    ax.legend(fontsize=7)
    save(fig, out, "validation.png")


def plot_predictions(pred, out):
    rows = pred["rows"]
    for model in sorted({r["model"] for r in rows}):
        gbits = sorted({r["gbit"] for r in rows})
        fig, axes = plt.subplots(1, len(gbits), figsize=(4 * len(gbits), 4.4), sharey=True)
        for ax, gbit in zip(axes, gbits):
            sel = [r for r in rows if r["model"] == model and r["gbit"] == gbit]
            schemes = []
            for r in sel:
                sc = r["scheme"]
                if sc not in schemes and "async" not in sc and "W/8" not in sc:
                    schemes.append(sc)
            for scheme in schemes:
                pts = sorted((r["workers"], r["efficiency"]) for r in sel if r["scheme"] == scheme)
                if scheme == "allreduce":
                    style, label = "k-o", "ring all-reduce (reduce on the workers)"
                elif "overlap" in scheme:
                    style, label = "k:", scheme.replace("ps sync_overlap", "PS sync, push || pull (BytePS; not Tessera),")
                elif "core" in scheme:
                    style, label = "-", scheme.replace("ps sync", "PS sync,")
                else:
                    style, label = "--", scheme.replace("ps sync", "PS sync,") + ", ps CPU as measured"
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, ms=3, label=label)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{gbit} Gbit/s", fontsize=9)
            ax.set_xlabel("workers")
            ax.grid(alpha=0.3)
            ax.set_ylim(0, 1.05)
        axes[0].set_ylabel("efficiency (images/s / W x alone)")
        handles, labels = axes[-1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7)
        fig.suptitle(f"{model}: predicted (bench/scaling_model.py predict)", fontsize=9)
        save(fig, out, f"predict_{model}.png", rect=(0, 0.12, 1, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--scaling")
    parser.add_argument("--straggler")
    parser.add_argument("--predictions")
    args = parser.parse_args()
    if not (args.scaling or args.straggler or args.predictions):
        parser.error("give at least one of --scaling, --straggler, --predictions")
    os.makedirs(args.out, exist_ok=True)
    validations = []
    if args.scaling:
        results = load(os.path.join(args.scaling, "results.json"))
        validation = load(os.path.join(args.scaling, "validation.json"))
        plot_scaling(results, validation, args.out)
        validations.append(("ps_scaling", validation))
    if args.straggler:
        results = load(os.path.join(args.straggler, "results.json"))
        plot_straggler(results, args.out)
        validations.append(("straggler", load(os.path.join(args.straggler, "validation.json"))))
    if validations:
        plot_validation(validations, args.out)
    if args.predictions:
        plot_predictions(load(args.predictions), args.out)
    print("plots in", args.out, ":", " ".join(sorted(f for f in os.listdir(args.out) if f.endswith(".png"))))


if __name__ == "__main__":
    main()
