"""run/sides.py: both sides split over two processes each, as on a machine with idle cores."""
from __future__ import annotations

import os
import threading

import pytest
from conftest import FIXTURES

from tf_equiv.protocol.requests import RunOptions
from tf_equiv.run.sides import SideSpec, run_sides, split_checks
from tf_equiv.verdict.judge import judge

CHECKS = ("variables_created_once", "variables_match", "transferred_inference", "gradients",
          "random_inference[constant]", "random_training[constant]",
          "functional_training[constant]", "tf_function")


def test_split_checks_keeps_each_regime_together():
    first, rest = split_checks("tf2", CHECKS, 2)
    assert "transferred_inference" in first and "tf_function" in first
    assert rest == ("random_training[constant]", "functional_training[constant]")
    assert split_checks("tf1", CHECKS, 1) == [CHECKS]


@pytest.mark.tensorflow
def test_a_pair_split_over_four_processes_gives_the_same_verdicts(tmp_path):
    spec = SideSpec(os.path.join(FIXTURES, "equiv_good.py"), "good", CHECKS, str(tmp_path), 300.0,
                    RunOptions(threads=1))
    runs = run_sides(spec, threading.Event(), parts=2)
    assert os.path.exists(tmp_path / "tf1-2.log") and os.path.exists(tmp_path / "tf2-2.log")
    result = judge("equiv_good.py", "good", 5, [(c, None) for c in CHECKS], runs)
    assert {c.check: c.verdict for c in result.cases} == {c: "passed" for c in CHECKS}
