"""Why a failing `eval_metrics` parts, in words for its hint: a metric that differs where the
loss agrees is a Keras metric that computes another quantity; a loss that differs is the model
or its loss in EVAL mode. No TensorFlow here."""
from __future__ import annotations

from typing import Mapping, Sequence

from tf_equiv.results import RecordComparison

PREFIX = "eval_metrics/"
LOSS = f"{PREFIX}loss"


def metrics_hint(records: Sequence[RecordComparison], metrics: Mapping[str, str]) -> str:
    """The hint of a failing eval_metrics from its records and the TF2 side's metrics
    ({key: the Keras metric's class and the output it reads}); empty when nothing is known."""
    failing = [r.name for r in records if not r]
    loss_fails = LOSS in failing
    parted = [n[len(PREFIX):] for n in failing if n != LOSS and n.startswith(PREFIX)]
    if loss_fails:
        return ("the EVAL loss differs too: the model or its loss computes another value in "
                "EVAL mode than the TF2 model with training=False and loss(labels, outputs); "
                "see transferred_inference for the outputs")
    if not parted:
        return ""
    named = ", ".join(f"{key} ({metrics[key]})" if key in metrics else key for key in parted)
    return (f"the loss agrees, so the metrics differ: {named}: the Keras metric computes another "
            "quantity than the model_fn's eval_metric_ops value; map it as TensorFlow's guide "
            "\"Migrate from Estimator to Keras APIs\" does (tf.compat.v1.metrics.accuracy on class "
            "ids -> tf.keras.metrics.Accuracy, on logits -> SparseCategoricalAccuracy) and give it "
            "the output it reads: metrics={key: (factory, 'logits')}")
