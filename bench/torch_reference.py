#!/usr/bin/python3
"""PyTorch reference for bench/train_throughput: the same mnist_deep network,
batch, optimizer (Adam 1e-4) and data (Fashion-MNIST from Debian's package),
trained on this machine with Debian's python3-torch. With --model=resnet18 it
is the reference of bench/resnet_throughput: torchvision's ResNet-18 (1000
classes) in training mode on random --image_size images with random labels,
SGD with momentum 0.9, optionally in channels_last memory format. Prints one
line per timed run, then peak_rss_mb=X (the process's peak resident memory)
and images_per_sec=X (the best). With --paced it prints "ready" after the
warm-up, then waits for a line on stdin before each run and stops at end of
input (the benchmark scripts take turns with the C++ side that way).
"""
import argparse
import ctypes
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"


def load_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, 28, 28).astype(np.float32) / 255


def load_labels(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)


def loaded_blas_libraries():
    """The paths of the BLAS libraries this process has loaded, sorted."""
    with open("/proc/self/maps") as maps:
        return sorted({line.split()[-1] for line in maps
                       if "blas" in line.lower() and "/" in line})


def blas_core():
    """The OpenBLAS core of the BLAS this process loaded, or what else it is."""
    libs = loaded_blas_libraries()
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
            handle.openblas_get_corename.restype = ctypes.c_char_p
            return handle.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "unknown (" + ",".join(libs) + ")"


def set_blas_threads(threads):
    """Sets the thread count of every OpenBLAS this process loaded (PyTorch's
    linear layers call OpenBLAS, whose count torch.set_num_threads leaves at
    the number of cores). Raises RuntimeError naming the libraries when none
    of them is an OpenBLAS."""
    libs = loaded_blas_libraries()
    done = 0
    for lib in libs:
        try:
            ctypes.CDLL(lib).openblas_set_num_threads(ctypes.c_int(threads))
            done += 1
        except (OSError, AttributeError):
            continue
    if done == 0:
        raise RuntimeError("cannot set OpenBLAS's threads: no OpenBLAS among the loaded BLAS "
                           "libraries (" + (",".join(libs) or "none") + ")")


class MnistDeep(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.fc1 = nn.Linear(7 * 7 * 64, 1024)
        self.fc2 = nn.Linear(1024, 10)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.5)
        for layer in (self.conv1, self.conv2, self.fc1, self.fc2):
            nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(layer.bias, 0.1)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = self.drop(torch.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def make_step(model, images, labels, batch_size, opt=None):
    """One training step of `model` (with `opt`, default Adam 1e-4;
    cross-entropy) per call, on the next batch of a random order of (images,
    labels), wrapping around."""
    if opt is None:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(images.shape[0])
    pos = 0
    # A batch keeps the images' memory format (indexing makes it contiguous).
    channels_last = images.dim() == 4 and not images.is_contiguous() and \
        images.is_contiguous(memory_format=torch.channels_last)

    def step():
        nonlocal pos
        if pos + batch_size > images.shape[0]:
            pos = 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        opt.zero_grad()
        x = images[idx]
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss_fn(model(x), labels[idx]).backward()
        opt.step()

    return step


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=["mnist_deep", "resnet18"], default="mnist_deep")
    parser.add_argument("--image_size", type=int, default=224, help="resnet18's input size")
    parser.add_argument("--examples", type=int, default=256,
                        help="resnet18: random examples to cycle through")
    parser.add_argument("--channels_last", action="store_true",
                        help="resnet18: model and inputs in channels_last memory format")
    parser.add_argument("--paced", action="store_true",
                        help="wait for a line on stdin before each run; stop at end of input")
    parser.add_argument("--blas_threads", type=int, default=0,
                        help="OpenBLAS's threads; 0 leaves OpenBLAS's own count (the cores)")
    args = parser.parse_args()

    if args.blas_threads < 0:
        parser.error("--blas_threads must be >= 0")
    torch.set_num_threads(args.threads)
    if args.blas_threads > 0:
        set_blas_threads(args.blas_threads)
    torch.manual_seed(1)
    if args.model == "resnet18":
        import torchvision  # only here: mnist_deep runs without it
        model = torchvision.models.resnet18(num_classes=1000)
        model.train()
        images = torch.rand(args.examples, 3, args.image_size, args.image_size)
        labels = torch.randint(0, 1000, (args.examples,))
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
            images = images.contiguous(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        step = make_step(model, images, labels, args.batch_size, opt)
    else:
        images = torch.from_numpy(load_images(os.path.join(DATA, "train-images-idx3-ubyte.gz")))
        labels = torch.from_numpy(load_labels(os.path.join(DATA, "train-labels-idx1-ubyte.gz")))
        step = make_step(MnistDeep(), images, labels, args.batch_size)

    for _ in range(args.warmup):
        step()
    best = 0.0
    if args.paced:
        print("ready", flush=True)
    r = 0
    while args.paced or r < args.repeats:
        if args.paced and not sys.stdin.readline():
            break
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        secs = time.perf_counter() - start
        ips = args.steps * args.batch_size / secs
        print(f"run {r}: {ips:.1f} images/s ({1000 * secs / args.steps:.2f} ms/step)", flush=True)
        best = max(best, ips)
        r += 1
    print(f"torch={torch.__version__} blas_core={blas_core()} "
          f"mkldnn={torch.backends.mkldnn.is_available()} threads={args.threads} "
          f"batch_size={args.batch_size} model={args.model} channels_last={args.channels_last}")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak_rss_mb={peak_kb / 1024:.0f}")
    print(f"images_per_sec={best:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
