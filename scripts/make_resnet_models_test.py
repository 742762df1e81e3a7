#!/usr/bin/python3
"""The ResNet model files checked in under examples/models/ are exactly what
scripts/make_resnet_models.py writes (so an edit by hand, or a script change
without running it, fails here)."""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "make_resnet_models.py")
MODELS = os.path.join(HERE, "..", "examples", "models")
FILES = ["resnet18.pbtxt", "resnet18_64.pbtxt", "resnet50.pbtxt", "resnet_small.pbtxt"]


class CheckedInFilesTest(unittest.TestCase):
    def test_checked_in_files_equal_the_generator_output(self):
        out = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        subprocess.run([SCRIPT, "--out=" + out], check=True, stdout=subprocess.DEVNULL)
        self.assertEqual(sorted(os.listdir(out)), FILES)
        for name in FILES:
            with open(os.path.join(out, name)) as f:
                generated = f.read()
            with open(os.path.join(MODELS, name)) as f:
                checked_in = f.read()
            self.assertEqual(checked_in, generated,
                             "%s differs: run scripts/make_resnet_models.py" % name)


if __name__ == "__main__":
    unittest.main()
