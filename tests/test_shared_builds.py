"""One build for two uses: the TF1 inference graph and the TF2 model built by its first call are
built as `random_inference[num_random_ops]` builds its own (a fresh DeterministicRandomTestTool in
num_random_ops mode, training off), and give that check's records. Each side's records must be
those of the regime built on its own, bit for bit, with the same randomness audit: the guide's
check, at the cost of one build fewer on each side."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT

REGIME = "random_inference[num_random_ops]"

# Run in a fresh process, as a worker runs: the regime alone (its own graph or model), or shared
# with the inference stage's checks. Prints the records file and the audit of the regime.
SCRIPT = r"""
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
how, side, module, name, out = sys.argv[1:6]
import tensorflow as tf
from tf_equiv.worker import compat, tf1, tf2
from tf_equiv.worker.inputs import resolve_inputs
from tf_equiv.worker.user_code import load_module
from tf_equiv.worker.config import Numerics, configure
compat.apply(True)
configure(tf)
pair = getattr(load_module(module), name)
inputs = resolve_inputs(pair)
regime = "random_inference[num_random_ops]"

class Channel:
    def send(self, event):
        pass

if how == "alone":
    results = (tf1._random(pair, inputs, regime, out, Numerics()) if side == "tf1"
               else iter([tf2._random(pair, inputs, regime, out)]))
else:
    wanted = [regime, "variables_created_once", "variables_match", "constant_inference"]
    results = (tf1.run(pair, inputs, wanted, out, Channel(), Numerics()) if side == "tf1"
               else tf2.run(pair, inputs, wanted, out, Channel()))
for result in results:
    if result.check == regime:
        print(json.dumps({"status": result.status, "message": result.message,
                          "file": result.file, "draws": result.meta["random_ops"]["draws"]}))
"""


def _regime(tmp_path, how: str, side: str, module: str, name: str) -> dict:
    out = tmp_path / f"{how}-{side}"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "checker"),
                                                       os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", SCRIPT, how, side, module, name, str(out)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["status"] == "ok", found["message"]
    return found


@pytest.mark.tensorflow
@pytest.mark.parametrize("module,name", [
    # Dropout between dense layers: random ops in the build and (training off) none in the call.
    (os.path.join(EXAMPLES, "equiv_mlp.py"), "mlp"),
    # Op seeds given by hand, which the tool replaces (a graph seed alone would keep them).
    (os.path.join(ROOT, "tests", "fixtures_shared", "equiv_seeded.py"), "seeded"),
    # tf_slim's inception_v3 (batch norm, 98 seeded draws), at 128x128.
    (os.path.join(ROOT, "tests", "fixtures", "equiv_inception_constant.py"), "inception_constant"),
])
@pytest.mark.parametrize("side", ["tf1", "tf2"])
def test_the_shared_build_gives_the_regimes_own_records(tmp_path, side, module, name):
    alone = _regime(tmp_path, "alone", side, module, name)
    shared = _regime(tmp_path, "shared", side, module, name)
    with np.load(alone["file"]) as a, np.load(shared["file"]) as s:
        assert a.files == s.files
        assert any(n.startswith("initial/") for n in a.files)
        different = [n for n in a.files if not np.array_equal(a[n], s[n], equal_nan=True)]
    assert different == []
    assert shared["draws"] == alone["draws"] and alone["draws"]
