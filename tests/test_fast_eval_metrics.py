"""`Pair(metrics=...)` without TensorFlow: its validation (only with tf1=ModelFn, each key a
Keras metric factory or (factory, output path)), and `eval_metrics` planned only for the pairs
that give it."""
from __future__ import annotations

from conftest import tf_equiv

import tf_equiv as api
from tf_equiv import checks

MODULE = """import tf_equiv

estimator = tf_equiv.Pair(tf1=tf_equiv.ModelFn(model_fn, labels=labels), tf2=Model, inputs=X,
                          loss=loss, metrics={"accuracy": (accuracy, "logits")})
plain = tf_equiv.Pair(tf1=tf_equiv.ModelFn(model_fn, labels=labels), tf2=Model, inputs=X,
                      loss=loss)
"""


def _model_fn(**fields):
    return api.Pair(tf1=api.ModelFn(print, labels=[0]), tf2=object, inputs=[[1.0]],
                    loss=print, **fields)


def test_metrics_map_eval_metric_ops_keys_to_keras_metric_factories():
    assert _model_fn(metrics={"accuracy": object}).problems == ()
    assert _model_fn(metrics={"accuracy": (object, "logits"), "auc": (object, 0)}).problems == ()
    assert _model_fn(metrics={"a": object}).metrics == {"a": object}


def test_bad_metrics_name_the_field_and_the_key():
    assert _model_fn(metrics=[object]).problems == (
        "metrics: expected a dict {eval_metric_ops key: factory of a Keras metric, or (factory, "
        "output path)}, got [<class 'object'>]",)
    assert _model_fn(metrics={}).problems[0].startswith("metrics: expected a dict")
    assert _model_fn(metrics={"accuracy": 3, "loss": object, 1: object}).problems == (
        "metrics: key 'accuracy': expected a factory () -> Keras metric, or (factory, output "
        "path such as 'logits'), got 3",
        "metrics: key 'loss': Estimator defines the 'loss' metric itself (the mean of "
        "spec.loss), which eval_metrics compares with loss(labels, outputs)",
        "metrics: key 1: expected an eval_metric_ops key (a string)")
    assert _model_fn(metrics={"auc": (object, None)}).problems[0].startswith(
        "metrics: key 'auc': expected a factory")


def test_metrics_need_a_model_fn():
    pair = api.Pair(tf1=print, tf2=object, inputs=[[1.0]], metrics={"accuracy": object})
    assert pair.problems == (
        "metrics: compares a model_fn's EVAL eval_metric_ops with Keras metrics; it needs "
        "tf1=tf_equiv.ModelFn(...)",)


def test_eval_metrics_is_planned_only_with_metrics():
    assert ("eval_metrics", None) in checks.plan(None, ["metrics"])
    assert "eval_metrics" not in dict(checks.plan(None, []))
    assert checks.plan(["eval_metrics"], []) == [("eval_metrics", "needs Pair(metrics=...)")]


def test_list_shows_eval_metrics_for_the_pair_with_metrics(tmp_path):
    path = tmp_path / "equiv_eval.py"
    path.write_text(MODULE)
    proc = tf_equiv("list", str(path))
    assert proc.returncode == 0, proc.stderr
    assert f"{path}::estimator::eval_metrics" in proc.stdout.splitlines()
    assert "::plain::eval_metrics" not in proc.stdout


def test_the_hint_tells_a_remapped_metric_from_a_model_that_differs():
    from tf_equiv.results import RecordComparison
    from tf_equiv.verdict.metrics import metrics_hint

    def record(name, passed):
        return RecordComparison(name=name, passed=passed, rtol=1e-6, atol=1e-5)

    keras = {"accuracy": "SparseTopKCategoricalAccuracy on outputs/logits"}
    hint = metrics_hint([record("eval_metrics/accuracy", False), record("eval_metrics/loss", True)],
                        keras)
    assert hint.startswith("the loss agrees, so the metrics differ: accuracy "
                           "(SparseTopKCategoricalAccuracy on outputs/logits): the Keras metric "
                           "computes another quantity than the model_fn's eval_metric_ops value")
    assert metrics_hint([record("eval_metrics/accuracy", False),
                         record("eval_metrics/loss", False)], keras).startswith(
        "the EVAL loss differs too: the model or its loss")
    assert metrics_hint([record("eval_metrics/accuracy", True)], keras) == ""
