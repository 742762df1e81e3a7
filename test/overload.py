#!/usr/bin/env python3
"""An overload run: one ps against many workers on this machine (issue 18,
docs/reliability.md "Overload"): the ps must keep serving, `tessera_ctl
status` must answer within a second throughout, and no RPC may fail except by
its deadline, with a message naming the RPC and the deadline.

    bazel build //ps:tessera_ps //worker:tessera_worker //tools:tessera_ctl //test:status_probe
    test/overload.py                         # 1 ps + 16 workers of mnist_small, 3000 steps
    test/overload.py --workers=16 --model=examples/models/mnist_deep.pbtxt --max_steps=600

It starts 1 ps and --workers workers (ASYNC, Fashion-MNIST, one compute
thread each, no evaluation at the end) on free loopback ports. From the time
every task serves until the first one exits, every --poll_secs it runs
`tessera_ctl status`, alternately as a table and with --json, and records how
long each run took (the issue's figure: the command as an operator runs it);
in the same poll it times `tessera_ctl tasks`, which starts the same binary
but makes no RPC (what starting a process costs on this machine now), and
samples the ps's CPU time, memory and threads. Beside it, test/status_probe
asks every task for its status over channels kept open, once a second: the
tasks' own answer times, without process start or connection setup.

Sessions: with autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled,
on here) Linux shares the CPU among sessions first, then among the processes
of a session. A job manager starts tasks in sessions of their own, and an
operator runs tessera_ctl from a shell of their own; so the ps, every
tessera_ctl run and the probe start in sessions of their own (setsid), as the
ps would run on a node of its own and tessera_ctl on a login node. The
workers share the driver's session, so that the job takes no more of a shared
machine than one session does. With --same_session everything runs in the
driver's session, and a fresh tessera_ctl competes for that session's share
with the workers' computation.

Checks (each failure printed as "FAIL: ..."; exit 1 if any):
  - every task exits 0, and the chief logs a final global step >= max_steps;
  - every `tessera_ctl status` run in the window exited 0 (every task
    answered) and took less than --status_limit_secs (1 s, the issue's
    figure; the only timing checked);
  - every RPC failure the workers logged is DEADLINE_EXCEEDED with a message
    naming the RPC and its deadline. The Pulls answered "not initialized"
    while non-chief workers wait for the chief are the start-up protocol,
    counted apart; a retried UNAVAILABLE counts as a failure.

Figures: the job's images/s, the ps's CPU (average and busiest poll interval,
in cores), memory and threads, the machine's load average, status latency
(count, median, p99, max) with process start and the tasks' own answers
beside it, and the RPC errors by code (workers' logs, and the ps's error
replies). Every process started is killed by its PID on exit (also on Ctrl-C
and SIGTERM).
"""

import argparse
import collections
import math
import os
import re
import statistics
import subprocess
import sys
import time

from local_job import (Job, LOG_TIME, add_job_flags, binary_base, check_job_flags,
                       install_signal_handlers, log, log_seconds, start_process, wait_for_end)

# A ps RPC named in a worker's log line: the client prefixes every error
# with "<RPC> to ps N at HOST:PORT" (worker/ps_client.cc).
RPC_CONTEXT = re.compile(r"\b(CreateVariables|Pull|Push|Snapshot|WorkerDone) to ps \d+ at \S+")
# A retried UNAVAILABLE: "waiting for ps 0 at host:port (UNAVAILABLE: ...)".
RETRIED = re.compile(r"waiting for ps \d+ at \S+ \(([A-Z_]+):")
# The worker's last line when it fails: "E1205 ... worker:3] DEADLINE_EXCEEDED: ...".
FAILED = re.compile(r"^[EF]\d{4} [\d:.]+ [^\]]*\] ([A-Z_]+): ", re.M)
# The client's message for a call that ran out of its deadline.
DEADLINE_MESSAGE = re.compile(r"no answer within its deadline of \S+")
# An error the ps answered: "W1205 ... ps:0] Pull from ipv4:...: FAILED_PRECONDITION: ...".
PS_ERROR = re.compile(r"^W\d{4} [\d:.]+ ps:\d+\] (\w+) from \S+: ([A-Z_]+): ", re.M)


class OverloadJob(Job):
    """1 ps + --workers workers; the ps in a session of its own unless
    --same_session."""

    def __init__(self, args, directory):
        super().__init__(
            args, directory, 1, args.workers,
            'model_file: "%s"\n' % args.model +
            'data { idx {} }\n'
            'batch_size: %d\n' % args.batch_size +
            'max_steps: %d\n' % args.max_steps +
            'optimizer { learning_rate: 1e-4 adam {} }\n'
            'compute_threads: 1\n'
            'log_every_steps: 100\n'
            'eval_at_end: false\n' +
            ('rpc_timeout_secs: %g\n' % args.rpc_timeout_secs if args.rpc_timeout_secs else ''))

    def own_session(self, kind):
        return kind == "ps" and not self.args.same_session


def percentile(values, q):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def spread(values, unit="s", scale=1.0):
    if not values:
        return "none"
    return "median %.3f %s, p99 %.3f %s, max %.3f %s (%d)" % (
        statistics.median(values) * scale, unit, percentile(values, 99) * scale, unit,
        max(values) * scale, unit, len(values))


def timed(cmd, own_session):
    """(seconds, CompletedProcess) of running `cmd` (in a session of its own
    when `own_session`)."""
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          start_new_session=own_session)
    return time.monotonic() - start, done


def proc_sample(pid):
    """(cpu seconds, resident MiB, threads) of process `pid`, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
    except OSError:
        return None
    rss = re.search(r"VmRSS:\s+(\d+) kB", status)
    threads = re.search(r"Threads:\s+(\d+)", status)
    if rss is None or threads is None:  # exiting
        return None
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return cpu, int(rss.group(1)) / 1024, int(threads.group(1))


def serving(job):
    """Whether every task logged that it serves."""
    for task in job.tasks:
        text = job.read_log(task)
        if "serving on " not in text and "serving Admin on " not in text:
            return False
    return True


def ending(job):
    """Whether the job has begun to end: a worker logged that it is done
    (its servers stop next) or the ps that it shuts down. A status run that
    overlaps this moment may find tasks gone and is not counted."""
    for task in job.tasks:
        text = job.read_log(task)
        if "done at global step " in text or "] shutting down" in text:
            return True
    return False


def classify_rpc_errors(job):
    """(Counter of RPC failures by code in the workers' logs, [bad lines],
    start-up waits): bad lines are failures other than DEADLINE_EXCEEDED
    naming the RPC and its deadline."""
    codes = collections.Counter()
    bad = []
    startup_waits = 0
    for task in job.tasks:
        if not task.startswith("worker"):
            continue
        for line in job.read_log(task).splitlines():
            if not RPC_CONTEXT.search(line):
                continue
            if "not initialized" in line:
                startup_waits += 1
                continue
            retried = RETRIED.search(line)
            failed = FAILED.match(line)
            code = retried.group(1) if retried else failed.group(1) if failed else "NO_CODE"
            codes[code] += 1
            if code != "DEADLINE_EXCEEDED" or not DEADLINE_MESSAGE.search(line):
                bad.append("%s: %s" % (task, line.strip()[:300]))
    return codes, bad, startup_waits


def first_time(text, pattern):
    m = re.search(LOG_TIME + pattern, text, re.M)
    return log_seconds(m) if m else None


def run(args, out, failures):
    job = OverloadJob(args, out)
    ctl = [args.ctl_bin]
    own = not args.same_session
    polls = []      # (kind, seconds, exit code, stderr) of each status run in the window
    starts = []     # seconds of each `tessera_ctl tasks` run in the window
    samples = []    # (time, cpu seconds, rss MiB, threads) of the ps
    loads = [os.getloadavg()[0]]
    window = [None, None]
    probe = None
    log("%d workers of %s against 1 ps, ASYNC, %d steps; logs in %s" % (
        args.workers, os.path.basename(args.model), args.max_steps, job.dir))
    start = time.time()
    try:
        job.start_all()
        probe_out = open(os.path.join(job.dir, "status_probe.txt"), "w")
        runs_log = open(os.path.join(job.dir, "status_runs.txt"), "w", buffering=1)
        probe = start_process([args.probe_bin, "--cluster=" + job.cluster, "--job=",
                               "--interval_ms=1000"], stdout=probe_out,
                              stderr=subprocess.STDOUT, start_new_session=own)
        deadline = start + args.job_timeout
        json_next = False
        while time.time() < deadline:
            poll_start = time.time()
            if any(not job.running(t) for t in job.tasks):
                break
            if window[0] is None:
                if not serving(job):
                    time.sleep(0.2)
                    continue
                window[0] = time.time()
                log("every task serves; polling status every %g s" % args.poll_secs)
            kind = "json" if json_next else "table"
            json_next = not json_next
            secs, done = timed(ctl + ["status", "--cluster=" + job.cluster] +
                               (["--json"] if kind == "json" else []) +
                               (["--timeout=%g" % args.status_timeout_secs]
                                if args.status_timeout_secs > 0 else []), own)
            if any(not job.running(t) for t in job.tasks) or ending(job):
                break  # the job began to end while we asked: not counted
            polls.append((kind, secs, done.returncode, done.stderr.strip()))
            unreachable = [l for l in done.stdout.splitlines() if " unreachable " in l]
            if kind == "json":
                unreachable = re.findall(r'"job":"(\w+)","task":(\d+),[^{}]*?"reachable":false,'
                                         r'"error":"((?:[^"\\]|\\.)*)"', done.stdout)
            runs_log.write("%.3f %s %.3f rc=%d %s\n" % (
                poll_start, kind, secs, done.returncode,
                "; ".join(map(str, unreachable)) if done.returncode else ""))
            start_secs, _ = timed(ctl + ["tasks", "--cluster=" + job.cluster], own)
            starts.append(start_secs)
            sample = proc_sample(job.procs["ps_0"].pid)
            if sample:
                samples.append((time.time(),) + sample)
            loads.append(os.getloadavg()[0])
            if len(polls) % 30 == 0:
                log("  %d status runs, last %.2f s; ps %s" % (
                    len(polls), secs, "%.0f MiB, %d threads" % sample[1:] if sample else "?"))
            time.sleep(max(0.0, poll_start + args.poll_secs - time.time()))
        else:
            failures.append("the job did not end within --job_timeout=%d s" % args.job_timeout)
        window[1] = time.time()
        log("the job is ending: polling stops after %d status runs" % len(polls))
        # The workers end by themselves; the ps once the chief tells it to.
        end = time.time() + args.end_timeout
        while time.time() < end and any(job.running(t) for t in job.tasks[1:]):
            time.sleep(1)
        wait_for_end(job, min(end, time.time() + 30), failures)
    finally:
        if probe is not None and probe.poll() is None:
            probe.kill()
            probe.wait()
        job.kill_everything()
    loads.append(os.getloadavg()[0])
    return job, polls, starts, samples, loads, window, time.time() - start


def probe_latencies(job, window):
    """{task: [seconds]} of the status_probe answers within `window`, and
    the errors (by task) there."""
    answers = collections.defaultdict(list)
    errors = collections.Counter()
    try:
        with open(os.path.join(job.dir, "status_probe.txt")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return answers, errors
    for line in lines:
        fields = line.split(" ", 5)
        if len(fields) < 5 or fields[0] != "probe":
            continue
        t = float(fields[1])
        if window[0] is None or not window[0] <= t <= window[1]:
            continue
        if fields[4] == "OK":
            answers[fields[2]].append(float(fields[3]) / 1000)
        else:
            errors[fields[2]] += 1
    return answers, errors


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--max_steps", type=int, default=3000)
    p.add_argument("--batch_size", type=int, default=50)
    p.add_argument("--rpc_timeout_secs", type=float, default=0,
                   help="the workers' RPC deadline (0: the config's default, 60 s)")
    p.add_argument("--poll_secs", type=float, default=1, help="between status runs")
    p.add_argument("--status_limit_secs", type=float, default=1,
                   help="every status run must take less (the issue's figure); 0: the "
                        "latencies are reported, not checked (the suite's test: no timing "
                        "threshold on a shared machine)")
    p.add_argument("--status_timeout_secs", type=float, default=0,
                   help="tessera_ctl status --timeout (0: its default, 2 s)")
    p.add_argument("--job_timeout", type=int, default=1800)
    p.add_argument("--end_timeout", type=int, default=300,
                   help="seconds for every task to exit after the first did")
    p.add_argument("--same_session", action="store_true",
                   help="run the ps, tessera_ctl and the probe in the driver's session, "
                   "with the workers (see the docstring)")
    p.add_argument("--out", default=None, help="directory for the logs")
    add_job_flags(p, "mnist_small")
    base, _ = binary_base()
    p.add_argument("--probe_bin", default=os.path.join(base, "test/status_probe"))
    args = p.parse_args()
    if args.workers < 1 or args.max_steps < 1 or args.batch_size < 1 or args.poll_secs <= 0:
        p.error("--workers, --max_steps and --batch_size must be >= 1, --poll_secs > 0")
    check_job_flags(p, args, [args.probe_bin])
    out = args.out or os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"),
                                   "overload-%d" % os.getpid())
    install_signal_handlers()

    failures = []
    job, polls, starts, samples, loads, window, elapsed = run(args, out, failures)

    # -- Checks.
    for task in job.tasks:
        codes = job.exits.get(task, [])
        if not codes or codes[-1] != 0:
            failures.append("%s exited %s (log %s)" % (
                task, codes[-1] if codes else "?", job.log_path(task)))
    chief = job.read_log("worker_0")
    final = re.findall(r"final global step (\d+)", chief)
    if not final or int(final[-1]) < args.max_steps:
        failures.append("the chief logged no final global step >= %d (got %s)" % (
            args.max_steps, final[-1] if final else "none"))
    latencies = [secs for _, secs, _, _ in polls]
    failed_polls = [(kind, secs, err) for kind, secs, rc, err in polls if rc != 0]
    answers, probe_errors = probe_latencies(job, window)
    ps_answers = answers.get("ps:0", [])
    worker_answers = [s for task, v in answers.items() if task != "ps:0" for s in v]
    if not polls:
        failures.append("no status run between every task serving and the first exit")
    if failed_polls:
        failures.append("%d of %d status runs failed; the first: %s" % (
            len(failed_polls), len(polls), failed_polls[0][2][:400]))
    slow = [i for i, s in enumerate(latencies)
            if args.status_limit_secs > 0 and s >= args.status_limit_secs]
    if slow:
        # Beside each slow run: the no-RPC start of the same binary just after
        # it, and what the tasks themselves took to answer.
        failures.append(
            "%d of %d status runs took %g s or more (max %.2f s); in those polls, starting "
            "tessera_ctl without any RPC took %.2f-%.2f s (%.2f s in the median poll); the "
            "tasks' own answers over open channels took up to %.2f s (the ps) and %.2f s (the "
            "workers); load average up to %.1f on %d cores" % (
                len(slow), len(latencies), args.status_limit_secs,
                max(latencies[i] for i in slow), min(starts[i] for i in slow),
                max(starts[i] for i in slow), statistics.median(starts),
                max(ps_answers, default=0), max(worker_answers, default=0), max(loads),
                os.cpu_count()))
    rpc_codes, bad_lines, startup_waits = classify_rpc_errors(job)
    for line in bad_lines[:10]:
        failures.append("an RPC failed other than by its deadline: " + line)
    if len(bad_lines) > 10:
        failures.append("... and %d more such lines" % (len(bad_lines) - 10))

    # -- Figures.
    batch = args.batch_size
    t_init = first_time(chief, r".*(initialized the variables on|restored ps)")
    t_final = first_time(chief, r".*final global step ")
    print("\n== overload: 1 ps + %d workers, %s, ASYNC, batch %d, %d steps (logs: %s)" % (
        args.workers, os.path.basename(args.model), batch, args.max_steps, job.dir))
    if final and t_init is not None and t_final is not None and t_final > t_init:
        print("job: global step %s in %.0f s of training (%.0f s in all): %.0f images/s" % (
            final[-1], t_final - t_init, elapsed, int(final[-1]) * batch / (t_final - t_init)))
    else:
        print("job: no training time in the chief's log (%.0f s in all)" % elapsed)
    if len(samples) >= 2:
        busy = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:])
                if b[0] > a[0]]
        print("ps: CPU %.2f cores on average while polled, %.2f in the busiest interval; "
              "resident up to %.0f MiB; up to %d threads" % (
                  (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0]),
                  max(busy), max(s[2] for s in samples), max(s[3] for s in samples)))
    print("machine: %d cores, load average %.1f at the start, up to %.1f, %.1f at the end" % (
        os.cpu_count(), loads[0], max(loads), loads[-1]))
    print("status (tessera_ctl status, %d tasks): %s; table %s; --json %s; failed %d" % (
        len(job.tasks), spread(latencies),
        spread([s for k, s, _, _ in polls if k == "table"]),
        spread([s for k, s, _, _ in polls if k == "json"]), len(failed_polls)))
    print("  process start (tessera_ctl tasks, no RPC): %s" % spread(starts))
    print("  answers over open channels (status_probe): ps %s; workers %s; errors %d" % (
        spread(ps_answers), spread(worker_answers), sum(probe_errors.values())))
    print("RPC errors in the workers' logs by code: %s; start-up waits for the chief "
          "(not initialized, by design): %d" % (
              ", ".join("%s %d" % kv for kv in sorted(rpc_codes.items())) or "none",
              startup_waits))
    ps_errors = collections.Counter(
        "%s %s" % m for m in PS_ERROR.findall(job.read_log("ps_0")))
    print("error replies of the ps by RPC and code: %s" % (
        ", ".join("%s %d" % kv for kv in sorted(ps_errors.items())) or "none"))
    for f in failures:
        print("FAIL: " + f)
    print("overload_result=%s" % ("ok" if not failures else "failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
