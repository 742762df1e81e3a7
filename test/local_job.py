"""Real Tessera jobs on this machine for the multi-process drivers
(test/chaos.py, test/overload.py): a cluster file on free ports, a training
config, one tessera_ps / tessera_worker process per task with its log, and
`tessera_ctl` calls against it.

Every process started through this module is killed by its PID when the
driver exits on SIGTERM, SIGINT or SIGHUP (install_signal_handlers), and
Job.kill_everything() kills a job's processes in a `finally`; nothing is
killed by name.
"""

import json
import os
import signal
import socket
import subprocess
import time

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
_STARTED = []  # every process started, so a signal can kill them all by PID


def _on_signal(signum, frame):
    for p in _STARTED:
        if p.poll() is None:
            p.kill()
    for p in _STARTED:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    os._exit(128 + signum)


def install_signal_handlers():
    """On SIGTERM, SIGINT or SIGHUP: kill every process started, exit 128+N."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _on_signal)


def start_process(cmd, **kwargs):
    """subprocess.Popen(cmd, **kwargs), remembered for the signal handlers."""
    p = subprocess.Popen(cmd, **kwargs)
    _STARTED.append(p)
    return p


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def binary_base():
    """(directory holding ps/, worker/, tools/, test/ binaries and examples/,
    whether it is a Bazel test's runfiles tree)."""
    runfiles = os.environ.get("TEST_SRCDIR")
    if runfiles:
        return os.path.join(runfiles, os.environ.get("TEST_WORKSPACE", "tessera")), True
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "bazel-bin"), False


def add_job_flags(parser, model="mnist_deep"):
    """--model (default examples/models/MODEL.pbtxt), --ps_bin, --worker_bin, --ctl_bin."""
    base, runfiles = binary_base()
    root = base if runfiles else os.path.dirname(base)
    parser.add_argument("--model", default=os.path.join(root, "examples/models/%s.pbtxt" % model))
    parser.add_argument("--ps_bin", default=os.path.join(base, "ps/tessera_ps"))
    parser.add_argument("--worker_bin", default=os.path.join(base, "worker/tessera_worker"))
    parser.add_argument("--ctl_bin", default=os.path.join(base, "tools/tessera_ctl"))


def check_job_flags(parser, args, extra_binaries=()):
    """parser.error() unless the binaries run, the model file exists and
    Fashion-MNIST is installed; makes --model absolute (the config that
    names it is elsewhere)."""
    args.model = os.path.abspath(args.model)
    if not os.path.isfile(args.model):
        parser.error("--model=%s: no such file" % args.model)
    for b in (args.ps_bin, args.worker_bin, args.ctl_bin) + tuple(extra_binaries):
        if not os.access(b, os.X_OK):
            parser.error("%s is not an executable (bazel build //ps:tessera_ps "
                         "//worker:tessera_worker //tools:tessera_ctl)" % b)
    if not os.path.exists(FASHION):
        parser.error("Fashion-MNIST is not installed (%s; scripts/setup.sh installs "
                     "dataset-fashion-mnist)" % FASHION)


class Job:
    """One cluster of `num_ps` ps and `num_workers` workers on loopback: its
    files in `directory`, its processes (by task name, "ps_0", "worker_3")
    and their exit codes. Subclasses add flags per task with task_flags()."""

    def __init__(self, args, directory, num_ps, num_workers, config_text):
        self.args = args
        self.dir = directory
        os.makedirs(self.dir, exist_ok=True)
        ports = free_ports(num_ps + num_workers)
        self.cluster = os.path.join(self.dir, "cluster.json")
        with open(self.cluster, "w") as f:
            json.dump({"cluster": {
                "ps": ["localhost:%d" % p for p in ports[:num_ps]],
                "worker": ["localhost:%d" % p for p in ports[num_ps:]]}}, f)
        self.config = os.path.join(self.dir, "train.pbtxt")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.tasks = (["ps_%d" % i for i in range(num_ps)] +
                      ["worker_%d" % i for i in range(num_workers)])
        self.procs = {}     # task name -> Popen (the current process)
        self.exits = {}     # task name -> [exit codes of earlier processes]
        self.started = {}   # task name -> start time of the current process

    def task_flags(self, kind, index):
        """Flags added to task `kind` ("ps" or "worker") number `index`."""
        return []

    def own_session(self, kind):
        """Whether tasks of `kind` start in a session of their own (setsid)."""
        return False

    def task_cmd(self, task):
        kind, index = task.split("_")
        if kind == "ps":
            cmd = [self.args.ps_bin, "--cluster=" + self.cluster, "--task=" + index]
        else:
            cmd = [self.args.worker_bin, "--cluster=" + self.cluster, "--task=" + index,
                   "--config=" + self.config]
        return cmd + self.task_flags(kind, int(index))

    def log_path(self, task):
        return os.path.join(self.dir, task + ".log")

    def start(self, task):
        with open(self.log_path(task), "ab") as logf:
            self.procs[task] = start_process(
                self.task_cmd(task), stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=self.own_session(task.split("_")[0]))
        self.started[task] = time.time()

    def start_all(self):
        for task in self.tasks:
            self.start(task)

    def kill(self, task):
        p = self.procs[task]
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.exits.setdefault(task, []).append(p.returncode)

    def running(self, task):
        return self.procs[task].poll() is None

    def kill_everything(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()

    def read_log(self, task):
        try:
            with open(self.log_path(task), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def status_json(self, timeout=1):
        """`tessera_ctl status --json` parsed, or None when it gives no JSON."""
        try:
            out = subprocess.run(
                [self.args.ctl_bin, "status", "--cluster=" + self.cluster, "--json",
                 "--timeout=%g" % timeout], capture_output=True, text=True,
                timeout=timeout + 4).stdout
            return json.loads(out)
        except (subprocess.TimeoutExpired, ValueError):
            return None

    def global_step(self):
        """ps 0's global step, or None when it does not answer."""
        status = self.status_json()
        try:
            for t in status["tasks"]:
                if t["job"] == "ps" and t["task"] == 0 and t["reachable"]:
                    s = t["status"]
                    if s.get("state") == "ready" and s.get("global_step") not in (None, ""):
                        return int(s["global_step"])
        except (KeyError, TypeError, ValueError):
            pass
        return None


def wait_for_end(job, deadline, failures):
    """Waits for every task of `job` to exit by itself (until `deadline`);
    kills the ones still running then, each a failure. Records exit codes."""
    while time.time() < deadline:
        if all(not job.running(t) for t in job.procs):
            break
        time.sleep(1)
    for task, p in sorted(job.procs.items()):
        if p.poll() is None:
            failures.append("%s still running at the deadline; killed" % task)
            p.kill()
            p.wait()
        job.exits.setdefault(task, []).append(p.returncode)


# A log line's time ("I1205 14:20:28.213323 worker:0] ..."): groups 1-3.
LOG_TIME = r"^[IWEF]\d{4} (\d\d):(\d\d):([\d.]+) "


def log_seconds(m):
    """Seconds since midnight of a match of LOG_TIME."""
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def seconds_since_midnight(t):
    lt = time.localtime(t)
    return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)

