#!/usr/bin/python3
"""Test of scripts/make_photo_set.py on a small set: layout and counts, every
file a baseline 4:2:0 JPEG of 500x375 or 375x500 with quality 90's tables, no
two files equal, crops from several source photos, the manifest agreeing with
the files, and byte-identical output for the same seed."""
import io
import os
import subprocess
import tempfile
import unittest

from PIL import Image, JpegImagePlugin

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "make_photo_set.py")
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
TRAIN, VALIDATION, SYNSETS = 24, 6, 3


def make_set(name, seed):
    out = os.path.join(TMP, name)
    subprocess.run([SCRIPT, "--out=" + out, "--seed=%d" % seed, "--train_files=%d" % TRAIN,
                    "--validation_files=%d" % VALIDATION, "--synsets=%d" % SYNSETS,
                    "--portrait_fraction=0.3"], check=True, stdout=subprocess.DEVNULL)
    return out


def all_files(root):
    found = {}
    for folder, _, names in os.walk(root):
        for n in names:
            with open(os.path.join(folder, n), "rb") as f:
                found[os.path.relpath(os.path.join(folder, n), root)] = f.read()
    return found


def manifest_rows(root):
    with open(os.path.join(root, "manifest.tsv")) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if not l.startswith("#")]
    return lines[1:]


class MakePhotoSetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = make_set("a", seed=3)
        cls.files = all_files(cls.root)
        cls.jpegs = {k: v for k, v in cls.files.items() if k.endswith(".JPEG")}

    def test_layout(self):
        synsets = ["n%08d" % (10000000 + k) for k in range(SYNSETS)]
        for split, count in (("train", TRAIN), ("validation", VALIDATION)):
            self.assertEqual(sorted(os.listdir(os.path.join(self.root, split))), synsets)
            n = sum(len(os.listdir(os.path.join(self.root, split, s))) for s in synsets)
            self.assertEqual(n, count, split)
        with open(os.path.join(self.root, "synsets.txt")) as f:
            self.assertEqual(f.read().split(), synsets)
        self.assertEqual(len(self.jpegs), TRAIN + VALIDATION)

    def test_imagenet_size_and_encoding(self):
        reference = io.BytesIO()
        Image.new("RGB", (16, 16)).save(reference, "JPEG", quality=90)
        q90 = Image.open(reference).quantization
        sizes = set()
        for rel, data in self.jpegs.items():
            img = Image.open(io.BytesIO(data))
            self.assertEqual((img.format, img.mode), ("JPEG", "RGB"), rel)
            self.assertIn(img.size, ((500, 375), (375, 500)), rel)
            self.assertEqual(JpegImagePlugin.get_sampling(img), 2, rel)  # 4:2:0
            self.assertEqual(img.quantization, q90, rel)
            self.assertNotIn("progressive", img.info, rel)
            self.assertNotIn("exif", img.info, rel)
            sizes.add(img.size)
        self.assertEqual(len(sizes), 2)

    def test_distinct_files_from_several_photos(self):
        self.assertEqual(len(set(self.jpegs.values())), len(self.jpegs))
        rows = manifest_rows(self.root)
        self.assertEqual(sorted(r[0] for r in rows), sorted(self.jpegs))
        for path, _, _, _, size, nbytes in rows:
            self.assertEqual(int(nbytes), len(self.jpegs[path]), path)
            self.assertEqual(size, "%dx%d" % Image.open(io.BytesIO(self.jpegs[path])).size)
        self.assertGreaterEqual(len({r[1] for r in rows}), 8)

    def test_same_seed_same_bytes(self):
        self.assertEqual(all_files(make_set("b", seed=3)), self.files)
        self.assertNotEqual(all_files(make_set("c", seed=4))["manifest.tsv"],
                            self.files["manifest.tsv"])


if __name__ == "__main__":
    unittest.main()
