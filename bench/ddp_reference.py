#!/usr/bin/python3
"""PyTorch DistributedDataParallel reference for bench/cluster_vs_ddp: the
cluster peer a PyTorch user would pick for data-parallel training on CPUs.
The same mnist_deep network, batch per rank, optimizer (Adam 1e-4) and data as
bench/torch_reference.py; gloo all-reduce; `--ranks` processes of `--threads`
threads each on this machine (127.0.0.1 only). Every step averages all ranks'
gradients, as Tessera's SYNC mode does. `--comm_hook=fp16|bf16` registers
DDP's fp16_compress_hook / bf16_compress_hook (gradients cast to 16 bits for
the all-reduce, back to float32 after); `none` (the default) all-reduces
float32. Prints the job's images/s (all ranks together) as
  ddp_images_per_sec=X ranks=R threads=T batch_size=B steps=S comm_hook=H torch=V
or, when a rank fails (e.g. a hook gloo cannot all-reduce), an error naming the
hook on stderr and exit status 1.
"""
import argparse
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402  (the model and the data loaders)

COMM_HOOKS = {
    "none": None,
    "fp16": default_hooks.fp16_compress_hook,
    "bf16": default_hooks.bf16_compress_hook,
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank, args, port, results):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(args.threads)
    if args.blas_threads > 0:
        torch_reference.set_blas_threads(args.blas_threads)
    dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    torch.manual_seed(1)
    data = torch_reference.DATA
    images = torch.from_numpy(torch_reference.load_images(
        os.path.join(data, "train-images-idx3-ubyte.gz")))[rank::args.ranks]
    labels = torch.from_numpy(torch_reference.load_labels(
        os.path.join(data, "train-labels-idx1-ubyte.gz")))[rank::args.ranks]
    model = nn.parallel.DistributedDataParallel(torch_reference.MnistDeep())
    step = torch_reference.make_step(model, images, labels, args.batch_size)

    try:
        # DDP checks a hook when it is registered, gloo when it all-reduces.
        if COMM_HOOKS[args.comm_hook] is not None:
            model.register_comm_hook(None, COMM_HOOKS[args.comm_hook])
        for _ in range(args.warmup):
            step()
        dist.barrier()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        dist.barrier()
    except Exception as e:
        # The parent reports this instead of only the spawned rank's traceback.
        results[f"error{rank}"] = f"{type(e).__name__}: {e}"
        raise
    results[rank] = time.perf_counter() - start
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--steps", type=int, default=150, help="timed steps per rank")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--comm_hook", choices=sorted(COMM_HOOKS), default="none",
                        help="DDP gradient compression hook for the all-reduce")
    parser.add_argument("--blas_threads", type=int, default=0,
                        help="each rank's OpenBLAS threads; 0 leaves OpenBLAS's own count "
                             "(the cores, whatever --threads says)")
    args = parser.parse_args()
    if args.blas_threads < 0:
        parser.error("--blas_threads must be >= 0")
    for name in ("ranks", "threads", "batch_size", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    results = mp.Manager().dict()
    try:
        mp.spawn(rank_main, args=(args, free_port(), results), nprocs=args.ranks, join=True)
    except Exception as e:
        errors = [f"rank {r}: {results[f'error{r}']}" for r in range(args.ranks)
                  if f"error{r}" in results] or [f"{type(e).__name__}: {e}"]
        print(f"ddp_reference.py: training with --comm_hook={args.comm_hook} failed "
              f"(torch={torch.__version__}, gloo backend)\n  " + "\n  ".join(errors),
              file=sys.stderr)
        return 1
    secs = max(results.values())
    ips = args.ranks * args.steps * args.batch_size / secs
    print(f"ddp_images_per_sec={ips:.1f} ranks={args.ranks} threads={args.threads} "
          f"batch_size={args.batch_size} steps={args.steps} comm_hook={args.comm_hook} "
          f"blas_threads={args.blas_threads or 'default'} "
          f"torch={torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
