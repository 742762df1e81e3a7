#!/usr/bin/python3
"""PyTorch DistributedDataParallel reference for bench/cluster_vs_ddp: the
cluster peer a PyTorch user would pick for data-parallel training on CPUs.
The same mnist_deep network, batch per rank, optimizer (Adam 1e-4) and data as
bench/torch_reference.py; gloo all-reduce; `--ranks` processes of `--threads`
threads each on this machine (127.0.0.1 only). Every step averages all ranks'
gradients, as Tessera's SYNC mode does. Prints the job's images/s (all ranks
together) as
  ddp_images_per_sec=X ranks=R threads=T batch_size=B steps=S
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402  (the model and the data loaders)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank, args, port, results):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    torch.manual_seed(1)
    data = torch_reference.DATA
    images = torch.from_numpy(torch_reference.load_images(
        os.path.join(data, "train-images-idx3-ubyte.gz")))[rank::args.ranks]
    labels = torch.from_numpy(torch_reference.load_labels(
        os.path.join(data, "train-labels-idx1-ubyte.gz")))[rank::args.ranks]
    step = torch_reference.make_step(
        nn.parallel.DistributedDataParallel(torch_reference.MnistDeep()), images, labels,
        args.batch_size)

    for _ in range(args.warmup):
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    dist.barrier()
    results[rank] = time.perf_counter() - start
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--steps", type=int, default=150, help="timed steps per rank")
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    for name in ("ranks", "threads", "batch_size", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    results = mp.Manager().dict()
    mp.spawn(rank_main, args=(args, free_port(), results), nprocs=args.ranks, join=True)
    secs = max(results.values())
    ips = args.ranks * args.steps * args.batch_size / secs
    print(f"ddp_images_per_sec={ips:.1f} ranks={args.ranks} threads={args.threads} "
          f"batch_size={args.batch_size} steps={args.steps} torch={torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
