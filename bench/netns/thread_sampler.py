#!/usr/bin/python3
"""Every thread's run and run-queue time of some processes, sampled often
(docs/scaling.md; bench/netns/transfers.py --sched reads it).

  thread_sampler.py OUT PID [PID...] [--every=0.05]

Appends `UNIX_TIME PID TID COMM RUN_NS WAIT_NS` lines (/proc/PID/task/TID/
schedstat: nanoseconds the thread ran, and waited runnable for a core) every
--every seconds until every PID has exited. Costs a few percent of a core at
0.05 s for a handful of processes.
"""

import argparse
import os
import time


def sample(out, pids):
    """One sample of every thread of `pids`; returns how many are alive."""
    now = time.time()
    alive = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        alive += 1
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    comm = f.read().strip().replace(" ", "_")
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    run, wait, _ = f.read().split()
            except (OSError, ValueError):
                continue  # the thread ended meanwhile
            out.write(f"{now:.4f} {pid} {tid} {comm} {run} {wait}\n")
    return alive


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("pids", nargs="+")
    parser.add_argument("--every", type=float, default=0.05)
    args = parser.parse_args()
    if args.every <= 0:
        parser.error("--every must be > 0")
    with open(args.out, "a") as out:
        while sample(out, args.pids):
            time.sleep(args.every)


if __name__ == "__main__":
    main()
