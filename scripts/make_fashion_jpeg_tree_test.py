#!/usr/bin/python3
"""Test of scripts/make_fashion_jpeg_tree.py on a tiny tree: folder layout and
counts, the labels and metadata files, every odd file found by its bytes and
matching the manifest, pixels that are Fashion-MNIST's, byte-identical output
for the same seed and a different choice for another seed, and refusal of a
non-empty output folder."""
import gzip
import io
import os
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "make_fashion_jpeg_tree.py")
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
SYNSETS = ["n%08d" % c for c in range(10)]
TRAIN_PER_CLASS, VALIDATION_PER_CLASS, ODD_PER_KIND, SIDE = 4, 2, 1, 32


def make_tree(name, seed, *extra):
    out = os.path.join(TMP, name)
    subprocess.run([SCRIPT, "--out=" + out, "--seed=%d" % seed,
                    "--train_per_class=%d" % TRAIN_PER_CLASS,
                    "--validation_per_class=%d" % VALIDATION_PER_CLASS,
                    "--odd_per_kind=%d" % ODD_PER_KIND, "--upscale=%d" % SIDE] + list(extra),
                   check=True, stdout=subprocess.DEVNULL)
    return out


def all_files(root):
    """{relative path: bytes} of every file under root."""
    found = {}
    for folder, _, names in os.walk(root):
        for n in names:
            path = os.path.join(folder, n)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def sniff(data):
    """The kind of a file, from its bytes alone."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if not data.startswith(b"\xff\xd8"):
        return "unknown"
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, SyntaxError):
        return "truncated" if data.find(b"\xff\xda") > 0 else "corrupt"
    return {"RGB": "normal", "L": "grey", "CMYK": "cmyk"}.get(img.mode, img.mode)


def read_manifest(root):
    counts, rows = {}, []
    with open(os.path.join(root, "manifest.tsv")) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "#count":
                counts[(fields[1], fields[2])] = int(fields[3])
            elif not line.startswith("#") and fields[0] != "split":
                rows.append(fields)
    return counts, rows


class MakeFashionJpegTreeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tree = make_tree("a", seed=7)
        cls.files = all_files(cls.tree)

    def test_layout_and_label_files(self):
        for split, per_class in (("train", TRAIN_PER_CLASS), ("validation", VALIDATION_PER_CLASS)):
            self.assertEqual(sorted(os.listdir(os.path.join(self.tree, split))), SYNSETS)
            for s in SYNSETS:
                names = os.listdir(os.path.join(self.tree, split, s))
                self.assertEqual(len(names), per_class, (split, s))
                self.assertTrue(all(n.endswith(".JPEG") for n in names))
                prefix = s + "_" if split == "train" else "ILSVRC2012_val_"
                self.assertTrue(all(n.startswith(prefix) for n in names), names)
        with open(os.path.join(self.tree, "synsets.txt")) as f:
            self.assertEqual(f.read(), "".join(s + "\n" for s in SYNSETS))
        with open(os.path.join(self.tree, "metadata.txt")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "n00000000\tT-shirt/top")
        self.assertEqual(lines[9], "n00000009\tAnkle boot")
        self.assertEqual([l.split("\t")[0] for l in lines], SYNSETS)

    def test_odd_files_found_by_bytes_match_the_manifest(self):
        counts, rows = read_manifest(self.tree)
        listed = {row[3]: row[1] for row in rows}
        sniffed = {}
        for rel, data in self.files.items():
            if rel.endswith(".JPEG"):
                kind = sniff(data)
                sniffed[(rel.split(os.sep)[0], kind)] = sniffed.get((rel.split(os.sep)[0], kind), 0) + 1
                self.assertEqual(kind, listed.get(rel, "normal"), rel)
        for split, per_class in (("train", TRAIN_PER_CLASS), ("validation", VALIDATION_PER_CLASS)):
            for kind in ("png", "cmyk", "grey", "truncated", "corrupt"):
                self.assertEqual(counts[(split, kind)], ODD_PER_KIND, (split, kind))
                self.assertEqual(sniffed[(split, kind)], ODD_PER_KIND, (split, kind))
            self.assertEqual(counts[(split, "files")], 10 * per_class)
            self.assertEqual(counts[(split, "normal")], 10 * per_class - 5 * ODD_PER_KIND)
            self.assertEqual(counts[(split, "expected_records")], 10 * per_class - 2 * ODD_PER_KIND)
        self.assertEqual(len(rows), 2 * 5 * ODD_PER_KIND)

    def test_pixels_are_fashion_mnist(self):
        with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        checked = 0
        for rel, data in self.files.items():
            if not rel.startswith("train") or sniff(data) not in ("normal", "png", "grey", "cmyk"):
                continue
            index = int(os.path.basename(rel).split("_")[1].split(".")[0])
            img = Image.open(io.BytesIO(data))
            self.assertEqual(img.size, (SIDE, SIDE), rel)
            got = np.asarray(img.convert("L"), np.float32)
            want = np.asarray(Image.fromarray(images[index]).resize((SIDE, SIDE), Image.BILINEAR),
                              np.float32)
            self.assertLess(np.abs(got - want).mean(), 4.0, rel)
            checked += 1
        self.assertEqual(checked, 10 * TRAIN_PER_CLASS - 2 * ODD_PER_KIND)

    def test_same_seed_same_bytes_other_seed_other_choice(self):
        again = all_files(make_tree("b", seed=7))
        self.assertEqual(sorted(again), sorted(self.files))
        for rel in self.files:
            self.assertEqual(again[rel], self.files[rel], rel)
        other = all_files(make_tree("c", seed=8))
        self.assertEqual(sorted(other), sorted(self.files))
        self.assertNotEqual(read_manifest(os.path.join(TMP, "c"))[1], read_manifest(self.tree)[1])

    def test_refuses_a_non_empty_folder(self):
        result = subprocess.run([SCRIPT, "--out=" + self.tree], capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not empty", result.stderr)


if __name__ == "__main__":
    unittest.main()
