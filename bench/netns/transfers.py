#!/usr/bin/python3
"""How the ps served concurrent pulls and pushes in one emulated job
(bench/netns/emulate.sh's RUN_DIR; docs/scaling.md).

  transfers.py RUN_DIR --bytes=B [--skip=3] [--sched=FILE --pid=PID]

From every worker's progress lines (log_every_steps: 1; each says how long
the step's pull, compute and push took, worker/worker.cc) it rebuilds each
transfer's interval: the push ends at the line's time, the computation before
it, the pull before that. Then, over the job without each worker's first
--skip steps:
  states        the share of the time the ps spent serving each (pulls,
                pushes) combination: how far the workers were from moving in
                step (all pulls or all pushes at once) or spread out
  sharing       B (the model's bytes per pull = per push) over each transfer's
                duration weighted by what it shared with: "per direction" as
                if each direction of the ps's link were shared evenly by the
                transfers going that way; "one server" as if pulls and pushes
                together shared one resource. The rule under which these rates
                are alike (lower spread, cv) is the one the ps followed
  gaps          for transfers of one direction overlapping the next one's
                start: the gap between their starts and between their ends.
                Even sharing keeps the gap; first come, first served widens it
                to a whole transfer
With --sched (a thread_sampler.py file of the job) and --pid (the ps's PID):
the cores that process used and its runnable threads (ran or waited for a
core, schedstat) in each state.
"""

import argparse
import collections
import datetime
import os
import re
import statistics
import sys

LINE = re.compile(
    r"^I(\d{4}) (\d\d):(\d\d):(\d\d\.\d+) worker:(\d+)\] global step \d+ \(local (\d+)\).*"
    r"per step: pull ([0-9.]+) ms, compute ([0-9.]+) ms(?: \(CPU [0-9.]+ ms\))?, push ([0-9.]+) ms")


def seconds_of_day(hh, mi, ss):
    return int(hh) * 3600 + int(mi) * 60 + float(ss)


def transfers(run_dir, skip):
    """[(worker, "pull" | "push", start, end)] in seconds of the UTC day."""
    out = []
    for name in sorted(os.listdir(run_dir)):
        if not re.match(r"worker_\d+\.log$", name):
            continue
        with open(os.path.join(run_dir, name), errors="replace") as f:
            for line in f:
                m = LINE.match(line)
                if not m or int(m.group(6)) <= skip:
                    continue
                end = seconds_of_day(*m.group(2, 3, 4))
                pull, compute, push = (float(m.group(i)) / 1000 for i in (7, 8, 9))
                w = int(m.group(5))
                out.append((w, "push", end - push, end))
                out.append((w, "pull", end - push - compute - pull, end - push - compute))
    return out


def pieces(xs, lo, hi):
    """[(start, end, pulls, pushes)]: [lo, hi] cut where any transfer starts or ends."""
    cuts = sorted({lo, hi} | {t for x in xs for t in x[2:] if lo < t < hi})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        mid = (a + b) / 2
        out.append((a, b, sum(1 for x in xs if x[1] == "pull" and x[2] <= mid < x[3]),
                    sum(1 for x in xs if x[1] == "push" and x[2] <= mid < x[3])))
    return out


def states(xs, lo, hi):
    """{(pulls, pushes): share of [lo, hi]}."""
    share = collections.Counter()
    for a, b, pulls, pushes in pieces(xs, lo, hi):
        share[(pulls, pushes)] += (b - a) / (hi - lo)
    return share


def sharing(xs, nbytes, lo, hi):
    """{"per direction": [rate of each transfer], "one server": [...]} for the
    transfers inside [lo, hi] (see the module comment)."""
    out = {"per direction": [], "one server": []}
    for x in xs:
        if not (lo <= x[2] and x[3] <= hi) or x[3] <= x[2]:
            continue
        own = one = 0.0
        for a, b, pulls, pushes in pieces(xs, x[2], x[3]):
            same = pulls if x[1] == "pull" else pushes
            own += (b - a) / max(1, same)
            one += (b - a) / max(1, pulls + pushes)
        out["per direction"].append(nbytes / own)
        out["one server"].append(nbytes / one)
    return out


def gaps(xs, kind):
    """[(start gap, end gap)] of consecutive `kind` transfers that overlap."""
    mine = sorted((x[2], x[3]) for x in xs if x[1] == kind)
    return [(b[0] - a[0], b[1] - a[1]) for a, b in zip(mine, mine[1:]) if b[0] < a[1]]


def sched_by_state(path, pid, xs, lo, hi):
    """{(pulls, pushes): (seconds, cores used, runnable threads)} of process
    `pid` from a thread_sampler.py file."""
    samples = collections.defaultdict(dict)  # time -> tid -> (run, wait)
    with open(path) as f:
        for line in f:
            t, p, tid, _, run, wait = line.split()
            if p == pid:
                samples[float(t)][tid] = (int(run) / 1e9, int(wait) / 1e9)
    acc = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    times = sorted(samples)
    for a, b in zip(times, times[1:]):
        d = datetime.datetime.fromtimestamp((a + b) / 2, datetime.timezone.utc)
        mid = d.hour * 3600 + d.minute * 60 + d.second + d.microsecond / 1e6
        if not lo <= mid <= hi:
            continue
        state = (sum(1 for x in xs if x[1] == "pull" and x[2] <= mid < x[3]),
                 sum(1 for x in xs if x[1] == "push" and x[2] <= mid < x[3]))
        ran = waited = 0.0
        for tid, (run_b, wait_b) in samples[b].items():
            if tid in samples[a]:
                ran += run_b - samples[a][tid][0]
                waited += wait_b - samples[a][tid][1]
        acc[state][0] += b - a
        acc[state][1] += ran
        acc[state][2] += ran + waited
    return {s: (v[0], v[1] / v[0], v[2] / v[0]) for s, v in acc.items() if v[0] > 0}


def cv(values):
    return statistics.pstdev(values) / statistics.mean(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--bytes", type=float, required=True,
                        help="bytes of one pull (= one push): the model's variables")
    parser.add_argument("--skip", type=int, default=3, help="each worker's first steps left out")
    parser.add_argument("--sched", help="a thread_sampler.py file of the job")
    parser.add_argument("--pid", help="with --sched: the process to break down (the ps)")
    args = parser.parse_args()
    xs = transfers(args.run_dir, args.skip)
    if len(xs) < 4:
        sys.exit(f"transfers: {args.run_dir}: fewer than 2 steps with per-step figures "
                 "(log_every_steps: 1, a worker that logs pull/compute/push?)")
    lo, hi = min(x[2] for x in xs), max(x[3] for x in xs)
    print(f"{len(xs) // 2} steps of {len({x[0] for x in xs})} workers over {hi - lo:.1f} s")
    print("states (pulls, pushes): share of the time")
    for state, share in sorted(states(xs, lo, hi).items(), key=lambda kv: -kv[1]):
        if share >= 0.01:
            print(f"  {state}: {share:.2f}")
    for rule, rates in sharing(xs, args.bytes, lo, hi).items():
        print(f"sharing {rule}: {statistics.mean(rates) / 1e6:.1f} MB/s per transfer, "
              f"cv {cv(rates):.2f} ({len(rates)} transfers)")
    for kind in ("pull", "push"):
        g = gaps(xs, kind)
        if g:
            print(f"gaps {kind}: {len(g)} overlapping pairs, start gap {statistics.mean(a for a, _ in g):.3f} s, "
                  f"end gap {statistics.mean(b for _, b in g):.3f} s")
    if args.sched and args.pid:
        print(f"process {args.pid}: seconds, cores, runnable threads by state")
        for state, (secs, cores, runnable) in sorted(sched_by_state(args.sched, args.pid, xs, lo, hi).items()):
            if secs >= 0.5:
                print(f"  {state}: {secs:.1f} s, {cores:.2f} cores, {runnable:.2f} runnable threads")


if __name__ == "__main__":
    main()
