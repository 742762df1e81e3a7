#!/usr/bin/python3
"""A scaling model of parameter-server and ring all-reduce training (docs/scaling.md).

Takes measured costs (compute per step, bytes per step, link bandwidth and
latency, CPU per byte at workers and ps) and predicts images/s and efficiency
for W workers and P ps in ASYNC, SYNC (with backup workers) and STALE, and for
ring all-reduce on the same links.

Two engines:
  simulate()  a discrete-event simulation at the level of flows: every pull and
              push is one flow per ps; flows share each host's link in each
              direction (full duplex) and CPU max-min fairly; compute runs on
              CPU (a host's own cores, or one pool shared by every task, as on
              the emulation's one machine, where the cores go in equal shares
              to runnable threads: a computing worker, each task's transport
              threads, and other programs' threads, others_threads; links
              shared evenly or, links_first_come, first come first served);
              SYNC, backup workers and STALE
              follow Tessera's rules (docs/update_modes.md). Used where W and
              P are small: the emulated runs, stragglers.
  analytic()  closed forms for identical workers on dedicated hosts: exact for
              SYNC (every worker moves the same bytes at once) and a bound for
              ASYNC (the slower of the workers' own cycle and the ps links).
              Used for the predictions at 16-1024 workers.
  allreduce() ring all-reduce: each worker link carries 2(N-1)/N * S each
              way per step, in 2(N-1) latency-bound rounds.

Commands:
  scaling_model.py validate RESULTS.json [--json=OUT]
      RESULTS.json from bench/netns/ps_scaling.sh or straggler.sh: the
      calibration (costs measured in the same run) and every emulated
      configuration; prints predicted vs measured images/s and the error.
      "others": other programs as threads always wanting a core (the cores
      they took in the run's window over "share", the share of a core a
      runnable thread of the job got; see with_others); "compute", "ns/B w",
      "ns/B ps": the CPU costs taken from the run's window (with_run_costs).
  scaling_model.py predict [--calibration=RESULTS.json] [--ps_cores=2] [--big_ps_cores=16]
                           [--json=OUT]
      mnist_deep and ResNet-50 at 16-1024 workers on 10, 25 and 100 Gbit/s:
      PS with P = W/8, W/4, W/2, W ps on hosts of their own, and all-reduce;
      latency and CPU per byte from ps_scaling.sh's calibration.
  scaling_model.py advise (--model=NAME | --bytes=B --compute_s=T [--batch=N]) --workers=W
                          --gbit=G [--calibration=RESULTS.json | --latency_s=L
                          --ps_cpu_s_per_byte=K --worker_cpu_s_per_byte=K] [--ps_cores=C]
      how many ps keep SYNC within 90% and 95% of its best, and the all-reduce
      figure on the same links.
"""

import argparse
import dataclasses
import json
import math
import random
import sys

EPS = 1e-12


@dataclasses.dataclass
class Costs:
    """What one training step costs; every field measured or stated."""
    bytes: float                 # bytes one pull moves (= one push), on the wire
    compute_s: float             # CPU seconds of one worker step (forward, backward), 1 thread
    link_bytes_per_s: float      # each host's link, each direction
    batch: int                   # images per worker step
    latency_s: float = 0.0       # per pull and per push: round trips before the data flows
    overhead_s: float = 0.0      # per worker step, neither CPU nor link (measured remainder)
    worker_cpu_s_per_byte: float = 0.0  # transport CPU at the worker (TLS, copies)
    ps_cpu_s_per_byte: float = 0.0      # at the ps: transport plus the optimizer's apply
    ps_cores: float = 1.0        # cores of a ps host (dedicated hosts)
    worker_cores: float = 1.0    # compute threads of a worker (dedicated hosts)
    cpu_pool: float = 0.0        # > 0: every task shares this many cores (one machine)
    # With cpu_pool: the threads a task moves its bytes on, whatever the number
    # of its flows; in the scheduler's equal shares a task's flows count as
    # this many threads, not one each. A ps serves its streams on gRPC's
    # callback threads ("nexting_thread"), clamp(cores / 2, 2, 16) of them:
    # 2 on this machine (grpc_callback_threads). Measured with schedstat every
    # 50 ms (docs/scaling.md): with pushes in flight and short of CPU, 1.4-1.8
    # of the ps's threads are runnable; with enough CPU, or pulls only, under
    # one. A worker moves its bytes on its main thread and gRPC's poller: 2.
    ps_transport_threads: float = 2.0
    worker_transport_threads: float = 2.0
    # How a link is shared between flows. False (the model): evenly at every
    # instant, as plain TCP flows on the emulated links do (two 80 MB flows
    # through one 1 Gbit/s link converge to even shares within 0.2 s), and as
    # the emulated ps's transfers measure (docs/scaling.md: each pull's and
    # push's duration against the transfers it overlapped). True: first come,
    # first served, flows that start at the same moment sharing evenly: the
    # other extreme, which validate prints beside the model.
    links_first_come: bool = False
    # With cpu_pool: other programs on the machine, as threads that always want
    # a core. The scheduler (CFS) gives every runnable thread an equal share,
    # theirs and the job's alike, so what they leave the job depends on how
    # many threads the job runs at the moment. Measured in each run: the cores
    # they took over the share of a core a runnable thread of the job got.
    others_threads: float = 0.0
    # Relative spread (lognormal sigma, mean 1) of each pull's, compute's and
    # push's duration: from the measured spread of step times.
    jitter: float = 0.05

    @staticmethod
    def from_dict(d):
        fields = {f.name for f in dataclasses.fields(Costs)}
        unknown = set(d) - fields
        if unknown:
            raise ValueError(f"unknown cost fields {sorted(unknown)}; known: {sorted(fields)}")
        c = Costs(**d)
        for name in ("bytes", "compute_s", "link_bytes_per_s", "batch"):
            if getattr(c, name) <= 0:
                raise ValueError(f"cost {name} must be > 0, got {getattr(c, name)}")
        return c


def grpc_callback_threads(cores):
    """The threads gRPC's callback server runs on a host of `cores` cores:
    clamp(cores / 2, 2, 16) "nexting_thread"s (gRPC's CallbackAlternativeCQ).
    A ps serves every stream on them, so it never uses more cores than that
    for its transport and updates."""
    return min(16, max(2, int(cores) // 2))


def ps_usable_cores(c):
    """Of a dedicated ps host's cores, those its transport can use."""
    return min(c.ps_cores, grpc_callback_threads(c.ps_cores))


# ---------------------------------------------------------------- simulation

class _Activity:
    """A flow (bytes between two hosts) or a computation (CPU seconds on a host)."""
    __slots__ = ("left", "uses", "cap", "scale", "done", "x", "pace", "ends", "start")

    def __init__(self, left, uses, cap, scale, done, ends=()):
        self.left = left      # bytes or CPU seconds still to go
        self.uses = uses      # [(resource, weight per unit of x)]
        self.cap = cap        # largest x
        self.scale = scale    # left per unit of x per second
        self.done = done      # callback
        self.ends = ends      # a flow's two hosts (their transport threads)
        self.pace = 1.0       # how fast x rises in the filling, relative to others
        self.start = 0.0      # when it started (flows: who came first to a link)
        self.x = 0.0


def _max_min(acts, capacity):
    """Progressive filling: raises every activity's x, each at its pace, until
    a resource it uses is full or it reaches its cap."""
    remaining = dict(capacity)
    live = [a for a in acts]
    for a in live:
        a.x = 0.0
    while live:
        load = {}
        for a in live:
            for r, w in a.uses:
                load[r] = load.get(r, 0.0) + w * a.pace
        dx = min((remaining[r] / l for r, l in load.items() if l > 0), default=math.inf)
        dx = min(dx, min((a.cap - a.x) / a.pace for a in live))
        if not math.isfinite(dx):
            raise RuntimeError("an activity uses no resource and has no cap")
        dx = max(dx, 0.0)
        for a in live:
            a.x += dx * a.pace
        for r, l in load.items():
            remaining[r] -= l * dx
        full = {r for r in load if remaining[r] <= 1e-9 * max(capacity[r], 1.0)}
        live = [a for a in live if a.cap - a.x > 1e-12 and not any(r in full for r, _ in a.uses)]


class Simulation:
    """W workers and P ps in one update mode; see the module comment.

    quotas: {worker: cores} caps a worker's CPU (a cgroup quota), which slows
    its computation and its transport. slow_links: {host: bytes/s}.
    """

    def __init__(self, costs, workers, ps, mode, replicas=None, staleness=0, quotas=None,
                 slow_links=None, seed=1):
        if mode not in ("async", "sync", "stale"):
            raise ValueError(f"mode {mode!r}: want async, sync or stale")
        self.c = costs
        self.W, self.P, self.mode = workers, ps, mode
        self.R = replicas or workers
        if not 1 <= self.R <= workers:
            raise ValueError(f"replicas {self.R}: want 1..{workers}")
        self.s = staleness
        self.rng = random.Random(seed)
        self.t = 0.0
        self.acts = []
        self.timers = []      # [(time, callback)]
        self.capacity = {}
        self.quotas = quotas or {}
        links = slow_links or {}
        for h in self.hosts():
            b = links.get(h, costs.link_bytes_per_s)
            self.capacity["out:" + h] = b
            self.capacity["in:" + h] = b
            if costs.cpu_pool <= 0:
                self.capacity["cpu:" + h] = ps_usable_cores(costs) if h.startswith("ps") else costs.worker_cores
            if h in self.quotas:
                self.capacity["quota:" + h] = self.quotas[h]
        if costs.cpu_pool > 0:
            self.capacity["cpu:pool"] = costs.cpu_pool
            if costs.others_threads > 0:
                # Other programs' threads: each takes at most a core, and
                # shares the pool equally with the job's (see _flow). They
                # never finish.
                self.acts.append(_Activity(math.inf, [("cpu:pool", costs.others_threads)], 1.0, 1.0,
                                           None))
        # Training state.
        self.version = 0          # SYNC: the step the variables are at
        self.accepted = 0         # SYNC: pushes counted for this version
        self.pushes = [0] * workers
        self.dropped = [0] * workers
        self.global_steps = 0
        self.pulled_version = [0] * workers
        self.wait_version = [0] * workers
        self.waiting = []         # workers waiting to pull
        self.log = []             # (time, worker, global_steps) at each push

    def hosts(self):
        return [f"ps{p}" for p in range(self.P)] + [f"w{w}" for w in range(self.W)]

    def _cpu(self, host):
        return "cpu:pool" if self.c.cpu_pool > 0 else "cpu:" + host

    def _flow(self, src, dst, nbytes, done):
        b = self.c.link_bytes_per_s
        k_src = self.c.ps_cpu_s_per_byte if src.startswith("ps") else self.c.worker_cpu_s_per_byte
        k_dst = self.c.ps_cpu_s_per_byte if dst.startswith("ps") else self.c.worker_cpu_s_per_byte
        # u: bytes per second per unit of the flow's x. On dedicated hosts x is
        # the share of the link (u = b). On a shared pool x is the CPU rate of
        # the busier of the flow's two threads (u = 1 / k), so that max-min
        # filling shares the cores between threads as the scheduler does:
        # a thread moving bytes and a computing one get equal shares.
        k_max = max(k_src, k_dst)
        u = 1.0 / k_max if self.c.cpu_pool > 0 and k_max > 0 else b
        uses = [("out:" + src, u), ("in:" + dst, u)]
        cpu = {}
        for host, k in ((src, k_src), (dst, k_dst)):
            if k > 0:
                cpu[self._cpu(host)] = cpu.get(self._cpu(host), 0.0) + k * u
                if host in self.quotas:
                    cpu["quota:" + host] = cpu.get("quota:" + host, 0.0) + k * u
        uses += list(cpu.items())
        a = _Activity(nbytes, uses, b / u, u, done, ends=(src, dst))
        a.start = self.t
        self.acts.append(a)

    def _compute(self, host, seconds, done):
        uses = [(self._cpu(host), 1.0)]
        if host in self.quotas:
            uses.append(("quota:" + host, 1.0))
        cap = 1.0 if self.c.cpu_pool > 0 else self.c.worker_cores
        # With its own cores, a worker's step uses them all (compute_s is for one).
        self.acts.append(_Activity(seconds, uses, cap, 1.0, done))

    def _allocate(self):
        """Sets every activity's x: max-min fair, or (links_first_come) fair
        on the CPU and first come, first served on the links."""
        if not self.c.links_first_come:
            _max_min(self.acts, self.capacity)
            return
        links = {r for r in self.capacity if r.startswith(("out:", "in:"))}
        acts = self.acts
        saved = [(a.uses, a.cap) for a in acts]
        # 1. What the CPU alone would give each activity (fair shares).
        for a in acts:
            a.uses = [(r, w) for r, w in a.uses if r not in links]
        _max_min(acts, {r: v for r, v in self.capacity.items() if r not in links})
        cpu_x = [a.x for a in acts]
        # 2. The links, first come first served: flows that started at the
        # same moment share evenly, later ones get what is left.
        for a, (uses, _) in zip(acts, saved):
            a.uses = [(r, w) for r, w in uses if r in links]
        remaining = {r: self.capacity[r] for r in links}
        flows = sorted((i for i, a in enumerate(acts) if a.ends), key=lambda i: acts[i].start)
        j = 0
        while j < len(flows):
            k = j
            while k < len(flows) and acts[flows[k]].start <= acts[flows[j]].start + 1e-9:
                k += 1
            group = [acts[i] for i in flows[j:k]]
            for i in flows[j:k]:
                acts[i].cap = min(saved[i][1], cpu_x[i])
            _max_min(group, remaining)
            for a in group:
                for r, w in a.uses:
                    remaining[r] = max(0.0, remaining[r] - w * a.x)
            j = k
        link_x = {i: acts[i].x for i in flows}
        # 3. Everything again, each flow held to what its links gave it.
        for i, a in enumerate(acts):
            a.uses, a.cap = saved[i]
            if i in link_x:
                a.cap = min(a.cap, link_x[i])
        _max_min(acts, self.capacity)
        for a, (_, cap) in zip(acts, saved):
            a.cap = cap

    def _set_paces(self):
        """On a shared pool, a host's flows share its transport threads: with
        n flows on T threads, each rises at T / n of the pace of a thread of
        its own (the slower of its two ends)."""
        if self.c.cpu_pool <= 0:
            return
        flows = {}
        for a in self.acts:
            for h in a.ends:
                flows[h] = flows.get(h, 0) + 1
        for a in self.acts:
            if a.ends:
                a.pace = min([1.0] + [self._threads(h) / flows[h] for h in a.ends])

    def _threads(self, host):
        return self.c.ps_transport_threads if host.startswith("ps") else self.c.worker_transport_threads

    def _after(self, dt, done):
        self.timers.append((self.t + dt, done))

    # One worker's loop: pull, compute, push (worker/worker.cc).
    def _jitter(self):
        s = self.c.jitter
        return math.exp(self.rng.gauss(-s * s / 2, s)) if s > 0 else 1.0

    def _flows_then(self, ends, size, done):
        """One flow of `size` bytes per (source, destination) in `ends`;
        done() when the last one ends."""
        left = [len(ends)]

        def one_done():
            left[0] -= 1
            if left[0] == 0:
                done()
        for src, dst in ends:
            self._flow(src, dst, size, one_done)

    def _pull(self, w):
        v = self.version

        def flows():
            j = self._jitter()
            self._flows_then([(f"ps{p}", f"w{w}") for p in range(self.P)],
                             j * self.c.bytes / self.P, lambda: self._computation(w))
        self.pulled_version[w] = v
        self._after(self.c.latency_s, flows)

    def _computation(self, w):
        self._compute(f"w{w}", self.c.compute_s * self._jitter(),
                      lambda: self._after(self.c.overhead_s + self.c.latency_s, lambda: self._push(w)))

    def _push(self, w):
        j = self._jitter()
        self._flows_then([(f"w{w}", f"ps{p}") for p in range(self.P)],
                         j * self.c.bytes / self.P, lambda: self._pushed(w))

    def _pushed(self, w):
        self.pushes[w] += 1
        if self.mode == "sync":
            if self.pulled_version[w] == self.version:
                self.accepted += 1
                if self.accepted == self.R:
                    self.version += 1
                    self.accepted = 0
                    self.global_steps += 1
            else:
                self.dropped[w] += 1
            self.wait_version[w] = self.pulled_version[w] + 1
        else:
            self.global_steps += 1
        self.log.append((self.t, w, self.global_steps))
        self.waiting.append(w)
        self._release()

    def _may_pull(self, w):
        if self.mode == "sync":
            return self.version >= self.wait_version[w]
        if self.mode == "stale":
            return min(self.pushes) >= self.pushes[w] - self.s
        return True

    def _release(self):
        still = []
        for w in self.waiting:
            if self._may_pull(w):
                self._pull(w)
            else:
                still.append(w)
        self.waiting = still

    def run(self, seconds, warmup_s=None):
        """Simulates `seconds`; returns the rates over the part after the warm-up."""
        warmup_s = seconds * 0.2 if warmup_s is None else warmup_s
        # Each worker starts at a random point of its step. Under even sharing
        # the phase between ASYNC workers is neutral: the simulation keeps the
        # offsets it starts with (workers that start in step stay in step, and
        # slowest), while real workers do not stay in step (docs/scaling.md:
        # the time a ps spent with every transfer going the same way). SYNC
        # puts its workers in step at the first step whatever their start.
        c = self.c
        step_alone = 2 * c.latency_s + c.compute_s + c.overhead_s + 2 * c.bytes / c.link_bytes_per_s
        for w in range(self.W):
            self._after(self.rng.uniform(0, step_alone), lambda w=w: self._pull(w))
        while self.t < seconds:
            self._set_paces()
            self._allocate()
            dt = math.inf
            for a in self.acts:
                if a.x > 0:
                    dt = min(dt, a.left / (a.x * a.scale))
            for when, _ in self.timers:
                dt = min(dt, when - self.t)
            if not math.isfinite(dt):
                raise RuntimeError(f"simulation stuck at t={self.t:.3f} (workers waiting: {self.waiting})")
            dt = max(dt, 0.0)
            self.t += dt
            done = []
            for a in self.acts:
                a.left -= a.x * a.scale * dt
                if a.left <= 1e-9 * max(a.scale, 1.0):
                    done.append(a)
            self.acts = [a for a in self.acts if a not in done]
            done = [a for a in done if a.done is not None]
            fired = [cb for when, cb in self.timers if when <= self.t + EPS]
            self.timers = [(when, cb) for when, cb in self.timers if when > self.t + EPS]
            for a in done:
                a.done()
            for cb in fired:
                cb()
        # As bench/netns/job_figures.py measures: each worker's (pushes - 1)
        # over the time between its first and last push after the warm-up.
        window = [e for e in self.log if e[0] >= warmup_s]
        per_worker = []
        for w in range(self.W):
            times = [e[0] for e in window if e[1] == w]
            per_worker.append((len(times) - 1) / (times[-1] - times[0])
                              if len(times) >= 2 and times[-1] > times[0] else 0.0)
        steps = sum(per_worker)
        g = (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0]) \
            if len(window) >= 2 and window[-1][0] > window[0][0] else 0.0
        applied = g * self.c.batch * (self.R if self.mode == "sync" else 1)
        return {"worker_steps_per_sec": steps, "images_per_sec": steps * self.c.batch,
                "global_steps_per_sec": g, "applied_images_per_sec": applied,
                "per_worker_steps_per_sec": per_worker,
                "dropped_fraction": sum(self.dropped) / max(1, sum(self.pushes))}


def simulate(costs, workers, ps, mode, replicas=None, staleness=0, quotas=None, slow_links=None,
             seconds=None, seeds=3, window_s=None):
    """The mean of a few seeds of Simulation.run; seconds default: about 60
    worker steps. window_s: measure over a window this long after a warm-up of
    a fifth of it, as a benchmark's run of that length measured (the phase
    between ASYNC workers sharing a ps link wanders from seed to seed, and a
    short window sees one stretch of it). "images_per_sec_low" and "_high":
    the 10th and 90th percentile over the seeds."""
    if window_s is not None:
        seconds = 1.25 * window_s
    elif seconds is None:
        alone = 2 * costs.latency_s + costs.compute_s + costs.overhead_s + \
            2 * costs.bytes / costs.link_bytes_per_s * max(1.0, workers / ps)
        seconds = 60 * alone
    runs = [Simulation(costs, workers, ps, mode, replicas, staleness, quotas, slow_links,
                       seed=s + 1).run(seconds) for s in range(seeds)]
    out = {}
    for k in ("worker_steps_per_sec", "images_per_sec", "global_steps_per_sec",
              "applied_images_per_sec"):
        out[k] = sum(r[k] for r in runs) / len(runs)
    each = sorted(r["images_per_sec"] for r in runs)
    out["images_per_sec_low"] = each[int(0.1 * (len(each) - 1) + 0.5)]
    out["images_per_sec_high"] = each[int(0.9 * (len(each) - 1) + 0.5)]
    return out


# ---------------------------------------------------------------- closed forms

def _transfer_s(c, workers, ps, ps_link=None):
    """One pull (or push) when every worker moves its bytes at once: the
    worker's link, the ps links (each carries W/P of a model), and the ps CPU."""
    b_ps = ps_link or c.link_bytes_per_s
    worker_side = c.bytes / c.link_bytes_per_s
    ps_side = workers * c.bytes / (ps * b_ps)
    ps_cpu = workers * c.bytes / ps * c.ps_cpu_s_per_byte / ps_usable_cores(c)
    worker_cpu = c.bytes * c.worker_cpu_s_per_byte / c.worker_cores
    return c.latency_s + max(worker_side, ps_side, ps_cpu, worker_cpu)


def analytic(c, workers, ps, mode):
    """Identical workers on dedicated hosts. SYNC: all pull, compute, push in
    lock step. ASYNC: the lesser of W / (one worker's own cycle) and what the ps
    links and CPU can serve (a bound: it ignores queueing at the knee).
    SYNC_OVERLAP: SYNC with each worker's push and pull on the link at once
    (BytePS pipelines partitions so; Tessera's loop does not, DESIGN.md
    "Later"): the two directions of a full-duplex link work in parallel."""
    compute = c.compute_s / c.worker_cores
    if mode == "sync":
        step = 2 * _transfer_s(c, workers, ps) + compute + c.overhead_s
        steps = workers / step
    elif mode == "sync_overlap":
        one_way = _transfer_s(c, workers, ps) - c.latency_s
        ps_cpu_both = 2 * workers * c.bytes / ps * c.ps_cpu_s_per_byte / ps_usable_cores(c)
        worker_cpu_both = 2 * c.bytes * c.worker_cpu_s_per_byte / c.worker_cores
        step = 2 * c.latency_s + max(one_way, ps_cpu_both, worker_cpu_both) + compute + c.overhead_s
        steps = workers / step
    elif mode == "async":
        alone = 2 * _transfer_s(c, 1, 1) + compute + c.overhead_s
        # Each step moves S out of and S into the ps group; a ps's CPU serves both.
        ps_cpu = ps_usable_cores(c) / (2 * c.ps_cpu_s_per_byte) if c.ps_cpu_s_per_byte > 0 else math.inf
        ps_rate = ps * min(c.link_bytes_per_s, ps_cpu) / c.bytes
        steps = min(workers / alone, ps_rate)
    else:
        raise ValueError(f"analytic: mode {mode!r}: want async or sync")
    return {"worker_steps_per_sec": steps, "images_per_sec": steps * c.batch}


def allreduce(c, workers, sum_s_per_byte):
    """Ring all-reduce with the reduction on the workers (as Horovod and NCCL
    do): 2(N-1) rounds, each moving S/N bytes each way on every worker link
    and paying one latency; (N-1)/N * S bytes summed per worker at
    sum_s_per_byte. A round's transfer is held to the worker's transport CPU
    too (worker_cpu_s_per_byte, sending and receiving)."""
    n = workers
    compute = c.compute_s / c.worker_cores + c.overhead_s
    if n == 1:
        return {"worker_steps_per_sec": 1 / compute, "images_per_sec": c.batch / compute}
    chunk = c.bytes / n
    per_round = c.latency_s / 2 + max(chunk / c.link_bytes_per_s,
                                      2 * chunk * c.worker_cpu_s_per_byte / c.worker_cores)
    reduce = (n - 1) / n * c.bytes * sum_s_per_byte / c.worker_cores
    step = compute + 2 * (n - 1) * per_round + reduce
    steps = n / step
    return {"worker_steps_per_sec": steps, "images_per_sec": steps * c.batch}


def efficiency(c, images_per_sec, workers):
    """Images/s over W times one worker computing alone with no communication."""
    ideal = workers * c.batch / (c.compute_s / c.worker_cores)
    return images_per_sec / ideal


# ---------------------------------------------------------------- validation

def _costs_of(calibration):
    return Costs.from_dict(calibration["costs"])


def with_others(costs, measured):
    """The costs of a run on the shared machine (cpu_pool > 0) with the other
    programs of its window: others_threads = the cores they took (cpu_others,
    /proc/stat) over the share of a core a runnable thread of the job got
    (cpu_share_runnable, schedstat): under the scheduler's equal shares, that
    many threads always wanting a core. Runs recorded without schedstat fall
    back to the cores left over (nproc less cpu_others), which understates what
    a job that leaves cores idle could have had."""
    if costs.cpu_pool <= 0:
        return costs
    others = measured.get("cpu_others", 0.0)
    share = measured.get("cpu_share_runnable")
    if share:
        return dataclasses.replace(costs, others_threads=others / max(share, 0.05))
    return dataclasses.replace(costs, cpu_pool=max(0.25, costs.cpu_pool - others))


def with_run_costs(costs, measured, workers, ps, quotas=()):
    """The costs of a run with the CPU its work took in that run.

    What a step costs in CPU drifts with what else runs on the machine (cache
    and memory contention) and with what the job does at once: 17 to 27 ms of
    computation per mnist_small step within one benchmark, in every update
    mode; 1.4-1.9 ns per byte of transport at a worker and 1.4-2.2 at a ps
    with several transfers at once against 1.3 and 1.4 in the calibration
    (docs/scaling.md). So, as others_threads, these come from each run's own
    window, where it has them:
      compute_s              the mean over the workers without a CPU quota
                             of w<j>_compute_cpu_s (the CPU each worker's
                             process used while it computed, its progress
                             lines); a quota'd worker's would decide its own
                             speed
      worker_cpu_s_per_byte  the same workers' CPU per step (cpu_worker<j> /
                             w<j>_steps_per_sec) less their computation, over
                             the 2 x bytes a step moves
      ps_cpu_s_per_byte      every ps's CPU over the bytes the workers' steps
                             moved (2 x bytes per worker step)
    Returns (costs, {name: value} of what was taken from the run)."""
    taken = {}
    compute, transport = [], []
    for j in range(workers):
        steps = measured.get(f"w{j}_steps_per_sec", 0.0)
        comp = measured.get(f"w{j}_compute_cpu_s", 0.0)
        if f"w{j}" in quotas or steps <= 0 or comp <= 0:
            continue
        compute.append(comp)
        if measured.get(f"cpu_worker{j}"):
            transport.append(max(0.0, measured[f"cpu_worker{j}"] / steps - comp) / (2 * costs.bytes))
    if compute:
        taken["compute_s"] = sum(compute) / len(compute)
    if transport:
        taken["worker_cpu_s_per_byte"] = sum(transport) / len(transport)
    steps = measured.get("worker_steps_per_sec", 0.0)
    ps_cpu = [measured.get(f"cpu_ps{i}") for i in range(ps)]
    if compute and steps > 0 and all(v is not None for v in ps_cpu):
        taken["ps_cpu_s_per_byte"] = sum(ps_cpu) / steps / (2 * costs.bytes)
    return dataclasses.replace(costs, **taken), taken


VALIDATION_SEEDS = 12


def validate(results):
    """Predicted vs measured for every emulated configuration of RESULTS."""
    base = _costs_of(results["calibration"])
    rows = []
    for run in results["runs"]:
        cfg = run["config"]
        costs = dataclasses.replace(base, **cfg.get("costs", {}))
        others = run["measured"].get("cpu_others", 0.0)
        costs = with_others(costs, run["measured"])
        quotas = {h: v for h, v in cfg.get("host_cpu", {}).items()}
        links = {h: v for h, v in cfg.get("host_link_bytes_per_s", {}).items()}
        costs, taken = with_run_costs(costs, run["measured"], cfg["workers"], cfg["ps"], quotas)
        sim = simulate(costs, cfg["workers"], cfg["ps"], cfg["mode"], cfg.get("replicas"),
                       cfg.get("staleness", 0), quotas, links, seeds=VALIDATION_SEEDS,
                       window_s=run["measured"].get("window_s"))
        row = {"name": run["name"], "mode": cfg["mode"], "workers": cfg["workers"], "ps": cfg["ps"],
               "cpu_others": others, "cpu_pool": costs.cpu_pool,
               "cpu_share_runnable": run["measured"].get("cpu_share_runnable"),
               "others_threads": costs.others_threads, "run_costs": taken}
        measured = run["measured"]["images_per_sec"]
        row["measured_images_per_sec"] = measured
        row["simulated_images_per_sec"] = sim["images_per_sec"]
        row["simulated_error"] = sim["images_per_sec"] / measured - 1 if measured > 0 else math.nan
        row["simulated_low"] = sim["images_per_sec_low"]
        row["simulated_high"] = sim["images_per_sec_high"]
        fifo = simulate(dataclasses.replace(costs, links_first_come=True), cfg["workers"], cfg["ps"],
                        cfg["mode"], cfg.get("replicas"), cfg.get("staleness", 0), quotas, links,
                        seeds=VALIDATION_SEEDS, window_s=run["measured"].get("window_s"))
        row["first_come_images_per_sec"] = fifo["images_per_sec"]
        row["first_come_error"] = fifo["images_per_sec"] / measured - 1 if measured > 0 else math.nan
        if cfg["mode"] in ("async", "sync") and not quotas and not links and \
                cfg.get("replicas", cfg["workers"]) == cfg["workers"] and base.cpu_pool > 0:
            # The closed forms assume dedicated hosts; on one machine's CPU
            # pool they can only show the network's share.
            dedicated = dataclasses.replace(costs, cpu_pool=0.0, ps_cores=1.0, worker_cores=1.0)
            an = analytic(dedicated, cfg["workers"], cfg["ps"], cfg["mode"])
            row["analytic_images_per_sec"] = an["images_per_sec"]
            row["analytic_error"] = an["images_per_sec"] / measured - 1 if measured > 0 else math.nan
        rows.append(row)
    return rows


def print_validation(rows):
    """The table: others_threads, the share of a core, the CPU costs taken
    from the run (with_run_costs: a step's computation, transport ns per
    byte at a worker and at a ps), measured vs the simulation's mean over its seeds, the error,
    the seeds' 10-90% range, the simulation with links shared first come,
    first served (links_first_come), and the closed form where it applies."""
    print(f"{'configuration':<22} {'others':>6} {'share':>5} {'compute':>8} {'ns/B w':>6} {'ns/B ps':>7} "
          f"{'measured':>9} {'simulated':>9} "
          f"{'error':>7} {'seeds 10-90%':>13} {'first come':>10} {'error':>7} {'closed form':>11} {'error':>7}")
    for r in rows:
        an = r.get("analytic_images_per_sec")
        share = r.get("cpu_share_runnable")
        spread = f"{r['simulated_low']:.2f}-{r['simulated_high']:.2f}" if "simulated_low" in r else "-"
        taken = r.get("run_costs", {})
        compute = taken.get("compute_s")
        kw, kp = taken.get("worker_cpu_s_per_byte"), taken.get("ps_cpu_s_per_byte")
        print(f"{r['name']:<22} {r.get('others_threads', 0):>6.2f} "
              f"{(f'{share:.2f}' if share else '-'):>5} "
              f"{(f'{1000 * compute:.1f}ms' if compute else '-'):>8} "
              f"{(f'{1e9 * kw:.2f}' if kw is not None else '-'):>6} "
              f"{(f'{1e9 * kp:.2f}' if kp is not None else '-'):>7} "
              f"{r['measured_images_per_sec']:>9.2f} "
              f"{r['simulated_images_per_sec']:>9.2f} {100 * r['simulated_error']:>+6.1f}% "
              f"{spread:>13} " +
              (f"{r['first_come_images_per_sec']:>10.2f} {100 * r['first_come_error']:>+6.1f}% "
               if "first_come_images_per_sec" in r else f"{'-':>10} {'-':>7} ") +
              (f"{an:>11.2f} {100 * r['analytic_error']:>+6.1f}%" if an is not None else f"{'-':>11} {'-':>7}"))
    errs = [abs(r["simulated_error"]) for r in rows if not math.isnan(r["simulated_error"])]
    if errs:
        within = sum(1 for e in errs if e <= 0.15)
        print(f"simulation: mean |error| {100 * sum(errs) / len(errs):.1f}%, max {100 * max(errs):.1f}%, "
              f"{within} of {len(errs)} within 15%")


# ---------------------------------------------------------------- predictions

# The models predicted at scale. compute_s: one worker step at `batch`;
# docs/scaling.md says where each figure comes from.
MODELS = {
    # mnist_deep: 3,274,634 parameters = 13.1 MB fp32. A worker is a node of
    # this machine kind: Tessera's in-process figure on its 2 cores
    # (docs/benchmarks.md, train_throughput: 1,448-1,704 images/s; 1,550).
    "mnist_deep": {"bytes": 3274634 * 4, "batch": 50, "compute_s": 50 / 1550.0},
    # ResNet-50: 25,557,032 parameters = 102 MB fp32; 4.09 G multiply-adds
    # forward per image (tessera_ctl model summary), about 3x to train =
    # 24.5 GFLOP per image. On a node of this machine kind at 85 GFLOP/s
    # (PyTorch's ResNet-18 rate on its 2 cores, DESIGN.md): 3.5 images/s.
    "resnet50_cpu": {"bytes": 25557032 * 4, "batch": 32, "compute_s": 32 * 24.5e9 / 85e9},
    # The same model on an accelerator assumed to train 400 images/s (fp32,
    # V100 class; not measured here): the case BytePS argues about.
    "resnet50_gpu": {"bytes": 25557032 * 4, "batch": 64, "compute_s": 64 / 400.0},
}
GBITS = (10, 25, 100)
WORKERS = (16, 32, 64, 128, 256, 512, 1024)
PS_FRACTIONS = ((8, "W/8"), (4, "W/4"), (2, "W/2"), (1, "W"))


def predict(base, sum_s_per_byte, big_ps_cores=16.0):
    """Rows for every model, link speed, worker count and scheme; ps on hosts
    of their own (the "spare CPU nodes") with base.ps_cores, and with
    big_ps_cores for P = W."""
    rows = []
    for model, m in MODELS.items():
        for gbit in GBITS:
            for workers in WORKERS:
                c = dataclasses.replace(base, bytes=m["bytes"], batch=m["batch"],
                                        compute_s=m["compute_s"], link_bytes_per_s=gbit * 1e9 / 8,
                                        cpu_pool=0.0, worker_cores=1.0, overhead_s=0.0)
                big = dataclasses.replace(c, ps_cores=big_ps_cores)
                ideal = workers * c.batch / c.compute_s

                def add(scheme, ps, r):
                    rows.append({"model": model, "gbit": gbit, "workers": workers, "scheme": scheme,
                                 "ps": ps, "images_per_sec": r["images_per_sec"],
                                 "efficiency": r["images_per_sec"] / ideal})
                for frac, label in PS_FRACTIONS:
                    ps = max(1, workers // frac)
                    for mode in ("sync", "async"):
                        add(f"ps {mode} P={label}", ps, analytic(c, workers, ps, mode))
                cores = f"{big_ps_cores:g}-core ps"
                add(f"ps sync P=W, {cores}", workers, analytic(big, workers, workers, "sync"))
                add(f"ps sync_overlap P=W, {cores}", workers, analytic(big, workers, workers, "sync_overlap"))
                add("allreduce", 0, allreduce(c, workers, sum_s_per_byte))
    return rows


def measure_sum_s_per_byte():
    """Seconds per byte to add one fp32 gradient into another on one core
    (numpy, 64 MB arrays, best of 3): the all-reduce's reduction."""
    import time
    import numpy as np
    a = np.ones(16 << 20, np.float32)
    b = np.ones(16 << 20, np.float32)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(5):
            a += b
        best = min(best, (time.perf_counter() - t) / (5 * a.nbytes))
    return best


def print_predictions(rows):
    for model in MODELS:
        for gbit in (10, 25, 100):
            sel = [r for r in rows if r["model"] == model and r["gbit"] == gbit]
            schemes = []
            for r in sel:
                if r["scheme"] not in schemes:
                    schemes.append(r["scheme"])
            print(f"\n{model}, {gbit} Gbit/s links: efficiency (images/s over W x one worker's compute)")
            print("  " + "; ".join(f"{chr(97 + i)}: {s}" for i, s in enumerate(schemes)))
            print(f"{'workers':>8} " + " ".join(f"{chr(97 + i):>6}" for i in range(len(schemes))))
            for workers in sorted({r["workers"] for r in sel}):
                vals = {r["scheme"]: r["efficiency"] for r in sel if r["workers"] == workers}
                print(f"{workers:>8} " + " ".join(f"{vals[s]:>6.3f}" for s in schemes))


def advise(c, workers):
    best = analytic(c, workers, workers, "sync")["images_per_sec"]
    out = {}
    for target in (0.90, 0.95):
        ps = 1
        while ps < workers and analytic(c, workers, ps, "sync")["images_per_sec"] < target * best:
            ps += 1
        out[target] = ps
    return best, out


def read_calibration_costs(path):
    """The measured costs of a ps_scaling run's results.json ("calibration"),
    or exit naming the file and the problem."""
    try:
        with open(path) as f:
            return json.load(f)["calibration"]["costs"]
    except (OSError, KeyError, json.JSONDecodeError) as e:
        sys.exit(f"scaling_model: cannot read the calibration of {path}: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__[__doc__.index("Commands:"):])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate")
    v.add_argument("results")
    v.add_argument("--json")
    p = sub.add_parser("predict")
    p.add_argument("--json")
    p.add_argument("--calibration", help="results.json of bench/netns/ps_scaling.sh: its measured "
                   "latency and transport CPU costs (default: 50 us, no CPU cost)")
    p.add_argument("--ps_cores", type=float, default=2.0,
                   help="cores of each ps host (default 2, this machine kind)")
    p.add_argument("--big_ps_cores", type=float, default=16.0,
                   help="cores of the big ps hosts of the P = W rows (default 16)")
    a = sub.add_parser("advise")
    a.add_argument("--model", choices=sorted(MODELS),
                   help="bytes, compute_s and batch of one of predict's models")
    a.add_argument("--bytes", type=float)
    a.add_argument("--compute_s", type=float)
    a.add_argument("--workers", type=int, required=True)
    a.add_argument("--gbit", type=float, required=True)
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--calibration", help="results.json of bench/netns/ps_scaling.sh: its latency "
                   "and transport CPU costs (instead of --latency_s and the CPU flags)")
    a.add_argument("--latency_s", type=float, default=50e-6)
    a.add_argument("--ps_cpu_s_per_byte", type=float, default=0.0)
    a.add_argument("--worker_cpu_s_per_byte", type=float, default=0.0)
    a.add_argument("--ps_cores", type=float, default=1.0)
    args = parser.parse_args()

    if args.command == "validate":
        try:
            with open(args.results) as f:
                results = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"scaling_model: cannot read {args.results}: {e}")
        for key in ("calibration", "runs"):
            if key not in results:
                sys.exit(f"scaling_model: {args.results} has no '{key}'")
        rows = validate(results)
        print_validation(rows)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows}, f, indent=1)
    elif args.command == "predict":
        # Transport and ps CPU costs, latency: measured by ps_scaling.sh's
        # calibration (TLS + token, as users run); the host sizes: stated.
        costs = {"bytes": 1, "compute_s": 1, "link_bytes_per_s": 1, "batch": 1}
        if args.calibration:
            cal = read_calibration_costs(args.calibration)
            for k in ("latency_s", "worker_cpu_s_per_byte", "ps_cpu_s_per_byte"):
                costs[k] = cal[k]
        else:
            costs.update({"latency_s": 50e-6})
        costs["ps_cores"] = args.ps_cores
        base = Costs.from_dict(costs)
        sum_s = measure_sum_s_per_byte()
        print(f"costs: latency {1e6 * base.latency_s:.0f} us per round trip, worker transport "
              f"{1e9 * base.worker_cpu_s_per_byte:.2f} ns/byte, ps transport + apply "
              f"{1e9 * base.ps_cpu_s_per_byte:.2f} ns/byte on each of {base.ps_cores:g} ps cores, "
              f"all-reduce sum {1e9 * sum_s:.2f} ns/byte (numpy, measured now)")
        rows = predict(base, sum_s, args.big_ps_cores)
        print_predictions(rows)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"base": dataclasses.asdict(base), "sum_s_per_byte": sum_s,
                           "models": MODELS, "rows": rows}, f, indent=1)
    else:
        if args.model:
            m = MODELS[args.model]
            args.bytes = args.bytes or m["bytes"]
            args.compute_s = args.compute_s or m["compute_s"]
            args.batch = m["batch"]
        if args.calibration:
            cal = read_calibration_costs(args.calibration)
            args.latency_s = cal["latency_s"]
            args.ps_cpu_s_per_byte = cal["ps_cpu_s_per_byte"]
            args.worker_cpu_s_per_byte = cal["worker_cpu_s_per_byte"]
        if not args.bytes or args.bytes <= 0 or not args.compute_s or args.compute_s <= 0 or \
                args.workers < 1 or args.gbit <= 0:
            parser.error("--bytes, --compute_s (or --model), --gbit must be > 0 and --workers >= 1")
        c = Costs(bytes=args.bytes, compute_s=args.compute_s, link_bytes_per_s=args.gbit * 1e9 / 8,
                  batch=args.batch, latency_s=args.latency_s,
                  ps_cpu_s_per_byte=args.ps_cpu_s_per_byte,
                  worker_cpu_s_per_byte=args.worker_cpu_s_per_byte, ps_cores=args.ps_cores)
        best, need = advise(c, args.workers)
        ar = allreduce(c, args.workers, measure_sum_s_per_byte())["images_per_sec"]
        ideal = args.workers * c.batch / c.compute_s
        print(f"SYNC with {args.workers} ps: {best:.1f} images/s (efficiency {best / ideal:.3f}); "
              f"within 90%: {need[0.90]} ps, within 95%: {need[0.95]} ps; "
              f"ring all-reduce: {ar:.1f} images/s (efficiency {ar / ideal:.3f})")


if __name__ == "__main__":
    main()
