"""`eval_metrics`: a model_fn's EVAL mode (`Estimator.evaluate`) against the TF2 model's Keras
metrics, as TensorFlow's guide "Migrate from Estimator to Keras APIs" maps them
(`tf.compat.v1.metrics.accuracy` -> `tf.keras.metrics.SparseCategoricalAccuracy`, `mean` ->
`Mean`, `auc` -> `AUC`, ...).

The TF1 side builds the model_fn's EVAL graph in a fresh graph at the TF1 side's initial values
(the values the TF2 model is given), runs every `eval_metric_ops` update op over the batches and
then reads each value, as `Estimator.evaluate` does; its `loss` is the mean of `spec.loss` over the
batches, as the Estimator's own `loss` metric. The TF2 side updates each Keras metric with
`update_state(labels, outputs)` (`outputs` the model's, `training=False`, or the output a
`(factory, path)` entry names) over the same batches and reads `result()`. The batches: the
pair's inputs and labels, or those `train.batches` gives a training run."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import tensorflow as tf

from tf_equiv.run.records import SideCheck
from tf_equiv.worker import model_fn, training
from tf_equiv.worker.both_sides import pair_loss
from tf_equiv.worker.config import SEED, session_config
from tf_equiv.worker.nested import flatten, map_nested
from tf_equiv.worker.record_files import write_check
from tf_equiv.worker.user_code import UserError, call_user

CHECK = "eval_metrics"
#: tf.estimator.ModeKeys.EVAL, by value.
EVAL: model_fn.Mode = "eval"
#: The record of the Estimator's own metric, the mean of spec.loss over the batches.
LOSS = f"{CHECK}/loss"


def uses_batches(pair: Any) -> bool:
    """Whether the check evaluates on a training run's batches (`train.batches`), which the TF1
    side draws and both sides read, rather than on the pair's inputs and labels."""
    return pair.metrics is not None and pair.train is not None and pair.train.batches is not None


def _batches(inputs: Any, labels: Any, batches_file: Any, pair: Any,
             error: str = "") -> Iterator[tuple[Any, Any]]:
    """The (features, labels) batches the check evaluates on, both sides alike."""
    if not uses_batches(pair):
        yield inputs, labels
        return
    if not batches_file:
        raise UserError(f"no batches to evaluate on: {error or 'train.batches drew none'}")
    with np.load(batches_file, allow_pickle=False) as z:
        for number in range(1, pair.train.steps + 1):
            yield training.read_batch(z, number, inputs, labels)


def tf1_metrics(c: Any) -> SideCheck:
    """The model_fn's EVAL spec at the TF1 side's initial values: each eval_metric_ops value
    after its update op ran on every batch, and the mean of spec.loss."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(SEED)
        # As Estimator.evaluate does: a model_fn may read the global step in EVAL too.
        graph.add_to_collection(model_fn.TRAINING_STATE,
                                tf.compat.v1.train.get_or_create_global_step())
        _, placeholders, features = model_fn.input_placeholders(c.inputs)
        spec = model_fn.call(c.pair, features, EVAL)
        values, updates = _metric_ops(spec, c.pair.metrics)
        feeds, load = model_fn.initial_loader(graph, c.initial, EVAL)
        init = tf.group(tf.compat.v1.global_variables_initializer(),
                        tf.compat.v1.local_variables_initializer())
        fed = placeholders + model_fn.label_placeholders(graph)
    losses = []
    with tf.compat.v1.Session(graph=graph, config=session_config(tf, c.numerics,
                                                                 c.numerics.tf1_optimized)) as sess:
        sess.run(init)
        sess.run(load, {feeds[n]: c.initial[n] for n in feeds})
        for batch in _batches(c.inputs, model_fn.labels(c.pair), c.batches, c.pair):
            feed = dict(zip(fed, (a for _, a in training.batch_leaves(*batch))))
            loss, _ = sess.run([spec.loss, updates], feed)
            losses.append(float(loss))
        results = sess.run(values)
    arrays = {f"{CHECK}/{key}": np.asarray(value, np.float64) for key, value in results.items()}
    arrays[LOSS] = np.asarray(np.mean(losses), np.float64)
    return write_check(c.out, "tf1", CHECK, arrays, list(arrays))


def _metric_ops(spec: Any, metrics: Any) -> tuple[dict, list]:
    """The spec's metric values and update ops, in the order of the pair's `metrics`; a key on
    one side only is an error naming it."""
    ops = getattr(spec, "eval_metric_ops", None) or {}
    if getattr(spec, "loss", None) is None:
        raise UserError("model_fn returned an EstimatorSpec without loss in mode 'eval': "
                        "Estimator.evaluate needs spec.loss")
    missing = [k for k in ops if k not in metrics]
    extra = [k for k in metrics if k not in ops]
    parts = [f"eval_metric_ops keys without a Pair metrics entry: {', '.join(missing)}"] \
        if missing else []
    parts += [f"metrics keys the model_fn's eval_metric_ops do not have: {', '.join(extra)} "
              f"(it has {', '.join(ops) or 'none'})"] if extra else []
    if parts:
        raise UserError("eval_metrics: " + "; ".join(parts) + ". Map each eval_metric_ops key "
                        "to the Keras metric that migrates it: Pair(metrics={key: factory})")
    values, updates = {}, []
    for key in metrics:
        op = ops[key]
        if not (isinstance(op, (tuple, list)) and len(op) == 2):
            raise UserError(f"eval_metric_ops[{key!r}] is {type(op).__name__}, not a "
                            "(value, update_op) pair as tf.compat.v1.metrics return them")
        values[key] = op[0]
        updates.append(op[1])
    return values, updates


def tf2_metrics(model: Any, out: str) -> SideCheck:
    """Each Keras metric updated with `update_state(labels, outputs)` on every batch (the model
    called with training=False), then its result(); the mean of `loss(labels, outputs)` plus the
    regularization losses, as the TF1 side's spec.loss is compared in TRAIN mode."""
    pair = model.pair
    metrics = {key: _metric(key, entry) for key, entry in pair.metrics.items()}
    losses = []
    for features, labels in _batches(model.inputs, model_fn.labels(pair), model.batches, pair,
                                     model.batches_error):
        labels = map_nested(labels, tf.constant)
        outputs = call_user("model(batch, training=False)", model.model, features,
                            training=False)
        regularization = list(getattr(model.model, "losses", []) or [])
        total = pair_loss(pair, outputs, labels) + (tf.add_n(regularization) if regularization
                                                    else 0.0)
        losses.append(float(total))
        for key, (metric, path) in metrics.items():
            call_user(f"metrics[{key!r}].update_state(labels, outputs)", metric.update_state,
                      labels, _select(outputs, path, key))
    arrays = {f"{CHECK}/{key}": np.asarray(call_user(f"metrics[{key!r}].result()",
                                                     metric.result), np.float64)
              for key, (metric, _) in metrics.items()}
    arrays[LOSS] = np.asarray(np.mean(losses), np.float64)
    described = {key: type(metric).__name__ + (f" on outputs/{path}" if path is not None else "")
                 for key, (metric, path) in metrics.items()}
    return write_check(out, "tf2", CHECK, arrays, list(arrays), {"metrics": described})


def _metric(key: str, entry: Any) -> tuple[Any, Any]:
    """The Keras metric a `metrics` entry makes, and the output path it reads (None: all)."""
    factory, path = entry if isinstance(entry, tuple) else (entry, None)
    metric = call_user(f"metrics[{key!r}]()", factory)
    if not callable(getattr(metric, "update_state", None)) or \
            not callable(getattr(metric, "result", None)):
        raise UserError(f"metrics[{key!r}]() returned {type(metric).__name__}, not a Keras "
                        "metric (update_state and result)")
    return metric, path


def _select(outputs: Any, path: Any, key: str) -> Any:
    """The output a `(factory, path)` entry names: dict keys and sequence indexes, '/' apart."""
    if path is None:
        return outputs
    value = outputs
    for part in str(path).split("/"):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, (tuple, list)) and part.lstrip("-").isdigit() \
                and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            names = ", ".join(n.removeprefix("outputs/") for n, _ in flatten(outputs))
            raise UserError(f"metrics[{key!r}]: the TF2 model's outputs have no {path!r} "
                            f"(their records: {names})")
    return value
