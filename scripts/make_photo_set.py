#!/usr/bin/python3
"""Writes a set of real photographs at ImageNet's typical size and quality, as
an ImageNet-style folder tree, for measuring JPEG decode and input-pipeline
speed without any download. The photographs are crops of the colour photos
that Debian packages ship (mate-backgrounds, python3-skimage); docs/data.md,
"Data sets built from Debian packages", describes the output.

  scripts/make_photo_set.py --out=DIR [--train_files=2000] [--validation_files=100]
      [--synsets=4] [--quality=90] [--portrait_fraction=0.2] [--seed=1]

Output (DIR must be missing or empty):
  DIR/train/<synset>/<synset>_<i>.JPEG           file i goes to synset i mod --synsets
  DIR/validation/<synset>/ILSVRC2012_val_<n>.JPEG
  DIR/synsets.txt, DIR/metadata.txt              as TF's synsets and metadata files
  DIR/manifest.tsv                               every file: its source photo, crop box,
                                                 flip, size and bytes

Every file is a baseline JFIF JPEG of 500x375 (landscape) or, with probability
--portrait_fraction, 375x500 (portrait), quality 90, 4:2:0 chroma, no EXIF:
ImageNet's most common size and encoding. Each file is one crop of one source
photo, all drawn from the seed: the source uniformly among the photos found,
the crop's scale (its side is 25% to 100% of the largest box of the output's
aspect ratio that fits the photo), its position uniformly where it fits, and
a left-right flip with probability 1/2; the box is resized to the output size
with a bicubic filter (sources smaller than the box are enlarged). A crop whose
bytes equal an earlier file's is drawn again, so no two files are equal.

Deterministic: the same options give byte-identical files (with the same
Pillow and libjpeg, and the same source photos installed).
"""
import argparse
import hashlib
import io
import os
import random
import sys

from PIL import Image

MATE = "/usr/share/backgrounds/mate/nature/"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"
# The colour photographs among the packages' images (their graphics, renderings,
# textures and grey images are left out), in a fixed order.
SOURCES = [MATE + n for n in (
    "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg",
    "LadyBird.jpg", "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg",
)] + [SKIMAGE + n for n in (
    "astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
    "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "rocket.jpg",
)]
LANDSCAPE, PORTRAIT = (500, 375), (375, 500)
MIN_SCALE = 0.25


def load_sources():
    """[(path, RGB image)] of the source photos that are installed; exits if none."""
    found = []
    for path in SOURCES:
        if os.path.exists(path):
            with Image.open(path) as img:
                found.append((path, img.convert("RGB")))
    if not found:
        sys.exit("make_photo_set: none of the source photos is installed; "
                 "run scripts/setup.sh (mate-backgrounds, python3-skimage)")
    missing = len(SOURCES) - len(found)
    if missing:
        print("make_photo_set: %d of %d source photos missing; using %d"
              % (missing, len(SOURCES), len(found)), file=sys.stderr)
    return found


def draw_crop(rng, sources, portrait_fraction):
    """One crop's parameters: (source index, (w, h), box, flip)."""
    src = rng.randrange(len(sources))
    size = PORTRAIT if rng.random() < portrait_fraction else LANDSCAPE
    width, height = sources[src][1].size
    aspect = size[0] / size[1]
    full_w = min(width, height * aspect)  # largest box of the output's aspect that fits
    box_w = full_w * rng.uniform(MIN_SCALE, 1.0)
    box_h = box_w / aspect
    x0 = rng.uniform(0, width - box_w)
    y0 = rng.uniform(0, height - box_h)
    return src, size, (x0, y0, x0 + box_w, y0 + box_h), rng.random() < 0.5


def encode(img, size, box, flip, quality):
    crop = img.resize(size, Image.BICUBIC, box=box)
    if flip:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=quality, subsampling="4:2:0", optimize=False,
              progressive=False)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (missing or empty)")
    parser.add_argument("--train_files", type=int, default=2000)
    parser.add_argument("--validation_files", type=int, default=100)
    parser.add_argument("--synsets", type=int, default=4, help="synset folders (default 4)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    parser.add_argument("--portrait_fraction", type=float, default=0.2,
                        help="share of 375x500 files (default 0.2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if (args.train_files < 1 or args.validation_files < 0 or not 1 <= args.synsets <= 1000
            or not 1 <= args.quality <= 100 or not 0 <= args.portrait_fraction <= 1):
        parser.error("want --train_files >= 1, --validation_files >= 0, --synsets in 1..1000, "
                     "--quality in 1..100, --portrait_fraction in 0..1")
    if os.path.exists(args.out) and os.listdir(args.out):
        sys.exit("make_photo_set: %s exists and is not empty" % args.out)

    sources = load_sources()
    synsets = ["n%08d" % (10000000 + k) for k in range(args.synsets)]
    for split in ("train", "validation"):
        for s in synsets:
            os.makedirs(os.path.join(args.out, split, s), exist_ok=True)

    rng = random.Random(args.seed)
    seen, redrawn, rows = set(), 0, []
    total_bytes = 0
    for split, count in (("train", args.train_files), ("validation", args.validation_files)):
        for i in range(count):
            s = synsets[i % args.synsets]
            name = ("%s_%d.JPEG" % (s, i)) if split == "train" else ("ILSVRC2012_val_%08d.JPEG" % (i + 1))
            while True:
                src, size, box, flip = draw_crop(rng, sources, args.portrait_fraction)
                data = encode(sources[src][1], size, box, flip, args.quality)
                digest = hashlib.sha256(data).digest()
                if digest not in seen:
                    break
                redrawn += 1
            seen.add(digest)
            rel = os.path.join(split, s, name)
            with open(os.path.join(args.out, rel), "wb") as f:
                f.write(data)
            total_bytes += len(data)
            rows.append((rel, os.path.basename(sources[src][0]), "%.1f,%.1f,%.1f,%.1f" % box,
                         int(flip), "%dx%d" % size, len(data)))

    with open(os.path.join(args.out, "synsets.txt"), "w") as f:
        f.writelines(s + "\n" for s in synsets)
    with open(os.path.join(args.out, "metadata.txt"), "w") as f:
        f.writelines("%s\tphoto crops, group %d\n" % (s, k) for k, s in enumerate(synsets))
    used = sorted({r[1] for r in rows})
    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write("# make_photo_set.py seed=%d quality=%d portrait_fraction=%g synsets=%d\n"
                % (args.seed, args.quality, args.portrait_fraction, args.synsets))
        f.write("#count\tfiles\t%d\n#count\tbytes\t%d\n#count\tsources_installed\t%d\n"
                "#count\tsources_used\t%d\n#count\tredrawn_duplicates\t%d\n"
                % (len(rows), total_bytes, len(sources), len(used), redrawn))
        f.write("path\tsource\tbox_x0,y0,x1,y1\tflipped\tsize\tbytes\n")
        f.writelines("%s\t%s\t%s\t%d\t%s\t%d\n" % r for r in rows)
    print("wrote %d files (%d train, %d validation), %.1f MB, mean %.0f bytes, from %d source "
          "photos; %d duplicate crops redrawn: %s"
          % (len(rows), args.train_files, args.validation_files, total_bytes / 1e6,
             total_bytes / len(rows), len(used), redrawn, args.out))


if __name__ == "__main__":
    main()
