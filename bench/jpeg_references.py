#!/usr/bin/python3
"""Reference figures for the JPEG input pipeline (issue 14, item 6), measured
on an ImageNet-style tree such as scripts/make_photo_set.py writes:

  (a) libjpeg-turbo's own tjbench (Debian's libjpeg-turbo-progs): full decode
      of each sampled file to RGB, no augmentation. tjbench decodes one file
      from memory over and over for -benchtime seconds after -warmup seconds
      (`tjbench FILE -rgb -nowrite -quiet -benchtime T -warmup W`), so file
      reading and cache misses are not in its figure. Run once per file; the
      aggregate is honest: total pixels / total time (time per file = its
      pixels / its Mpixel/s), not a mean of rates. One core: pinned to core 0.
      All cores: one tjbench per core at once, each on its share of the files,
      rates added.
  (b) the pipeline a PyTorch user would write: torchvision ImageFolder +
      RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor through a
      DataLoader (shuffle), each configuration in a fresh process (malloc
      thresholds are read at start): num_workers 0/1/2, torch.set_num_threads
      1/2, batch 32/64, glibc malloc default or MALLOC_MMAP_THRESHOLD_=33554432
      MALLOC_TRIM_THRESHOLD_=134217728 (DESIGN.md, Performance facts), for
      batch 64 also MALLOC_MMAP_THRESHOLD_=67108864 ("tuned64": its 38.5 MB
      batches are above 32 MiB), and jemalloc (no decay) or tcmalloc
      preloaded, as bench/reference_env.sh gives the training references
      ("jemalloc", "tcmalloc": num_workers 0 and 2 only). "1 core" configurations run under
      `taskset -c 0`; "2 cores" ones are not pinned. Timing starts after the
      first batch and the batches the workers prefetched (2 each), so start-up
      is excluded, and runs over --torch_images images (workers persist; keep
      the set larger than that so no epoch boundary falls inside the timing).
      --repeats rounds, each running every configuration once; configurations
      are ranked by their median. Pillow-SIMD is not in Debian: Debian's Pillow.

  bench/jpeg_references.py DIR [--tjbench_files=40] [--torch_images=640] [--repeats=3]
      [--max_files=N] [--quick] [--skip_torch] [--skip_tjbench]
      [--torch_config=cores=1,workers=0,threads=1,malloc=tuned,batch=32 ...]

--torch_config (repeatable; the form the *_config lines below print) runs only
the configurations named instead of searching: bench/jpeg_pipeline.sh searches
once, then times the two winners in each of its rounds.

Prints one line per measurement and, at the end, key=value lines:
  tjbench_1core_images_per_sec, tjbench_1core_mpixel_per_sec, tjbench_all_cores_...,
  torchvision_1core_images_per_sec, torchvision_all_cores_images_per_sec and the
  winning configurations. The machine is shared and its speed drifts
  (docs/benchmarks.md): check bench/machine_check first.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def read_malloc_settings(path):
    """{name: {VAR: VALUE}} from bench/reference_mallocs.txt, the allocator
    settings shared with bench/reference_env.sh (its comments say what each
    is)."""
    settings = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            env = {}
            for var in fields[1:]:
                if "=" not in var:
                    sys.exit("jpeg_references: %s:%d: %r is not VAR=VALUE" % (path, number, var))
                key, value = var.split("=", 1)
                env[key] = value
            settings[fields[0]] = env
    return settings


# The allocator settings tried (environment variables read at process start).
MALLOC_SETTINGS = read_malloc_settings(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_mallocs.txt"))
IMAGE_EXTENSIONS = (".jpeg", ".jpg")


def list_images(root):
    found = []
    for folder, _, names in os.walk(root):
        found.extend(os.path.join(folder, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS))
    return sorted(found)


def sample(items, count):
    """count items spread evenly over the sorted list (all if fewer)."""
    if count >= len(items):
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def tjbench_one(path, benchtime, warmup, cpu):
    """(pixels, seconds per decode) of one file from one tjbench run, or None
    if tjbench cannot decode it (a PNG or a corrupt file)."""
    cmd = ["tjbench", path, "-rgb", "-nowrite", "-quiet", "-benchtime", str(benchtime),
           "-warmup", str(warmup)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        fields = line.split()
        # Pixel  (TD)  JPEG-CS  Subsamp  Width  Height  Xform  Comp-ratio  Decomp-Mpixel/s;
        # the pixel format is RGB, or GRAY / CMYK for such JPEGs.
        if len(fields) == 9 and fields[4].isdigit() and fields[5].isdigit():
            pixels = int(fields[4]) * int(fields[5])
            return pixels, pixels / (float(fields[8]) * 1e6)
    print("tjbench cannot decode %s, skipped: %s"
          % (path, (out.stderr or out.stdout).strip()[-200:]), file=sys.stderr)
    return None


def tjbench_rate(files, benchtime, warmup, cpu):
    """(images/s, Mpixel/s) over the files tjbench decodes (0, 0 if none)."""
    decoded = pixels = seconds = 0.0
    for f in files:
        figure = tjbench_one(f, benchtime, warmup, cpu)
        if figure:
            decoded += 1
            pixels += figure[0]
            seconds += figure[1]
    return (decoded / seconds, pixels / seconds / 1e6) if decoded else (0.0, 0.0)


def run_tjbench(files, args, cores):
    one_ips, one_mpx = tjbench_rate(files, args.benchtime, args.warmup, cpu=0)
    print("tjbench 1 core (core 0): %d files, %.0f images/s, %.0f Mpixel/s"
          % (len(files), one_ips, one_mpx), flush=True)
    # All cores: one process per core, each timing its share; rates add.
    procs = []
    for c in range(cores):
        share = files[c::cores]
        procs.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--tjbench_child", str(c),
             "--benchtime", str(args.benchtime), "--warmup", str(args.warmup)] + share,
            stdout=subprocess.PIPE, text=True))
    all_ips = all_mpx = 0.0
    for p in procs:
        ips, mpx = map(float, p.communicate()[0].split())
        if p.returncode:
            sys.exit("jpeg_references: a tjbench child failed")
        all_ips += ips
        all_mpx += mpx
    print("tjbench %d cores (one process per core): %.0f images/s, %.0f Mpixel/s"
          % (cores, all_ips, all_mpx), flush=True)
    return one_ips, one_mpx, all_ips, all_mpx


def torch_child(args):
    """Measures one torchvision configuration; prints images/s."""
    import torch
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.set_num_threads(args.threads)
    transform = transforms.Compose([transforms.RandomResizedCrop(224),
                                    transforms.RandomHorizontalFlip(), transforms.ToTensor()])
    dataset = datasets.ImageFolder(args.root, transform=transform)
    if args.max_files and args.max_files < len(dataset):
        dataset = Subset(dataset, sample(range(len(dataset)), args.max_files))
    torch.manual_seed(0)
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                        drop_last=True, persistent_workers=args.workers > 0)
    # Workers prefetch 2 batches each: the clock starts once those and the first
    # batch are taken, when batches come at the rate they are made.
    warm_batches = 1 + 2 * args.workers
    taken, seen, start = 0, 0, None
    while start is None or seen < args.torch_images:
        for images, labels in loader:
            taken += 1
            if taken == warm_batches:
                start = time.perf_counter()
            elif taken > warm_batches:
                seen += images.shape[0]
                if seen >= args.torch_images:
                    break
    print("%.1f" % (seen / (time.perf_counter() - start)))


def search_configs(args, cores):
    configs = []
    for batch in ((32,) if args.quick else (32, 64)):
        for malloc in ("default", "tuned") + (("tuned64",) if batch == 64 else ()):
            for workers in (0, 1):
                configs.append((1, workers, 1, malloc, batch))
            for workers in ((0, 2) if args.quick else (0, 1, 2)):
                for threads in (1, 2):
                    configs.append((cores, workers, threads, malloc, batch))
        for malloc in ("jemalloc", "tcmalloc"):
            configs.append((1, 0, 1, malloc, batch))
            for workers in (0, 2):
                configs.append((cores, workers, 1 if workers else 2, malloc, batch))
    return configs


def parse_config(text):
    """A configuration from its printed form, e.g.
    cores=1,workers=0,threads=1,malloc=tuned,batch=32."""
    fields = dict(f.split("=", 1) for f in text.replace(" ", ",").split(",") if "=" in f)
    try:
        config = (int(fields["cores"]), int(fields["workers"]), int(fields["threads"]),
                  fields["malloc"], int(fields["batch"]))
    except (KeyError, ValueError):
        sys.exit("jpeg_references: --torch_config wants cores=,workers=,threads=,malloc=,batch=;"
                 " got %r" % text)
    if config[3] not in MALLOC_SETTINGS:
        sys.exit("jpeg_references: --torch_config: malloc must be one of %s, got %r"
                 % ("/".join(MALLOC_SETTINGS), config[3]))
    return config


def run_torch(root, args, cores):
    """The best (cores, median, name) on 1 core and on all cores (None when
    no configuration of that kind ran)."""
    if args.torch_config:
        configs = [parse_config(c) for c in args.torch_config]
    else:
        configs = search_configs(args, cores)
    # Rounds: every configuration once per round, so that a slow stretch of the
    # machine (docs/benchmarks.md) hits all of them alike; each is ranked by
    # its median over the rounds.
    runs = {c: [] for c in configs}
    for r in range(args.repeats):
        for config in configs:
            runs[config].append(torch_once(root, args, config))
            print("torchvision round %d %s: %.0f images/s"
                  % (r + 1, config_name(config), runs[config][-1]), flush=True)
    results = []
    for config in configs:
        median = statistics.median(runs[config])
        print("torchvision %s: median %.0f images/s (runs %s)"
              % (config_name(config), median, " ".join("%.0f" % x for x in runs[config])))
        results.append((config[0], median, config_name(config)))
    best1 = max((r for r in results if r[0] == 1), key=lambda r: r[1], default=None)
    best_all = max((r for r in results if r[0] == cores and cores > 1), key=lambda r: r[1],
                   default=None)
    if best1 and best_all and best1[1] > best_all[1]:
        print("note: the best 1-core configuration beat every unpinned one (a busy machine?)")
    if best1:
        print("torchvision best on 1 core: %s: %.0f images/s" % (best1[2], best1[1]))
    if best_all:
        print("torchvision best on %d cores: %s: %.0f images/s"
              % (cores, best_all[2], best_all[1]))
    return best1, best_all


def config_name(config):
    return "cores=%d workers=%d threads=%d malloc=%s batch=%d" % config


def torch_once(root, args, config):
    """images/s of one torchvision configuration in a fresh process."""
    ncores, workers, threads, malloc, batch = config
    env = dict(os.environ)
    for k in {k for setting in MALLOC_SETTINGS.values() for k in setting}:
        env.pop(k, None)
    env.update(MALLOC_SETTINGS[malloc])
    preload = env.get("LD_PRELOAD")
    if preload is not None and not os.path.isfile(preload):
        sys.exit("jpeg_references: %s is missing for malloc=%s (run scripts/setup.sh)"
                 % (preload, malloc))
    cmd = [sys.executable, os.path.abspath(__file__), "--torch_child", root,
           "--workers", str(workers), "--threads", str(threads), "--batch", str(batch),
           "--torch_images", str(args.torch_images), "--max_files", str(args.max_files)]
    if ncores == 1:
        cmd = ["taskset", "-c", "0"] + cmd
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit("jpeg_references: torchvision run failed (%s): %s"
                 % (config_name(config), out.stderr[-1000:]))
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", help="tree with train/<synset>/*.JPEG")
    parser.add_argument("--tjbench_files", type=int, default=40, help="files sampled for tjbench")
    parser.add_argument("--benchtime", type=float, default=0.5, help="tjbench -benchtime per file")
    parser.add_argument("--warmup", type=float, default=0.1, help="tjbench -warmup per file")
    parser.add_argument("--torch_images", type=int, default=640,
                        help="images timed per torchvision configuration")
    parser.add_argument("--max_files", type=int, default=0,
                        help="torchvision reads at most this many files (0: all of train/)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer torchvision configurations (batch 32, workers 0 and 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds over the torchvision configurations (median ranks them)")
    parser.add_argument("--skip_torch", action="store_true")
    parser.add_argument("--skip_tjbench", action="store_true")
    parser.add_argument("--torch_config", action="append", default=[],
                        help="time only this configuration (repeatable), e.g. "
                             "cores=1,workers=0,threads=1,malloc=tuned,batch=32")
    # Internal: one measurement in a child process.
    parser.add_argument("--tjbench_child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--torch_child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()

    if args.tjbench_child is not None:
        ips, mpx = tjbench_rate([args.root] + rest, args.benchtime, args.warmup,
                                cpu=args.tjbench_child)
        print(ips, mpx)
        return
    if rest:
        parser.error("unknown arguments: %s" % " ".join(rest))
    if args.torch_child:
        torch_child(args)
        return
    if not args.root:
        parser.error("give the tree's folder (e.g. one scripts/make_photo_set.py wrote)")
    train = os.path.join(args.root, "train")
    files = list_images(train)
    if not files:
        sys.exit("jpeg_references: no JPEG files under %s" % train)
    cores = os.cpu_count() or 1
    print("jpeg_references: %s, %d files under train/, %d cores, %s, load %s"
          % (args.root, len(files), cores, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
             " ".join("%.2f" % x for x in os.getloadavg())), flush=True)

    if not args.skip_tjbench:
        one_ips, one_mpx, all_ips, all_mpx = run_tjbench(sample(files, args.tjbench_files), args,
                                                         cores)
        print("tjbench_1core_images_per_sec=%.0f\ntjbench_1core_mpixel_per_sec=%.0f\n"
              "tjbench_all_cores_images_per_sec=%.0f\ntjbench_all_cores_mpixel_per_sec=%.0f"
              % (one_ips, one_mpx, all_ips, all_mpx), flush=True)
    if args.skip_torch:
        return
    best1, best_all = run_torch(train, args, cores)
    if best1:
        print("torchvision_1core_images_per_sec=%.0f\ntorchvision_1core_config=%s"
              % (best1[1], best1[2].replace(" ", ",")))
    if best_all:
        print("torchvision_all_cores_images_per_sec=%.0f\ntorchvision_all_cores_config=%s"
              % (best_all[1], best_all[2].replace(" ", ",")))


if __name__ == "__main__":
    main()
