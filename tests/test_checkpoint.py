"""checkpoint_inference: a TF1 name-based checkpoint, made here by TF1 code, restored on both sides."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, check

pytestmark = pytest.mark.tensorflow

MAKE_CHECKPOINT = r"""
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow as tf
sys.path.insert(0, sys.argv[1])
from _models import mlp
graph = tf.Graph()
with graph.as_default():
    tf.compat.v1.set_random_seed(7)
    mlp(tf.compat.v1.placeholder(tf.float32, (4, 6)), False)
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().save(sess, sys.argv[2])
"""

MODULE = '''
import functools
import tf_equiv
from _models import inputs, mlp, shim

renamed = shim(functools.partial(mlp, scope="encoder_v2"))
restored = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checkpoint="ckpt/model",
                         checks=["checkpoint_inference"])
unmapped = tf_equiv.Pair(tf1=mlp, tf2=renamed, inputs=inputs, checkpoint="ckpt/model",
                         checks=["checkpoint_inference"])
mapped = tf_equiv.Pair(tf1=mlp, tf2=renamed, inputs=inputs, checkpoint="ckpt/model",
                       name_map=lambda name: name.replace("encoder_v2/", "encoder/"),
                       checks=["checkpoint_inference"])
missing = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checkpoint="nowhere/model",
                        checks=["checkpoint_inference"])
no_field = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["checkpoint_inference"])
'''


def test_checkpoint_restored_by_name_on_both_sides(tmp_path):
    shutil.copy(os.path.join(FIXTURES, "_models.py"), tmp_path)
    made = subprocess.run([sys.executable, "-c", MAKE_CHECKPOINT, str(tmp_path),
                           str(tmp_path / "ckpt" / "model")], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]
    (tmp_path / "equiv_ckpt.py").write_text(MODULE)
    run = check(tmp_path, ".", cwd=str(tmp_path))
    verdict = {k.split("::")[1]: c for k, c in run.cases.items()}
    assert verdict["restored"].verdict == "passed"
    assert verdict["mapped"].verdict == "passed"
    assert verdict["unmapped"].verdict == "error"
    assert "has no value for 4 TF2 variables: encoder_v2/" in verdict["unmapped"].message
    assert verdict["missing"].verdict == "error"
    assert "nowhere/model" in verdict["missing"].message
    assert verdict["no_field"].verdict == "skipped"
    assert verdict["no_field"].message == "needs Pair(checkpoint=...)"
