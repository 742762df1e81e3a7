#!/usr/bin/python3
"""bench/netns/transfers.py: transfers rebuilt from progress lines, the ps's
states, the sharing rates and the gaps, on made-up logs."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import transfers as t  # noqa: E402

S = 100e6  # bytes per pull and per push


def line(secs, worker, local, pull_ms, compute_ms, push_ms):
    hh, rest = divmod(secs, 3600)
    mi, ss = divmod(rest, 60)
    return (f"I1205 {int(hh):02d}:{int(mi):02d}:{ss:09.6f} worker:{worker}] global step {local} "
            f"(local {local}) loss 1, 2 images/s, input wait 0.0%; per step: pull {pull_ms:.1f} ms, "
            f"compute {compute_ms:.1f} ms (CPU {compute_ms:.1f} ms), push {push_ms:.1f} ms\n")


def write_logs(steps):
    """steps: {worker: [(end_secs, pull_ms, compute_ms, push_ms)]} -> a run dir."""
    d = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    for w, rows in steps.items():
        with open(os.path.join(d, f"worker_{w}.log"), "w") as f:
            f.write("I1205 10:00:00.000000 worker:0] some other line\n")
            for local, (end, pull, compute, push) in enumerate(rows, start=1):
                f.write(line(36000 + end, w, local, pull, compute, push))
    return d


class TransfersTest(unittest.TestCase):
    def test_workers_in_step_share_each_direction_evenly(self):
        # Two workers pulling together for 2 s, then pushing together for 2 s.
        rows = [(4.0 * k, 2000.0, 0.0, 2000.0) for k in range(1, 9)]
        xs = t.transfers(write_logs({0: rows, 1: rows}), skip=2)
        self.assertEqual(len(xs), 2 * 2 * 6)
        self.assertIn((0, "pull", 36000 + 12.0, 36000 + 14.0), xs)
        lo, hi = min(x[2] for x in xs), max(x[3] for x in xs)
        st = t.states(xs, lo, hi)
        self.assertAlmostEqual(st[(2, 0)], 0.5)
        self.assertAlmostEqual(st[(0, 2)], 0.5)
        rates = t.sharing(xs, S, lo, hi)
        # 100 MB in 2 s shared with one other: 100 MB/s under both rules.
        for rule in ("per direction", "one server"):
            for r in rates[rule]:
                self.assertAlmostEqual(r, 100e6, delta=1)
        self.assertEqual({g for g in t.gaps(xs, "pull")}, {(0.0, 0.0)})

    def test_spread_workers_tell_the_rules_apart(self):
        # Worker 1 a transfer behind worker 0: one pulls while the other
        # pushes, each alone in its direction (1 s each).
        w0 = [(2.0 * k, 1000.0, 0.0, 1000.0) for k in range(1, 9)]
        w1 = [(2.0 * k + 1.0, 1000.0, 0.0, 1000.0) for k in range(1, 9)]
        xs = t.transfers(write_logs({0: w0, 1: w1}), skip=2)
        lo, hi = min(x[2] for x in xs), max(x[3] for x in xs)
        st = t.states(xs, lo, hi)
        self.assertGreater(st[(1, 1)], 0.8)
        rates = t.sharing(xs, S, lo, hi)
        # Alone in its direction: 100 MB/s; as one server shared with the
        # other direction it would have had 200 MB/s (but at the ends).
        self.assertAlmostEqual(sum(rates["per direction"]) / len(rates["per direction"]), 100e6, delta=1e6)
        self.assertGreater(sorted(rates["one server"])[len(rates["one server"]) // 2], 150e6)
        self.assertEqual(t.gaps(xs, "pull"), [])  # no two pulls overlap

    def test_the_command_prints_its_figures_and_refuses_logs_without_them(self):
        rows = [(4.0 * k, 2000.0, 0.0, 2000.0) for k in range(1, 9)]
        d = write_logs({0: rows, 1: rows})
        out = subprocess.run([sys.executable, os.path.join(HERE, "transfers.py"), d, "--bytes=1e8"],
                             check=True, capture_output=True, text=True).stdout
        self.assertIn("sharing per direction: 100.0 MB/s per transfer, cv 0.00", out)
        empty = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        bad = subprocess.run([sys.executable, os.path.join(HERE, "transfers.py"), empty, "--bytes=1e8"],
                             capture_output=True, text=True)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("per-step figures", bad.stderr)


if __name__ == "__main__":
    unittest.main()
