"""The shipped examples are real migrations, and every check that applies passes."""
from __future__ import annotations

from conftest import EXAMPLES, check


def test_examples_pass(tmp_path):
    run = check(tmp_path, ".", cwd=EXAMPLES)
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = {k: c.verdict for k, c in run.cases.items()}
    assert set(verdicts.values()) == {"passed"}
    assert len([k for k in verdicts if k.startswith("equiv_resnet_v1_50.py::resnet::")]) == 11
    assert len([k for k in verdicts if k.startswith("equiv_mlp.py::mlp::")]) == 11
    # inception_v3 leaves the (vacuous) constant reset out, and says why in the module.
    inception = [k.split("::")[-1] for k in verdicts if k.startswith("equiv_inception_v3.py::")]
    assert "constant_inference" not in inception and len(inception) == 9
