#!/usr/bin/env python3
"""A chaos run: a real 2 ps + 3 worker cluster training mnist_deep on
Fashion-MNIST while tasks are killed with SIGKILL at random times and started
again, as a job manager would; then the invariants are checked and the figures
printed (issue 18, docs/reliability.md "Chaos").

    bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl
    test/chaos.py --mode=async --chaos_minutes=10 --max_steps=16000 --out=runs/chaos_async
    test/chaos.py --mode=sync  --chaos_minutes=10 --max_steps=9000  --out=runs/chaos_sync

Per mode, first an undisturbed run of the same job (the baseline, skipped with
--baseline_accuracy=A), then the chaos run: every --min_gap..--max_gap seconds
(random) one task is killed, the victims in cycles of the six roles in random
order: ps 0, ps 1, the chief (worker 0), worker 1, worker 2, and the chief in
the middle of a checkpoint write (the chief runs with
--testonly_checkpoint_write_delay_ms, which logs "pausing" between the
checkpoint's tensors and its commit; the kill lands there). Each killed task is
started again after --down_min..--down_max seconds with the same flags. Kills
begin after the chief's first checkpoint (before it a restarted ps has nothing
to be restored from, and the chief stops with an error saying so) and stop
after --chaos_minutes or when the job is near its end (95% of max_steps),
whichever is first; then the job runs to its end.

SYNC runs with one backup worker (replicas_to_aggregate 2 of total_replicas 3).

Invariants checked (each failure printed as "FAIL: ..."; exit 1 if any):
  - the job completes: the chief logs its final global step >= max_steps and
    its test accuracy;
  - every task's last process exits 0;
  - ps 0's global step (polled with `tessera_ctl status --json` every
    --poll_secs) goes back only when the chief restores ps 0 from a
    checkpoint, and never below that checkpoint's step; every restore (of ps 0
    or ps 1) takes the latest checkpoint written before it, so a kill loses at
    most the steps since that checkpoint;
  - every checkpoint left in the directory verifies (`tessera_ctl ckpt list`);
  - the final test accuracy is within --accuracy_tolerance (1 point) of the
    baseline's.

Figures: kills by role, steps lost (per restore, ps 0's global step just before
it less the checkpoint's: for ps 0 the global step goes back, for ps 1 its
blocks), time from a restarted ps's start until
ps 0's global step moves again (median, worst), final accuracy against the
baseline, chaos minutes.

Every process started is killed by its PID on exit (also on Ctrl-C and
SIGTERM); ports are free ones from the kernel.
"""

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time

from local_job import (Job, LOG_TIME, add_job_flags, check_job_flags, install_signal_handlers,
                       log, log_seconds, seconds_since_midnight, wait_for_end)


class ChaosJob(Job):
    """The 2 ps + 3 worker job: the chief writes checkpoints and summaries
    and, in the chaos run, pauses in every checkpoint write."""

    def __init__(self, args, out, name, chaos):
        self.chaos = chaos
        directory = os.path.join(out, name)
        self.ckpt = os.path.join(directory, "ckpt")
        sync = args.mode == "sync"
        super().__init__(
            args, directory, 2, 3,
            'model_file: "%s"\n' % args.model +
            'data { idx {} }\n'
            'batch_size: 50\n'
            'max_steps: %d\n' % args.max_steps +
            # Cosine decay to 0 at max_steps: the final accuracy of an
            # undisturbed ASYNC run then varies by ~0.3 points between runs
            # instead of ~1.2 at a constant rate (600 steps: 0.8449-0.8476
            # vs 0.8208-0.8329, 4 runs each), so the 1-point check compares
            # the faults' cost, not the noise of two single runs.
            'optimizer { learning_rate: 3e-4 adam {} '
            'schedule { cosine_decay { decay_steps: %d } } }\n' % args.max_steps +
            'compute_threads: 1\n'
            'log_every_steps: 50\n'
            'save_checkpoint_steps: %d\n' % args.checkpoint_steps +
            'max_to_keep: 1000\n'
            'startup_timeout_secs: 120\n'
            'worker_timeout_secs: 20\n' +
            ('update_mode: SYNC\nreplicas_to_aggregate: 2\ntotal_replicas: 3\n'
             'sync_timeout_secs: 120\n' if sync else ''))

    def task_flags(self, kind, index):
        if kind != "worker" or index != 0:
            return []
        flags = ["--checkpoint_dir=" + self.ckpt,
                 "--summary_dir=" + os.path.join(self.dir, "summaries")]
        if self.chaos:
            flags.append("--testonly_checkpoint_write_delay_ms=%d" % self.args.write_delay_ms)
        return flags


def written_checkpoints(chief_log):
    """[(seconds since midnight, step)] of every checkpoint the chief wrote."""
    return [(log_seconds(m), int(m.group(4))) for m in re.finditer(
        LOG_TIME + r".*wrote checkpoint \S*/ckpt-(\d+) ", chief_log, re.M)]


def restores(chief_log):
    """[(seconds since midnight, ps tasks, checkpoint's global step)] of every
    restore of ps tasks the chief made."""
    return [(log_seconds(m), {int(x) for x in m.group(4).replace(" ", "").split(",") if x},
             int(m.group(5))) for m in re.finditer(
        LOG_TIME + r".*restored ps (?:tasks )?([\d, ]+) from \S*/ckpt-\d+ \(global step (\d+)",
        chief_log, re.M)]


def final_accuracy(chief_log):
    m = re.findall(r"test at global step (\d+): .* accuracy ([\d.]+)", chief_log)
    return (int(m[-1][0]), float(m[-1][1])) if m else (None, None)


def run_baseline(args, out, failures):
    log("baseline: the same job without faults (%d steps, %s)" % (args.max_steps, args.mode))
    job = ChaosJob(args, out, "baseline", chaos=False)
    start = time.time()
    try:
        job.start_all()
        wait_for_end(job, start + args.job_timeout, failures)
    finally:
        job.kill_everything()
    for task, codes in sorted(job.exits.items()):
        if codes[-1] != 0:
            failures.append("baseline: %s exited %s (log %s)" % (task, codes[-1],
                                                                 job.log_path(task)))
    step, acc = final_accuracy(job.read_log("worker_0"))
    log("baseline: accuracy %s at global step %s in %.0f s" % (acc, step, time.time() - start))
    return acc, time.time() - start


def run_chaos(args, out, rng, failures):
    job = ChaosJob(args, out, "chaos", chaos=True)
    roles = ["ps_0", "ps_1", "worker_0", "worker_1", "worker_2", "chief_in_checkpoint"]
    kills = {r: 0 for r in roles}
    cycle = []
    steps = []          # (time, global step) polled from ps 0
    ps_restarts = []    # (task, time of restart)
    pending = []        # (time to restart, task)
    start = time.time()
    # Kills begin after the chief's first checkpoint: before it, a restarted
    # ps has nothing to be restored from and the chief stops (as documented).
    armed_at = None
    chaos_end = next_kill = float("inf")
    last_poll = 0.0
    killing = True
    chaos_seconds = 0.0
    log("chaos: %s, %d steps, kills every %g-%g s for %g minutes; logs in %s" % (
        args.mode, args.max_steps, args.min_gap, args.max_gap, args.chaos_minutes, job.dir))
    try:
        job.start_all()
        deadline = start + args.job_timeout
        while time.time() < deadline:
            now = time.time()
            for when, task in list(pending):
                if now >= when:
                    pending.remove((when, task))
                    job.start(task)
                    if task.startswith("ps"):
                        ps_restarts.append((task, time.time()))
                    log("  started %s again" % task)
            if now - last_poll >= args.poll_secs:
                last_poll = now
                g = job.global_step()
                if g is not None:
                    steps.append((time.time(), g))
            if armed_at is None and "wrote checkpoint" in job.read_log("worker_0"):
                armed_at = now
                chaos_end = now + args.chaos_minutes * 60
                next_kill = now + rng.uniform(args.first_kill_min, args.first_kill_max)
                log("chaos: the first checkpoint is written; kills begin")
            chief_done = not job.running("worker_0") and not any(
                t == "worker_0" for _, t in pending)
            if chief_done and not pending:
                break
            near_end = steps and steps[-1][1] >= 0.95 * args.max_steps
            if killing and (now >= chaos_end or near_end):
                killing = False
                chaos_seconds = now - armed_at if armed_at is not None else 0.0
                log("chaos: kills stop after %.0f s (%s); the job runs to its end" % (
                    chaos_seconds, "time" if now >= chaos_end else "job near its end"))
            if killing and now >= next_kill and not pending:
                if not cycle:  # every role once per cycle, in a random order
                    cycle = roles[:]
                    rng.shuffle(cycle)
                role = cycle.pop()
                task = "worker_0" if role == "chief_in_checkpoint" else role
                if not job.running(task):
                    next_kill = now + 1
                    continue
                if role == "chief_in_checkpoint":
                    # Wait for the next "pausing" (a write between tensors and commit).
                    before = job.read_log("worker_0").count(": pausing ")
                    wait_until = now + args.checkpoint_wait
                    while time.time() < wait_until and job.running("worker_0"):
                        if job.read_log("worker_0").count(": pausing ") > before:
                            break
                        time.sleep(0.05)
                    else:
                        log("  no checkpoint write began within %g s; killing the chief anyway"
                            % args.checkpoint_wait)
                    if not job.running("worker_0"):
                        next_kill = time.time() + 1
                        continue
                job.kill(task)
                kills[role] += 1
                down = rng.uniform(args.down_min, args.down_max)
                pending.append((time.time() + down, task))
                log("  killed %s (%s), restart in %.1f s; global step %s" % (
                    task, role, down, steps[-1][1] if steps else "?"))
                next_kill = time.time() + down + rng.uniform(args.min_gap, args.max_gap)
            time.sleep(0.1)
        else:
            failures.append("the chaos job did not end within --job_timeout=%d s"
                            % args.job_timeout)
        if killing and armed_at is not None:
            chaos_seconds = time.time() - armed_at
        wait_for_end(job, time.time() + 120, failures)
    finally:
        job.kill_everything()
    elapsed = time.time() - start

    # -- Invariants.
    chief_log = job.read_log("worker_0")
    for task in sorted(job.procs):
        codes = job.exits.get(task, [])
        if not codes or codes[-1] != 0:
            failures.append("chaos: %s's last process exited %s (log %s)" % (
                task, codes[-1] if codes else "?", job.log_path(task)))
        bad = [c for c in codes[:-1] if c != -signal.SIGKILL]
        if bad:
            failures.append("chaos: an earlier process of %s exited %s, not by our SIGKILL" % (
                task, bad))
    final = re.findall(r"final global step (\d+)", chief_log)
    if not final or int(final[-1]) < args.max_steps:
        failures.append("chaos: the chief logged no final global step >= %d (got %s)" % (
            args.max_steps, final[-1] if final else "none"))
    written = written_checkpoints(chief_log)
    restored = restores(chief_log)
    polled = [(seconds_since_midnight(t), g) for t, g in steps]
    # Every restore takes the latest checkpoint written before it.
    for at, tasks, g in restored:
        before = [step for ts, step in written if ts <= at]
        if before and g != max(before):
            failures.append("ps %s restored to global step %d, not the latest checkpoint "
                            "written before (ckpt-%d)" % (sorted(tasks), g, max(before)))
    # ps 0's global step goes back only by a restore of ps 0, to at most that
    # checkpoint's step (the poll may see a few steps trained after it).
    for (t0, g0), (t1, g1) in zip(polled, polled[1:]):
        if g1 >= g0:
            continue
        match = [g for at, tasks, g in restored if 0 in tasks and t0 - 1 <= at <= t1 + 1]
        if not match:
            failures.append("ps 0's global step went back %d -> %d with no restore of ps 0 "
                            "logged by the chief" % (g0, g1))
        elif min(match) > g1:
            failures.append("ps 0's global step went back %d -> %d, below the checkpoint it "
                            "was restored from (global step %d)" % (g0, g1, min(match)))
    # Steps lost per restore: ps 0's global step just before it, less the
    # checkpoint's. For ps 0 the global step goes back; for ps 1 alone its
    # blocks do (the global step stays).
    drops, ps1_lost = [], []
    for at, tasks, g in restored:
        before = [step for ts, step in polled if ts <= at]
        if not before:
            continue
        lost = max(before[-1] - g, 0)
        (drops if 0 in tasks else ps1_lost).append(lost)
    listing = subprocess.run([args.ctl_bin, "ckpt", "list", job.ckpt], capture_output=True,
                             text=True)
    rows = [l for l in listing.stdout.splitlines()[1:] if l.strip()]
    bad_rows = [l for l in rows if not re.match(r"^ckpt-\d+ .* ok( |$)", l)]
    if listing.returncode != 0 or not rows or bad_rows:
        failures.append("checkpoints: `tessera_ctl ckpt list` rc %d, %d listed, not ok: %s %s" % (
            listing.returncode, len(rows), bad_rows[:3], listing.stderr.strip()[:300]))

    # Time from each ps restart until ps 0's global step moves again.
    recover = []
    for task, t in ps_restarts:
        after = [(ts, g) for ts, g in steps if ts >= t]
        if not after:
            continue
        first = after[0][1]
        moved = next((ts for ts, g in after if g != first), None)
        if moved is not None:
            recover.append(moved - t)
    step, acc = final_accuracy(chief_log)
    return {"kills": kills, "drops": drops, "ps1_lost": ps1_lost,
            "recover": recover, "accuracy": acc, "final_step": step,
            "chaos_seconds": chaos_seconds, "elapsed": elapsed,
            "checkpoints_left": len(rows), "dir": job.dir}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["async", "sync"], default="async")
    p.add_argument("--max_steps", type=int, default=16000)
    p.add_argument("--chaos_minutes", type=float, default=10)
    p.add_argument("--min_gap", type=float, default=10, help="seconds between kills, at least")
    p.add_argument("--max_gap", type=float, default=30, help="seconds between kills, at most")
    p.add_argument("--first_kill_min", type=float, default=10)
    p.add_argument("--first_kill_max", type=float, default=20)
    p.add_argument("--down_min", type=float, default=0.5, help="seconds a killed task stays down")
    p.add_argument("--down_max", type=float, default=3)
    p.add_argument("--checkpoint_steps", type=int, default=200)
    p.add_argument("--checkpoint_wait", type=float, default=30,
                   help="seconds to wait for a checkpoint write to kill the chief in")
    p.add_argument("--write_delay_ms", type=int, default=300)
    p.add_argument("--poll_secs", type=float, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--accuracy_tolerance", type=float, default=0.01)
    p.add_argument("--baseline_accuracy", type=float, default=None,
                   help="skip the baseline run and compare with this accuracy")
    p.add_argument("--job_timeout", type=int, default=3600)
    p.add_argument("--out", default=None, help="directory for logs and checkpoints")
    add_job_flags(p, "mnist_deep")
    args = p.parse_args()
    for name in ("min_gap", "max_gap", "down_min", "down_max", "chaos_minutes", "poll_secs"):
        if getattr(args, name) <= 0:
            p.error("--%s must be positive" % name)
    if args.min_gap > args.max_gap or args.down_min > args.down_max:
        p.error("--min_gap must be <= --max_gap and --down_min <= --down_max")
    if args.max_steps < 1 or args.checkpoint_steps < 1:
        p.error("--max_steps and --checkpoint_steps must be >= 1")
    check_job_flags(p, args)
    out = args.out or os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"),
                                   "chaos-%s-%d" % (args.mode, os.getpid()))
    os.makedirs(out, exist_ok=True)
    install_signal_handlers()

    failures = []
    rng = random.Random(args.seed)
    if args.baseline_accuracy is None:
        base_acc, base_secs = run_baseline(args, out, failures)
    else:
        base_acc, base_secs = args.baseline_accuracy, None
    r = run_chaos(args, out, rng, failures)
    if base_acc is None or r["accuracy"] is None:
        failures.append("no test accuracy (baseline %s, chaos %s)" % (base_acc, r["accuracy"]))
    elif r["accuracy"] < base_acc - args.accuracy_tolerance:
        failures.append("chaos accuracy %.4f is more than %.2f points below the baseline's %.4f"
                        % (r["accuracy"], 100 * args.accuracy_tolerance, base_acc))

    kills = r["kills"]
    rec = r["recover"]
    print("\n== chaos %s: 2 ps + 3 workers, mnist_deep, %d steps, seed %d (logs: %s)" % (
        args.mode, args.max_steps, args.seed, r["dir"]))
    print("chaos: %.1f minutes of kills, job %.1f minutes in all%s" % (
        r["chaos_seconds"] / 60, r["elapsed"] / 60,
        "" if base_secs is None else " (baseline %.1f minutes)" % (base_secs / 60)))
    print("kills: %d in all: ps 0 %d, ps 1 %d, chief %d (of them in a checkpoint write %d), "
          "worker 1 %d, worker 2 %d" % (
              sum(kills.values()), kills["ps_0"], kills["ps_1"],
              kills["worker_0"] + kills["chief_in_checkpoint"], kills["chief_in_checkpoint"],
              kills["worker_1"], kills["worker_2"]))
    # SYNC: restored blocks continue at the live ps's step, so the global step
    # does not go back when ps 0 is restored alone; its blocks lose the steps.
    print("steps lost: ps 0 restored %d times, its blocks losing %d steps in all (max %d; "
          "the global step goes back with them unless another ps kept a later step in SYNC); "
          "ps 1 alone restored %d times, its blocks losing %d steps (max %d)" % (
              len(r["drops"]), sum(r["drops"]), max(r["drops"], default=0),
              len(r["ps1_lost"]), sum(r["ps1_lost"]), max(r["ps1_lost"], default=0)))
    if rec:
        print("recovery after a ps restart (until ps 0's global step moves): median %.1f s, "
              "worst %.1f s (%d restarts)" % (statistics.median(rec), max(rec), len(rec)))
    else:
        print("recovery after a ps restart: no ps restart measured")
    print("checkpoints left: %d, all verified" % r["checkpoints_left"] if not any(
        f.startswith("checkpoints") for f in failures) else "checkpoints: see FAIL")
    print("final accuracy: chaos %s, baseline %s (tolerance %.1f points)" % (
        r["accuracy"], base_acc, 100 * args.accuracy_tolerance))
    for f in failures:
        print("FAIL: " + f)
    print("chaos_result=%s" % ("ok" if not failures else "failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
