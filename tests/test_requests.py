"""With TensorFlow: a failure is localized, and a training run's steps run again, under the
numerics of the run that failed."""
from __future__ import annotations

import os
import threading

import pytest
from conftest import ROOT

from tf_equiv.diagnose.localize import localize
from tf_equiv.protocol.requests import Numerics, RunOptions
from tf_equiv.run.kernels import run_steps
from tf_equiv.run.protocol import Transfer
from tf_equiv.run.sides import SideSpec, run_sides

pytestmark = pytest.mark.tensorflow

BLOCKS = os.path.join(ROOT, "tests", "fixtures_localize", "equiv_blocks.py")
TRAINING = os.path.join(ROOT, "tests", "fixtures_train", "equiv_training.py")


def test_localization_runs_under_the_numerics_of_the_run_that_failed(tmp_path):
    options = RunOptions(Numerics(("constant_folding",), True), threads=1)
    result = localize(BLOCKS, "wrong_block", "transferred_inference", str(tmp_path), 300, options)
    assert result.environment["grappler"] == "on in every check, without constant_folding"
    assert result.environment["grappler_off"] == "constant_folding"
    assert result.found and "net/block2/LeakyRelu" in result.message, result.message


def test_the_steps_run_under_the_numerics_of_the_run_that_failed(tmp_path):
    """`adam_epsilon`'s first step is wrong (TF2's Adam epsilon differs from TF1's)."""
    spec = SideSpec(TRAINING, "adam_epsilon", ("training_run",), str(tmp_path), 300,
                    RunOptions(Numerics(("constant_folding",), True), threads=1))
    stop = threading.Event()
    tf1 = run_sides(spec, stop, ("tf1",))["tf1"]
    records, transfer = tf1.check("training_run", ok=True), tf1.find(Transfer)
    assert records is not None and transfer is not None, tf1.log_tail()
    steps = run_steps(spec, records.file, transfer, 1, 3, 1e-6, 10.0, 1e-5, stop, 300,
                      str(tmp_path))
    assert steps.environment["grappler"] == "on in every check, without constant_folding", steps
    assert steps.found is not None and steps.found["wrong"] == 1, steps
