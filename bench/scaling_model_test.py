#!/usr/bin/python3
"""bench/scaling_model.py: the simulation agrees with the closed forms where
both are exact, the update modes and backup workers behave as Tessera's do,
ring all-reduce moves 2(N-1)/N of the model per worker, and the commands run."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scaling_model as m  # noqa: E402

# 80 MB over 100 MB/s links, 50 ms of compute: communication-bound.
COSTS = m.Costs(bytes=80e6, compute_s=0.05, link_bytes_per_s=100e6, batch=8, latency_s=1e-4,
                jitter=0.0)


class SimulationTest(unittest.TestCase):
    def test_one_worker_step_is_pull_compute_push(self):
        r = m.simulate(COSTS, 1, 1, "async", seeds=1)
        step = 2 * 1e-4 + 2 * 0.8 + 0.05
        self.assertAlmostEqual(r["worker_steps_per_sec"], 1 / step, delta=0.002 / step)

    def test_sync_matches_the_closed_form(self):
        for workers, ps in ((2, 1), (4, 2), (4, 4), (3, 2)):
            sim = m.simulate(COSTS, workers, ps, "sync", seeds=1)["worker_steps_per_sec"]
            closed = m.analytic(COSTS, workers, ps, "sync")["worker_steps_per_sec"]
            self.assertAlmostEqual(sim, closed, delta=0.01 * closed, msg=f"W={workers} P={ps}")

    def test_ps_links_bound_sync_until_workers_links_do(self):
        # SYNC, 4 workers: each ps link carries 4/P models per phase.
        rates = [m.analytic(COSTS, 4, ps, "sync")["worker_steps_per_sec"] for ps in (1, 2, 4)]
        self.assertAlmostEqual(rates[1] / rates[0], 2.0, delta=0.1)
        self.assertAlmostEqual(rates[2] / rates[0], 4.0, delta=0.3)
        # 8 ps for 4 workers: the workers' own links are the limit.
        self.assertAlmostEqual(m.analytic(COSTS, 4, 8, "sync")["worker_steps_per_sec"], rates[2], delta=0.01)

    def test_async_never_beats_its_bound(self):
        for workers, ps in ((2, 1), (4, 1), (4, 2)):
            sim = m.simulate(dataclass_replace(COSTS, jitter=0.05), workers, ps, "async")
            bound = m.analytic(COSTS, workers, ps, "async")
            self.assertLessEqual(sim["worker_steps_per_sec"], bound["worker_steps_per_sec"] * 1.01)

    def test_a_backup_worker_keeps_sync_from_waiting_for_a_straggler(self):
        c = m.Costs(bytes=1e6, compute_s=0.05, link_bytes_per_s=1e9, batch=50, jitter=0.0,
                    cpu_pool=3.0)
        slow = {"w2": 0.2}  # a fifth of a core: compute 5x slower
        all3 = m.Simulation(c, 3, 1, "sync", replicas=3, quotas=slow).run(20)
        backup = m.Simulation(c, 3, 1, "sync", replicas=2, quotas=slow).run(20)
        free = m.Simulation(c, 3, 1, "async", quotas=slow).run(20)
        fast_all3 = all3["per_worker_steps_per_sec"][0]
        fast_backup = backup["per_worker_steps_per_sec"][0]
        # Without a backup everyone runs at the straggler's pace.
        self.assertAlmostEqual(fast_all3, all3["per_worker_steps_per_sec"][2], delta=0.05 * fast_all3)
        # With one, the fast workers run about as fast as in ASYNC and the
        # straggler's pushes are dropped.
        self.assertGreater(fast_backup, 3 * fast_all3)
        self.assertAlmostEqual(fast_backup, free["per_worker_steps_per_sec"][0], delta=0.15 * fast_backup)
        self.assertGreater(backup["dropped_fraction"], 0.05)
        self.assertEqual(all3["dropped_fraction"], 0.0)

    def test_stale_bounds_how_far_the_fast_workers_run_ahead(self):
        c = m.Costs(bytes=1e6, compute_s=0.05, link_bytes_per_s=1e9, batch=50, jitter=0.0,
                    cpu_pool=3.0)
        sim = m.Simulation(c, 3, 1, "stale", staleness=2, quotas={"w2": 0.2})
        sim.run(20)
        self.assertLessEqual(max(sim.pushes) - min(sim.pushes), 3)

    def test_a_shared_cpu_pool_slows_compute_bound_jobs(self):
        c = m.Costs(bytes=1e3, compute_s=0.1, link_bytes_per_s=1e9, batch=1, jitter=0.0)
        own = m.simulate(c, 4, 1, "async", seeds=1)["worker_steps_per_sec"]
        pooled = m.simulate(dataclass_replace(c, cpu_pool=2.0), 4, 1, "async", seeds=1)["worker_steps_per_sec"]
        self.assertAlmostEqual(own, 40, delta=1)
        self.assertAlmostEqual(pooled, 20, delta=1)

    def test_other_programs_threads_take_equal_shares_of_the_pool(self):
        # One computing worker thread against N always-runnable threads of
        # other programs on 2 cores: it gets 2 / (N + 1) of a core, at most 1.
        c = m.Costs(bytes=1e3, compute_s=0.1, link_bytes_per_s=1e9, batch=1, jitter=0.0, cpu_pool=2.0)
        for others, share in ((0.0, 1.0), (1.0, 1.0), (3.0, 0.5), (7.0, 0.25)):
            steps = m.simulate(dataclass_replace(c, others_threads=others), 1, 1, "async",
                               seeds=1)["worker_steps_per_sec"]
            self.assertAlmostEqual(steps, share / 0.1, delta=0.03 * share / 0.1, msg=f"others={others}")

    def test_a_link_bound_job_keeps_its_speed_while_its_threads_need_less_than_a_share(self):
        # Moving 100 MB/s at 1 ns per byte takes a tenth of a core on each side:
        # below the 2 / 4 of a core each thread gets against 3 other threads.
        c = dataclass_replace(COSTS, cpu_pool=2.0, worker_cpu_s_per_byte=1e-9, ps_cpu_s_per_byte=1e-9,
                              compute_s=1e-3)
        alone = m.simulate(c, 1, 1, "async", seeds=1)["worker_steps_per_sec"]
        shared = m.simulate(dataclass_replace(c, others_threads=3.0), 1, 1, "async",
                            seeds=1)["worker_steps_per_sec"]
        self.assertAlmostEqual(shared, alone, delta=0.01 * alone)
        # Against 39 threads (a twentieth of a core each) the transport is CPU-bound.
        crowded = m.simulate(dataclass_replace(c, others_threads=39.0), 1, 1, "async",
                             seeds=1)["worker_steps_per_sec"]
        self.assertLess(crowded, 0.7 * alone)

    def test_a_ps_serving_many_flows_counts_as_its_transport_threads(self):
        # SYNC, 4 workers, 1 ps whose transport is CPU-bound (10 ns per byte):
        # a step moves 8 MB through it, 0.08 CPU seconds. On one thread against
        # 3 other programs' threads it gets half a core: 0.16 s a step, 25
        # worker steps/s. Counted as 4 threads it would get 8/7 of a core.
        c = m.Costs(bytes=1e6, compute_s=1e-3, link_bytes_per_s=1e9, batch=1, jitter=0.0, cpu_pool=2.0,
                    ps_cpu_s_per_byte=1e-8, worker_cpu_s_per_byte=1e-9, others_threads=3.0,
                    ps_transport_threads=1.0)
        one = m.simulate(c, 4, 1, "sync", seeds=1)["worker_steps_per_sec"]
        four = m.simulate(dataclass_replace(c, ps_transport_threads=4.0), 4, 1, "sync",
                          seeds=1)["worker_steps_per_sec"]
        self.assertAlmostEqual(one, 25.0, delta=2.5)
        self.assertGreater(four, 2 * one)

    def test_a_ps_uses_grpcs_callback_threads_by_default(self):
        # gRPC serves the ps's streams on clamp(cores / 2, 2, 16) threads: 2 here.
        self.assertEqual([m.grpc_callback_threads(n) for n in (1, 2, 4, 16, 64)], [2, 2, 2, 8, 16])
        self.assertEqual(m.Costs(bytes=1, compute_s=1, link_bytes_per_s=1, batch=1).ps_transport_threads, 2.0)
        # The same CPU-bound ps as above, on 2 threads against 3 other threads:
        # 2 x 2/5 of a core, 0.8 of a core: 0.1 s a step, 40 worker steps/s.
        c = m.Costs(bytes=1e6, compute_s=1e-3, link_bytes_per_s=1e9, batch=1, jitter=0.0, cpu_pool=2.0,
                    ps_cpu_s_per_byte=1e-8, worker_cpu_s_per_byte=1e-9, others_threads=3.0)
        self.assertAlmostEqual(m.simulate(c, 4, 1, "sync", seeds=1)["worker_steps_per_sec"], 40.0, delta=4.0)

    def test_first_come_links_let_async_workers_on_one_ps_fall_out_of_step(self):
        # 2 ASYNC workers, 1 ps, compute negligible. First come, first served,
        # they fall into one pulling while the other pushes (2 transfer times
        # per 2 steps) from whatever phase they start at; shared evenly they
        # keep their phase (between that and 4 transfer times, in step).
        c = dataclass_replace(COSTS, compute_s=1e-3, latency_s=0.0, jitter=0.0)
        transfer = 0.8
        for seed in (1, 2, 3):
            fair = m.Simulation(c, 2, 1, "async", seed=seed).run(40)["worker_steps_per_sec"]
            first = m.Simulation(dataclass_replace(c, links_first_come=True), 2, 1, "async",
                                 seed=seed).run(40)["worker_steps_per_sec"]
            self.assertAlmostEqual(first, 2 / (2 * transfer), delta=0.05 * 2 / (2 * transfer))
            self.assertLessEqual(fair, first * 1.01)

    def test_with_others_counts_threads_from_the_share_a_runnable_thread_got(self):
        c = m.Costs(bytes=1e3, compute_s=0.1, link_bytes_per_s=1e9, batch=1, cpu_pool=2.0)
        self.assertAlmostEqual(m.with_others(c, {"cpu_others": 1.5, "cpu_share_runnable": 0.3}).others_threads, 5.0)
        # Without schedstat: the cores other programs left.
        old = m.with_others(c, {"cpu_others": 1.5})
        self.assertEqual((old.others_threads, old.cpu_pool), (0.0, 0.5))
        # Dedicated hosts: nothing to share.
        self.assertEqual(m.with_others(dataclass_replace(c, cpu_pool=0.0), {"cpu_others": 1.5}).cpu_pool, 0.0)


    def test_each_run_brings_the_cpu_its_work_took(self):
        c = m.Costs(bytes=1e6, compute_s=0.020, link_bytes_per_s=1e9, batch=50, cpu_pool=2.0,
                    worker_cpu_s_per_byte=3e-9, ps_cpu_s_per_byte=2e-9)
        # Workers 0 and 1: 24 and 26 ms computing of 30 and 32 ms of CPU a step
        # (6 ms moving 2 MB: 3 ns/byte); the quota'd straggler is left out, its
        # figures would decide its own speed. The ps: 0.05 cores for 10 worker
        # steps/s of 2 MB each: 2.5 ns/byte.
        measured = {"w0_compute_cpu_s": 0.024, "w1_compute_cpu_s": 0.026, "w2_compute_cpu_s": 0.050,
                    "w0_steps_per_sec": 4.0, "w1_steps_per_sec": 4.0, "w2_steps_per_sec": 2.0,
                    "cpu_worker0": 0.12, "cpu_worker1": 0.128, "cpu_worker2": 0.1,
                    "worker_steps_per_sec": 10.0, "cpu_ps0": 0.05}
        costs, taken = m.with_run_costs(c, measured, 3, 1, {"w2": 0.1})
        self.assertAlmostEqual(costs.compute_s, 0.025)
        self.assertAlmostEqual(costs.worker_cpu_s_per_byte, 3e-9)
        self.assertAlmostEqual(costs.ps_cpu_s_per_byte, 2.5e-9)
        self.assertEqual(set(taken), {"compute_s", "worker_cpu_s_per_byte", "ps_cpu_s_per_byte"})
        # A run without the workers' figures keeps the calibration's.
        self.assertEqual(m.with_run_costs(c, {"cpu_ps0": 0.05}, 3, 1), (c, {}))
        # A quota'd worker at a fifth of a core: 1 / (5 x its CPU a step) steps/s.
        slow = m.Simulation(dataclass_replace(costs, jitter=0.0), 1, 1, "async", quotas={"w0": 0.2}).run(20)
        self.assertAlmostEqual(slow["worker_steps_per_sec"], 0.2 / (0.025 + 2e6 * 3e-9), delta=0.3)

    def test_async_workers_keep_the_phase_they_start_with(self):
        # Under even sharing the offset between ASYNC workers is neutral: in
        # step (both pull, then both push) they make a step per 4 transfer
        # times between them; half a step apart (one pulls while the other
        # pushes), one per 2. So the simulation starts each at a random point
        # of its step, and seeds differ.
        c = dataclass_replace(COSTS, compute_s=1e-3, latency_s=0.0, jitter=0.0)
        rates = [m.Simulation(c, 2, 1, "async", seed=s).run(40)["worker_steps_per_sec"] for s in range(1, 9)]
        transfer = 0.8
        for r in rates:
            self.assertGreaterEqual(r, 2 / (4 * transfer) * 0.97)
            self.assertLessEqual(r, 2 / (2 * transfer) * 1.03)
        self.assertGreater(max(rates) - min(rates), 0.2 * 2 / (4 * transfer))


class ClosedFormTest(unittest.TestCase):
    def test_ring_allreduce_moves_two_n_minus_one_over_n(self):
        c = dataclass_replace(COSTS, latency_s=0.0)
        for n in (2, 4, 16):
            step = n / m.allreduce(c, n, 0.0)["worker_steps_per_sec"]
            self.assertAlmostEqual(step, 0.05 + 2 * (n - 1) / n * 0.8, places=6)

    def test_overlapping_push_and_pull_halves_the_link_time(self):
        c = dataclass_replace(COSTS, compute_s=1e-9, latency_s=0.0)
        plain = m.analytic(c, 4, 4, "sync")["worker_steps_per_sec"]
        overlap = m.analytic(c, 4, 4, "sync_overlap")["worker_steps_per_sec"]
        self.assertAlmostEqual(overlap / plain, 2.0, places=3)

    def test_a_big_ps_host_moves_bytes_on_grpcs_threads_only(self):
        # 16 cores, but gRPC's 8 callback threads: the ps CPU bound is 8 cores'.
        c = dataclass_replace(COSTS, ps_cpu_s_per_byte=1e-7, ps_cores=16.0, latency_s=0.0)
        self.assertAlmostEqual(m._transfer_s(c, 16, 1), 16 * 80e6 * 1e-7 / 8, places=6)

    def test_advise_needs_more_ps_for_more_workers(self):
        _, few = m.advise(COSTS, 4)
        _, many = m.advise(COSTS, 16)
        self.assertLessEqual(few[0.9], many[0.9])
        self.assertLessEqual(few[0.9], few[0.95])


class CommandTest(unittest.TestCase):
    def run_model(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "scaling_model.py"), *args],
                              check=True, capture_output=True, text=True).stdout

    def test_validate_prints_every_run_and_its_error(self):
        tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        costs = dict(bytes=80e6, compute_s=0.05, link_bytes_per_s=100e6, batch=8, cpu_pool=2.0)
        results = {"calibration": {"costs": costs},
                   "runs": [{"name": "sync_w2_p1", "config": {"mode": "sync", "workers": 2, "ps": 1},
                             "measured": {"images_per_sec": 2.4}},
                            {"name": "async_w2_p2", "config": {"mode": "async", "workers": 2, "ps": 2},
                             "measured": {"images_per_sec": 9.0}}]}
        path = os.path.join(tmp, "results.json")
        with open(path, "w") as f:
            json.dump(results, f)
        out = self.run_model("validate", path, "--json=" + os.path.join(tmp, "v.json"))
        self.assertIn("sync_w2_p1", out)
        self.assertIn("async_w2_p2", out)
        with open(os.path.join(tmp, "v.json")) as f:
            rows = json.load(f)["rows"]
        self.assertEqual(len(rows), 2)
        # SYNC, 2 workers, 1 ps: a step is 2 x 1.6 s (two models through the ps link
        # each way) + 0.05 s, and makes 2 x 8 images.
        self.assertAlmostEqual(rows[0]["simulated_images_per_sec"], 2 * 8 / 3.25, delta=0.1)

    def test_advise_and_bad_arguments(self):
        out = self.run_model("advise", "--bytes=1e8", "--compute_s=0.2", "--workers=16", "--gbit=10")
        self.assertIn("within 90%", out)
        bad = subprocess.run([sys.executable, os.path.join(HERE, "scaling_model.py"), "advise",
                              "--bytes=0", "--compute_s=0.2", "--workers=16", "--gbit=10"],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("must be > 0", bad.stderr)


def dataclass_replace(c, **kw):
    import dataclasses
    return dataclasses.replace(c, **kw)


if __name__ == "__main__":
    unittest.main()
