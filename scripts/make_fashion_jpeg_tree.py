#!/usr/bin/python3
"""Writes Fashion-MNIST (Debian's dataset-fashion-mnist) as an ImageNet-style
folder tree of JPEG files, with a few odd files mixed in on purpose, so that
tools/tessera_records and the JPEG input pipeline meet real data and real
mistakes without any download. docs/data.md, "Data sets built from Debian
packages", describes the output.

  scripts/make_fashion_jpeg_tree.py --out=DIR [--train_per_class=N]
      [--validation_per_class=N] [--upscale=SIZE] [--quality=Q]
      [--odd_per_kind=N] [--seed=S]

Output (DIR must be missing or empty):
  DIR/train/<synset>/<synset>_<index>.JPEG            from the 60,000 training images
  DIR/validation/<synset>/ILSVRC2012_val_<n>.JPEG     from the 10,000 test images
  DIR/synsets.txt     the 10 synsets, one per line (as TF's imagenet_lsvrc_2015_synsets.txt)
  DIR/metadata.txt    synset<TAB>class text (as TF's imagenet_metadata.txt)
  DIR/manifest.tsv    counts per split and kind, and every odd file

Synsets are n00000000 ... n00000009 for Fashion-MNIST's classes 0 ... 9, so the
sorted folder names, the lines of synsets.txt and the class index agree (TF's
label = 1 + class index). <index> is the image's index in the IDX file; <n> is
1 + the test image's index.

Odd files, chosen by the seed among each split's files (each kind takes
--odd_per_kind files of each split, default 3; no file has two kinds):
  png        a PNG file named .JPEG                      valid: convert to RGB
  cmyk       a 4-component (Adobe, inverted) CMYK JPEG   valid: convert to RGB
  grey       a 1-component greyscale JPEG                valid: convert to RGB
  truncated  a valid JPEG cut halfway through its scan data (headers
             whole): decoders report a premature end     skip, naming the file
  corrupt    the JPEG start marker FF D8 and then random bytes without any
             0xFF (no marker, no image)                  skip, naming the file
Every other file is a baseline RGB JPEG (4:2:0, --quality, default 95) of the
grey image replicated to three channels.

Deterministic: the same options give byte-identical files (with the same
Pillow and libjpeg). The seed chooses the odd files and the corrupt bytes; the
images of each class are the first N of that class in IDX order.
"""
import argparse
import gzip
import io
import os
import random
import sys

import numpy as np
from PIL import Image

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_TEXTS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
ODD_KINDS = ["png", "cmyk", "grey", "truncated", "corrupt"]
SKIPPED_KINDS = ("truncated", "corrupt")


def synset(label):
    return "n%08d" % label


def read_idx(path, magic):
    """The payload of an IDX file (data/idx_reader.h has the format) as a
    uint8 array shaped by its header; exits with a message naming the file."""
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            raw = f.read()
    except OSError as e:
        sys.exit("make_fashion_jpeg_tree: cannot read %s: %s" % (path, e))
    if len(raw) < 8 or int.from_bytes(raw[0:4], "big") != magic:
        sys.exit("make_fashion_jpeg_tree: %s: bad magic number (want 0x%08x)" % (path, magic))
    ndims = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    offset = 4 + 4 * ndims
    want = int(np.prod(dims))
    if len(raw) - offset != want:
        sys.exit("make_fashion_jpeg_tree: %s: %d payload bytes, header says %d"
                 % (path, len(raw) - offset, want))
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(dims)


def load_split(prefix):
    images = read_idx(os.path.join(DATA_DIR, prefix + "-images-idx3-ubyte.gz"), 0x803)
    labels = read_idx(os.path.join(DATA_DIR, prefix + "-labels-idx1-ubyte.gz"), 0x801)
    if len(images) != len(labels):
        sys.exit("make_fashion_jpeg_tree: %s: %d images but %d labels"
                 % (prefix, len(images), len(labels)))
    return images, labels


def choose(labels, per_class):
    """Indices of the first per_class images of each class (all if None), in
    IDX order."""
    picked = []
    for c in range(10):
        idx = np.nonzero(labels == c)[0]
        picked.extend(idx if per_class is None else idx[:per_class])
    return sorted(int(i) for i in picked)


def encode(pixels, kind, size, quality, rng):
    """The bytes of one file of the given kind for a 28x28 grey image."""
    img = Image.fromarray(pixels, "L")
    if size != 28:
        img = img.resize((size, size), Image.BILINEAR)
    out = io.BytesIO()
    if kind == "png":
        img.convert("RGB").save(out, "PNG")
        return out.getvalue()
    if kind == "grey":
        img.save(out, "JPEG", quality=quality)
        return out.getvalue()
    if kind == "cmyk":
        # Pillow writes an Adobe APP14 marker and inverted CMYK, as Photoshop
        # does (ImageNet's 22 CMYK files are of that kind).
        img.convert("RGB").convert("CMYK").save(out, "JPEG", quality=quality)
        return out.getvalue()
    img.convert("RGB").save(out, "JPEG", quality=quality, subsampling="4:2:0")
    data = out.getvalue()
    if kind == "truncated":
        scan = data.index(b"\xff\xda")  # start of scan: cut halfway through the scan data
        return data[:scan + (len(data) - scan) // 2]
    if kind == "corrupt":
        return b"\xff\xd8" + bytes(rng.randrange(0, 255) for _ in range(len(data) - 2))
    return data


def assign_kinds(names, odd_per_kind, rng):
    """{name: kind} for the odd files of one split, chosen by rng."""
    wanted = odd_per_kind * len(ODD_KINDS)
    if wanted > len(names):
        sys.exit("make_fashion_jpeg_tree: %d odd files wanted but the split has %d files"
                 % (wanted, len(names)))
    chosen = rng.sample(sorted(names), wanted)
    return {name: ODD_KINDS[i // odd_per_kind] for i, name in enumerate(chosen)}


def write_split(out, split, images, labels, indices, args, rng, manifest_rows, counts):
    files = []
    for i in indices:
        s = synset(int(labels[i]))
        name = ("%s_%d.JPEG" % (s, i)) if split == "train" else ("ILSVRC2012_val_%08d.JPEG" % (i + 1))
        files.append((os.path.join(split, s, name), i, s))
    kinds = assign_kinds([f[0] for f in files], args.odd_per_kind, rng)
    for c in range(10):
        os.makedirs(os.path.join(out, split, synset(c)), exist_ok=True)
    for rel, i, s in files:
        kind = kinds.get(rel, "normal")
        with open(os.path.join(out, rel), "wb") as f:
            f.write(encode(images[i], kind, args.upscale, args.quality, rng))
        counts[(split, kind)] = counts.get((split, kind), 0) + 1
        if kind != "normal":
            manifest_rows.append((split, kind, s, rel, i))


def positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive: %s" % text)
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (missing or empty)")
    parser.add_argument("--train_per_class", type=positive, default=None,
                        help="first N training images of each class (default: all 6000)")
    parser.add_argument("--validation_per_class", type=positive, default=None,
                        help="first N test images of each class (default: all 1000)")
    parser.add_argument("--upscale", type=positive, default=28,
                        help="side of the written images in pixels, bilinear (default 28: as is)")
    parser.add_argument("--quality", type=positive, default=95, help="JPEG quality (default 95)")
    parser.add_argument("--odd_per_kind", type=int, default=3,
                        help="files of each odd kind per split (default 3; 0 for none)")
    parser.add_argument("--seed", type=int, default=1, help="chooses the odd files (default 1)")
    args = parser.parse_args()
    if args.odd_per_kind < 0 or args.quality > 100:
        parser.error("--odd_per_kind must be >= 0 and --quality in 1..100")
    if os.path.exists(args.out) and os.listdir(args.out):
        sys.exit("make_fashion_jpeg_tree: %s exists and is not empty" % args.out)
    os.makedirs(args.out, exist_ok=True)

    rng = random.Random(args.seed)
    rows, counts = [], {}
    for split, prefix, per_class in (("train", "train", args.train_per_class),
                                     ("validation", "t10k", args.validation_per_class)):
        images, labels = load_split(prefix)
        write_split(args.out, split, images, labels, choose(labels, per_class), args, rng,
                    rows, counts)

    with open(os.path.join(args.out, "synsets.txt"), "w") as f:
        f.writelines(synset(c) + "\n" for c in range(10))
    with open(os.path.join(args.out, "metadata.txt"), "w") as f:
        f.writelines("%s\t%s\n" % (synset(c), CLASS_TEXTS[c]) for c in range(10))
    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write("# make_fashion_jpeg_tree.py seed=%d train_per_class=%s validation_per_class=%s "
                "upscale=%d quality=%d odd_per_kind=%d\n"
                % (args.seed, args.train_per_class or "all", args.validation_per_class or "all",
                   args.upscale, args.quality, args.odd_per_kind))
        f.write("# valid files (normal, png, cmyk, grey) become records; truncated and corrupt "
                "files are to be skipped\n")
        for split in ("train", "validation"):
            total = sum(n for (s, _), n in counts.items() if s == split)
            skipped = sum(counts.get((split, k), 0) for k in SKIPPED_KINDS)
            f.write("#count\t%s\tfiles\t%d\n" % (split, total))
            for kind in ["normal"] + ODD_KINDS:
                f.write("#count\t%s\t%s\t%d\n" % (split, kind, counts.get((split, kind), 0)))
            f.write("#count\t%s\texpected_records\t%d\n" % (split, total - skipped))
        f.write("split\tkind\tsynset\tpath\tidx_index\n")
        for row in sorted(rows, key=lambda r: (r[0] != "train", r[1], r[3])):
            f.write("%s\t%s\t%s\t%s\t%d\n" % row)
    for split in ("train", "validation"):
        print("%s: %s" % (split, ", ".join("%s=%d" % (k, counts.get((split, k), 0))
                                         for k in ["normal"] + ODD_KINDS)))
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()
