"""tf_equiv.SavedModel without TensorFlow: its declaration's validation, and the plan `list`
shows (the checks a loaded TF1 graph cannot run skipped, with the reason)."""
from __future__ import annotations

from conftest import tf_equiv

import tf_equiv as api
from tf_equiv.plan.discover import read_module

MODULE = """import numpy as np
import tensorflow as tf
import tf_equiv
from tf_equiv import SavedModel

served = tf_equiv.Pair(tf1=tf_equiv.SavedModel("exported", signature="serving_default",
                                                tags=("serve",)),
                       tf2=Model, inputs=lambda: {"x": np.ones((1, 2), np.float32)},
                       optimizers=(opt1, opt2), train=tf_equiv.Train(steps=2))
chosen = tf_equiv.Pair(SavedModel("exported"), Model, {"x": X},
                       checks=["variables_match", "random_inference[constant]"])
coded = tf_equiv.Pair(tf1=forward, tf2=Model, inputs=X, checks=["random_inference[constant]"])
"""


def test_a_saved_model_declaration_is_validated_field_by_field():
    good = api.Pair(tf1=api.SavedModel("exported"), tf2=object, inputs={"x": [1.0]})
    assert good.problems == ()
    assert api.SavedModel("m").signature == "serving_default"
    assert api.SavedModel("m").tags == ("serve",)
    bad = api.Pair(tf1=api.SavedModel(3, signature="", tags="serve"), tf2=object,
                   inputs=[[1.0]])
    assert bad.problems == (
        "tf1.path: expected the SavedModel's folder (a path), got 3",
        "tf1.signature: expected a signature key (a string), got ''",
        "tf1.tags: expected a sequence of tags, got the string 'serve'; write tags=('serve',)",
        "inputs: expected a dict keyed by the signature's input names (or a function "
        "returning one) with tf1=SavedModel, got [[1.0]]")


def test_a_relative_path_is_taken_from_the_declaring_modules_folder(tmp_path):
    module = str(tmp_path / "sub" / "equiv_x.py")
    assert api.SavedModel("exported").resolved(module) == str(tmp_path / "sub" / "exported")
    assert api.SavedModel("/abs/model").resolved(module) == "/abs/model"


def test_list_shows_the_checks_a_saved_model_skips_and_why(tmp_path):
    path = tmp_path / "equiv_saved.py"
    path.write_text(MODULE)
    assert [p.tf1_loaded for p in read_module(str(path)).pairs] == [True, True, False]
    proc = tf_equiv("list", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split("  ", 1) if "  (" in line else (line, "")
                 for line in proc.stdout.splitlines() if "::" in line)
    served = {k.rsplit("::", 1)[1]: v for k, v in lines.items() if "::served::" in k}
    runs = [c for c, why in served.items() if not why]
    assert runs == ["variables_created_once", "variables_match", "constant_inference",
                    "transferred_inference", "gradients", "optimizer_steps", "tf_function"]
    assert served["random_training[constant]"].startswith(
        "(skipped: tf1 is a SavedModel: its variables hold trained values, and this check "
        "compares the random initial values the TF1 code draws when it builds the graph")
    assert served["training_run"].startswith(
        "(skipped: tf1 is a SavedModel: its signature is an inference graph, and training_run "
        "trains the TF1 code's training-mode graph")
    assert lines[f"{path}::chosen::random_inference[constant]"].startswith(
        "(skipped: tf1 is a SavedModel")
    assert lines[f"{path}::chosen::variables_match"] == ""
    assert lines[f"{path}::coded::random_inference[constant]"] == ""
