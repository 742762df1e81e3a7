#!/usr/bin/python3
"""Steady-state figures of one emulated job (bench/netns/emulate.sh's RUN_DIR).

  job_figures.py RUN_DIR --batch=B [--skip=2] [--replicas=R] [--json=FILE]

The window: from the moment every worker has finished --skip steps to the
last step of the first worker to stop. In it:
  worker_steps_per_sec   steps finished by all workers together; each worker's
                         rate is (its steps in the window - 1) over the time
                         between its first and last step there, summed
  images_per_sec         worker_steps_per_sec * B: images the workers computed
  w<j>_step_cv           the spread of worker j's step times (std / mean)
  w<j>_pull_s, w<j>_compute_s, w<j>_compute_cpu_s, w<j>_push_s
                         worker j's mean step in the window: seconds pulling
                         (SYNC's and STALE's waits included), computing (batch,
                         forward, backward), the CPU seconds its process used
                         meanwhile, and pushing (its progress lines)
  global_steps_per_sec   the chief's global step over the window
  applied_images_per_sec global_steps_per_sec * B * R (R = 1 for ASYNC and
                         STALE, where every push is a global step; the SYNC
                         replicas_to_aggregate otherwise)
  <host>_sent_bytes_per_sec, <host>_received_bytes_per_sec
                         each host's link in the window, bytes on the wire
                         (net.txt, from emulate.sh --sample_every)
  wire_bytes_per_worker_step  all ps hosts' wire bytes / worker steps
  ps<i>_bytes_moved, ps<i>_share, ps_share_max_over_mean, ps<i>_bytes_per_push
                         Tessera's count of the bytes each ps sent in pulls and
                         received in pushes over the whole job (status_end.json,
                         from --train_seconds): how even placement by bytes is
  cpu_<task>             cores each task used in the window (cpu.txt), cpu_total;
  cpu_machine_busy, cpu_others   all cores busy, and busy with other programs
  cpu_share_runnable     the share of a core a runnable thread of the job got:
                         its threads' run time over run time plus run-queue
                         wait (schedstat); 1 when nothing else wants the cores;
                         tasks with a CPU quota (hosts.txt) do not count
  test_accuracy, final_global_step, pushes_dropped, pushes   (when logged)
                         the chief's test at the end; SYNC pushes with
                         gradients dropped, all workers
  train_wall_s           from the first worker's first step to the last step
Prints one `key=value` line per figure; --json writes them as a JSON object.
Needs the per-step log lines (log_every_steps: 1); the rest where present.
"""

import argparse
import datetime
import json
import os
import re
import sys

STEP_LINE = re.compile(
    r"^I(\d{4}) (\d\d):(\d\d):(\d\d\.\d+) worker:(\d+)\] global step (\d+) \(local (\d+)\)")
# The same line's breakdown (worker/worker.cc), per step since the last line.
STEP_PARTS = re.compile(
    r"per step: pull ([0-9.]+) ms, compute ([0-9.]+) ms \(CPU ([0-9.]+) ms\), push ([0-9.]+) ms")


def log_time(mmdd, hh, mi, ss):
    # Log lines carry month, day and UTC time; the year is this one's.
    year = datetime.datetime.utcnow().year
    base = datetime.datetime(year, int(mmdd[:2]), int(mmdd[2:]), int(hh), int(mi),
                             tzinfo=datetime.timezone.utc)
    return base.timestamp() + float(ss)


def worker_steps(run_dir):
    """{worker: [(time, global_step, local_step, parts), ...]} from the worker
    logs; parts: (pull, compute, compute CPU, push) seconds of the steps since
    the line before, or None from a worker that does not log them."""
    steps = {}
    for name in sorted(os.listdir(run_dir)):
        m = re.match(r"worker_(\d+)\.log$", name)
        if not m:
            continue
        rows = []
        with open(os.path.join(run_dir, name), errors="replace") as f:
            for line in f:
                s = STEP_LINE.match(line)
                if s:
                    p = STEP_PARTS.search(line)
                    parts = tuple(float(x) / 1000 for x in p.groups()) if p else None
                    rows.append((log_time(*s.group(1, 2, 3, 4)), int(s.group(6)), int(s.group(7)), parts))
        steps[int(m.group(1))] = rows
    return steps


def samples(path, parse):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            t, _, rest = line.strip().partition(" ")
            try:
                out.append((float(t), parse(rest)))
            except (ValueError, json.JSONDecodeError):
                continue
    return out


def parse_cpu(rest):
    return {k: float(v) for k, v in (item.split("=") for item in rest.split())}


def job_results(run_dir):
    """The chief's test accuracy and final step; SYNC's dropped pushes."""
    out = {}
    dropped = pushes = 0
    seen_sync = False
    for name in sorted(os.listdir(run_dir)):
        if not re.match(r"worker_\d+\.log$", name):
            continue
        with open(os.path.join(run_dir, name), errors="replace") as f:
            for line in f:
                m = re.search(r"test at global step (\d+): .*accuracy ([0-9.eE+-]+)", line)
                if m and name == "worker_0.log":
                    out["final_global_step"] = int(m.group(1))
                    out["test_accuracy"] = float(m.group(2))
                m = re.search(r"SYNC: (\d+) of (\d+) pushes had gradients dropped", line)
                if m:
                    seen_sync = True
                    dropped += int(m.group(1))
                    pushes += int(m.group(2))
    if seen_sync:
        out["pushes_dropped"] = dropped
        out["pushes"] = pushes
    return out


def parse_net(rest):
    out = {}
    for item in rest.split():
        host, _, counts = item.partition("=")
        sent, _, received = counts.partition(":")
        out[host] = (int(sent), int(received))
    return out


def host_order(host):
    m = re.match(r"(ps|w)(\d+)$", host)
    return (m.group(1) != "ps", int(m.group(2))) if m else (True, 0)


def in_window(rows, t0, t1):
    inside = [r for r in rows if t0 <= r[0] <= t1]
    return (inside[0], inside[-1]) if len(inside) >= 2 else None


def figures(run_dir, batch, skip, replicas):
    steps = worker_steps(run_dir)
    if not steps or any(len(r) <= skip + 1 for r in steps.values()):
        counts = {w: len(r) for w, r in steps.items()}
        sys.exit(f"job_figures: {run_dir}: too few per-step log lines (per worker: {counts}; "
                 f"want more than --skip + 1 = {skip + 1}; log_every_steps: 1?)")
    t0 = max(rows[skip - 1][0] if skip > 0 else rows[0][0] for rows in steps.values())
    t1 = min(rows[-1][0] for rows in steps.values())
    if t1 <= t0:
        sys.exit(f"job_figures: {run_dir}: no time when every worker was past --skip={skip} steps")
    fig = {"window_s": t1 - t0, "workers": len(steps)}
    total_rate = 0.0
    for w, rows in sorted(steps.items()):
        inside = [r for r in rows if t0 <= r[0] <= t1]
        rate = (len(inside) - 1) / (inside[-1][0] - inside[0][0]) if len(inside) >= 2 and \
            inside[-1][0] > inside[0][0] else 0.0
        fig[f"w{w}_steps_per_sec"] = rate
        total_rate += rate
        gaps = [b[0] - a[0] for a, b in zip(inside, inside[1:])]
        if len(gaps) >= 2:
            mean = sum(gaps) / len(gaps)
            var = sum((g - mean) ** 2 for g in gaps) / len(gaps)
            fig[f"w{w}_step_cv"] = var ** 0.5 / mean
        # Where its steps went (the lines after the window's first, each
        # covering one step with log_every_steps: 1).
        parts = [r[3] for r in inside[1:] if r[3] is not None]
        if parts:
            for i, name in enumerate(("pull_s", "compute_s", "compute_cpu_s", "push_s")):
                fig[f"w{w}_{name}"] = sum(p[i] for p in parts) / len(parts)
    fig["worker_steps_per_sec"] = total_rate
    fig["images_per_sec"] = total_rate * batch
    # The global step: the highest any worker saw, over the window.
    all_rows = sorted((r for rows in steps.values() for r in rows if t0 <= r[0] <= t1), key=lambda r: r[:3])
    if len(all_rows) >= 2 and all_rows[-1][0] > all_rows[0][0]:
        g0 = max(r[1] for r in all_rows if r[0] <= all_rows[0][0])
        g1 = max(r[1] for r in all_rows)
        fig["global_steps_per_sec"] = (g1 - g0) / (all_rows[-1][0] - all_rows[0][0])
        fig["applied_images_per_sec"] = fig["global_steps_per_sec"] * batch * replicas

    # Wire bytes of each host in the window (net.txt: SENT:RECEIVED counters).
    net = samples(os.path.join(run_dir, "net.txt"), parse_net)
    nt = in_window(net, t0, t1)
    if nt:
        (ta, a), (tb, b) = nt
        for host in sorted(b, key=host_order):
            sent = (b[host][0] - a.get(host, (0, 0))[0]) / (tb - ta)
            received = (b[host][1] - a.get(host, (0, 0))[1]) / (tb - ta)
            fig[f"{host}_sent_bytes_per_sec"] = sent
            fig[f"{host}_received_bytes_per_sec"] = received
        ps_hosts = [h for h in b if h.startswith("ps")]
        wire = sum(fig[f"{h}_sent_bytes_per_sec"] + fig[f"{h}_received_bytes_per_sec"]
                   for h in ps_hosts)
        fig["ps_wire_bytes_per_sec"] = wire
        if total_rate > 0:
            fig["wire_bytes_per_worker_step"] = wire / total_rate

    # Tessera's own count of each ps's bytes (pull responses sent, push
    # requests received) at the end of training: placement by bytes.
    end_path = os.path.join(run_dir, "status_end.json")
    if os.path.exists(end_path):
        with open(end_path) as f:
            try:
                end = json.load(f)
            except json.JSONDecodeError:
                end = {"tasks": []}
        moved = {}
        for task in end["tasks"]:
            if task["job"] == "ps" and task.get("status"):
                st = task["status"]
                moved[task["task"]] = int(st["bytes_pulled"]) + int(st["bytes_pushed"])
                fig[f"ps{task['task']}_bytes_held"] = int(st["bytes_held"])
                if int(st["pushes"]) > 0:
                    fig[f"ps{task['task']}_bytes_per_push"] = int(st["bytes_pushed"]) / int(st["pushes"])
        total = sum(moved.values())
        for p in sorted(moved):
            fig[f"ps{p}_bytes_moved"] = moved[p]
        # Shares only when every ps answered.
        num_ps = sum(1 for task in end["tasks"] if task["job"] == "ps")
        if moved and total and len(moved) == num_ps:
            for p in sorted(moved):
                fig[f"ps{p}_share"] = moved[p] / total
            fig["ps_share_max_over_mean"] = max(moved.values()) * len(moved) / total

    fig.update(job_results(run_dir))
    first = min(rows[0][0] for rows in steps.values())
    last = max(rows[-1][0] for rows in steps.values())
    fig["train_wall_s"] = last - first

    cpu = samples(os.path.join(run_dir, "cpu.txt"), parse_cpu)
    ct = in_window(cpu, t0, t1)
    if ct:
        (ta, a), (tb, b) = ct
        total = 0.0
        for task in b:
            if task not in a or task == "machine" or task.startswith(("oncpu:", "runq:")):
                continue  # started within the window: no figure
            cores = (b[task] - a[task]) / (tb - ta)
            fig["cpu_" + task.replace(":", "")] = cores
            total += cores
        fig["cpu_total"] = total
        if "machine" in a and "machine" in b:
            busy = (b["machine"] - a["machine"]) / (tb - ta)
            fig["cpu_machine_busy"] = busy
            fig["cpu_others"] = max(0.0, busy - total)
        if total_rate > 0:
            fig["cpu_seconds_per_worker_step"] = total / total_rate
        share = runnable_share([row for row in cpu if t0 <= row[0] <= t1], quota_tasks(run_dir))
        if share is not None:
            fig["cpu_share_runnable"] = share
    return fig


def quota_tasks(run_dir):
    """Tasks whose host has a CPU quota (emulate.sh --host_cpu, as hosts.txt
    says): "w2" -> "worker:2", "ps0" -> "ps:0"."""
    out = set()
    path = os.path.join(run_dir, "hosts.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                m = re.match(r"\s*(ps|w)(\d+) .*CPU quota", line)
                if m:
                    out.add(("ps:" if m.group(1) == "ps" else "worker:") + m.group(2))
    return out


def runnable_share(rows, skip=()):
    """The share of a core a runnable thread of the job got in the window:
    the seconds the tasks' threads ran over the seconds they ran or waited
    for a core (oncpu: and runq: of cpu.txt). Summed interval by interval,
    counting a task only where both its counters grew, so that a thread
    ending (its counts leave the sum) does not count; None without samples.
    Tasks in `skip` do not count: a task held back by a CPU quota waits
    "runnable" while its cgroup is throttled, which is not the scheduler's
    share."""
    ran = waited = 0.0
    for (_, a), (_, b) in zip(rows, rows[1:]):
        for key in b:
            if not key.startswith("oncpu:"):
                continue
            task = key[len("oncpu:"):]
            if task in skip:
                continue
            q = "runq:" + task
            if key not in a or q not in a or q not in b:
                continue
            d_run, d_wait = b[key] - a[key], b[q] - a[q]
            if d_run >= 0 and d_wait >= 0:
                ran += d_run
                waited += d_wait
    return ran / (ran + waited) if ran > 0 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--batch", type=int, required=True, help="batch size per worker")
    parser.add_argument("--skip", type=int, default=2, help="warm-up steps of each worker")
    parser.add_argument("--replicas", type=int, default=1,
                        help="SYNC replicas_to_aggregate (1 for ASYNC and STALE)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not os.path.isdir(args.run_dir):
        parser.error(f"{args.run_dir} is not a directory")
    if args.batch < 1 or args.skip < 0 or args.replicas < 1:
        parser.error("--batch and --replicas must be >= 1, --skip >= 0")
    fig = figures(args.run_dir, args.batch, args.skip, args.replicas)
    for k, v in fig.items():
        print(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
