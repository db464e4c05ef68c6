"""The named compatibility fixes for tf_slim under TF 2.16+, and turning them off."""
from __future__ import annotations

import os

from conftest import ROOT, check

FIXTURE = os.path.join(ROOT, "tests", "fixtures_compat")


def test_slim_batch_norm_passes_with_the_fixes(tmp_path):
    run = check(tmp_path, ".", cwd=FIXTURE)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "compat fixes applied: legacy_tf_layers_alias, tf_slim_collection_identity" in run.stdout
    suite = next(iter(run.xml))
    props = {p.name: p.value for p in suite.properties()}
    assert props["compat_fixes"] == "legacy_tf_layers_alias,tf_slim_collection_identity"


def test_without_the_fixes_the_error_names_the_missing_module(tmp_path):
    run = check(tmp_path, ".", "--no-compat-fixes", cwd=FIXTURE)
    assert run.returncode == 1
    case = run.case("equiv_slim_batch_norm.py::batch_norm::transferred_inference")
    assert case.verdict == "error"
    assert "No module named 'tf_keras.legacy_tf_layers'" in case.message
