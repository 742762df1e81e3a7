#!/usr/bin/python3
"""Evaluates a model exported by `tessera_ctl ckpt export` with numpy alone, to
check the export (and the chief's test accuracy) without Tessera:

  scripts/eval_npz.py MODEL.pbtxt EXPORT.npz IMAGES_DIR [--limit=N]

MODEL.pbtxt: a model file with one layer per line, as scripts/make_resnet_models.py
writes them (conv2d, batch_norm, relu, add, global_avg_pool, dense; `inputs` naming
earlier layers). IMAGES_DIR: an ImageNet-style validation tree
(<synset>/<file>, synsets sorted = class 0, 1, ...), such as
scripts/make_fashion_jpeg_tree.py writes. Each image is decoded with Pillow,
turned grey ([H, W, 1] models) or RGB, scaled to [0, 1] (the config's
normalize: ZERO_TO_ONE, whole image, no crop) and run forward in inference
mode: batch norm with the exported moving averages, as the chief evaluates.
Files Pillow cannot decode are skipped and counted, as tessera_records skips
them. Prints `examples=N accuracy=A`.
"""
import argparse
import os
import re
import sys

import numpy as np
from PIL import Image


def parse_model(path):
    shape, layers = None, []
    for line in open(path):
        m = re.match(r"input_shape: \[([0-9, ]+)\]", line)
        if m:
            shape = [int(x) for x in m.group(1).split(",")]
        m = re.match(r'layer \{ name: "([^"]+)"(?: inputs: (\[[^]]*\]|"[^"]+"))? (\w+) \{(.*)\} \}', line)
        if not m:
            continue
        name, inputs, kind, body = m.groups()
        inputs = re.findall(r'"([^"]+)"', inputs) if inputs else []
        opts = dict(re.findall(r"(\w+): ([^ ]+)", body))
        layers.append((name, inputs, kind, opts))
    if shape is None or not layers:
        sys.exit(f"{path}: no input_shape or no layer lines")
    return shape, layers


def conv2d(x, w, stride):  # x [N, H, W, C], w [k, k, C, F]; TensorFlow's SAME padding
    k = w.shape[0]
    n, h, wd, c = x.shape
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + k - h, 0)
    pw = max((ow - 1) * stride + k - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((n, oh, ow, w.shape[3]), np.float32)
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, dy:dy + stride * oh:stride, dx:dx + stride * ow:stride, :]
            out += patch @ w[dy, dx]
    return out


def forward(x, layers, p):
    outs, prev = {"input": x}, "input"
    for name, inputs, kind, o in layers:
        ins = [outs[i] for i in inputs] if inputs else [outs[prev]]
        a = ins[0]
        if kind == "conv2d":
            y = conv2d(a, p[f"{name}/weights"], int(o.get("stride", 1)))
            if o.get("use_bias", "true") != "false":
                y = y + p[f"{name}/biases"]
        elif kind == "batch_norm":
            eps = float(o.get("epsilon", 1e-3))
            y = (a - p[f"{name}/moving_mean"]) / np.sqrt(p[f"{name}/moving_variance"] + eps)
            y = y * p[f"{name}/gamma"] + p[f"{name}/beta"]
        elif kind == "relu":
            y = np.maximum(a, 0)
        elif kind == "add":
            y = sum(ins)
        elif kind == "global_avg_pool":
            y = a.mean(axis=(1, 2))
        elif kind == "dense":
            y = a.reshape(len(a), -1) @ p[f"{name}/weights"] + p[f"{name}/biases"]
        else:
            sys.exit(f"layer {name}: {kind} is not handled by this script")
        outs[name] = y.astype(np.float32)
        prev = name
    return outs[prev]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("export")
    ap.add_argument("images")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    shape, layers = parse_model(args.model)
    params = np.load(args.export)
    synsets = sorted(d for d in os.listdir(args.images) if os.path.isdir(os.path.join(args.images, d)))
    files = [(os.path.join(args.images, s, f), label)
             for label, s in enumerate(synsets) for f in sorted(os.listdir(os.path.join(args.images, s)))]
    if args.limit:
        files = files[:args.limit]
    mode = "L" if shape[2] == 1 else "RGB"
    correct = count = skipped = 0
    for start in range(0, len(files), 250):
        xs, ys = [], []
        for path, label in files[start:start + 250]:
            try:
                with Image.open(path) as im:
                    im = im.convert("RGB").convert(mode).resize((shape[1], shape[0]))
                    xs.append(np.asarray(im, np.float32).reshape(shape) / 255.0)
                    ys.append(label)
            except Exception:  # corrupt or truncated: skipped, as tessera_records does
                skipped += 1
        if not xs:
            continue
        logits = forward(np.stack(xs), layers, params)
        correct += int((logits.argmax(axis=1) == np.array(ys)).sum())
        count += len(xs)
    print(f"examples={count} skipped={skipped} accuracy={correct / max(count, 1):.6f}")


if __name__ == "__main__":
    main()
