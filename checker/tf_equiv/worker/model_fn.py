"""An Estimator `model_fn` as the TF1 side (tf_equiv.ModelFn): a forward function for the checks
that build the model (PREDICT, or TRAIN for the training regimes), and the TRAIN graph whose
`spec.loss` and `spec.train_op` the training checks run, as `Estimator.train` would.

`tf.estimator` exists only in TensorFlow <= 2.15; it is imported here only for a ModelFn pair,
and the modes are its ModeKeys strings, which need no import."""
from __future__ import annotations

import contextlib
import inspect
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Optional

import numpy as np
import tensorflow as tf

from tf_equiv.pair import ModelFn
from tf_equiv.run.records import SideCheck
from tf_equiv.worker import training
from tf_equiv.worker.config import SEED, session_config
from tf_equiv.worker.nested import flatten, map_nested
from tf_equiv.worker.optimizer_facts import tf1_facts
from tf_equiv.worker.record_files import record_name, write_check
from tf_equiv.worker.user_code import UserError, call_user

#: tf.estimator.ModeKeys, by value.
Mode = Literal["infer", "train", "eval"]
PREDICT: Mode = "infer"
TRAIN: Mode = "train"
#: Variables an optimizer or the checker made in a TRAIN build (slots, the global step): state,
#: not the model's variables, which the checks compare.
TRAINING_STATE = "tf_equiv_training_state"


def is_model_fn(pair: Any) -> bool:
    return isinstance(pair.tf1, ModelFn)


def missing_estimator() -> Optional[str]:
    """Why this TensorFlow cannot run a model_fn (it has no tf.estimator), or None."""
    try:
        tf.compat.v1.estimator.ModeKeys  # noqa: B018 (the lazy import of tensorflow_estimator)
    except (AttributeError, ImportError):
        return (f"tf.estimator is not in TensorFlow {tf.__version__} (removed in 2.16); run the "
                f"TF1 side under TensorFlow <= 2.15: tf-equiv record PATH --side tf1 --out DIR "
                f"--python PY, then tf-equiv check PATH --against DIR")
    return None


def unrunnable(pair: Any) -> Optional[SideCheck]:
    """For a ModelFn pair this side cannot run: the outcome of each of its checks (skipped where
    TensorFlow has no tf.estimator, an error where the labels cannot be read); else None. The
    labels are read here, eagerly, before any graph: an input_fn's dataset iterates only so."""
    if not is_model_fn(pair):
        return None
    missing = missing_estimator()
    if missing:
        return SideCheck("tf1", "", "skipped", message=missing)
    try:
        labels(pair)
    except UserError as e:
        return SideCheck("tf1", "", "error", message=e.message, detail=e.detail, line=e.line)
    return None


def labels_of(pair: Any) -> Any:
    """The labels a batch of the pair carries besides its features: the ModelFn's, or None for
    a pair whose TF1 side is a forward function."""
    return labels(pair) if is_model_fn(pair) else None


def labels(pair: Any) -> Any:
    """The ModelFn's labels as nested numpy arrays (calling `labels` when it is a function, once
    per pair)."""
    if pair not in _LABELS:
        value = pair.tf1.labels
        value = call_user("tf1.labels()", value) if callable(value) else value
        _LABELS[pair] = map_nested(value, np.asarray)
    return _LABELS[pair]


_LABELS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


#: The spec of the last TRAIN build of each graph, for the training checks.
_SPECS: "weakref.WeakKeyDictionary[tf.Graph, Any]" = weakref.WeakKeyDictionary()
#: The optimizers that applied gradients in each graph's TRAIN build.
_OPTIMIZERS: "weakref.WeakKeyDictionary[tf.Graph, list]" = weakref.WeakKeyDictionary()


def call(pair: Any, features: Any, mode: Mode) -> Any:
    """`model_fn(features, labels, mode, params[, config])` in the current graph, each argument
    passed only if the model_fn takes it, as an Estimator passes them. TRAIN creates the global
    step first and passes the pair's labels, which a training run's batches replace
    (`label_placeholders`); PREDICT passes labels=None."""
    fn: ModelFn = pair.tf1
    graph = tf.compat.v1.get_default_graph()
    taken = inspect.signature(fn.model_fn).parameters
    given = {"labels": None if mode == PREDICT else _label_inputs(pair, graph),
             "mode": mode, "params": dict(fn.params or {}), "config": fn.config}
    kwargs = {k: v for k, v in given.items() if k in taken}
    if mode == TRAIN:
        step = tf.compat.v1.train.get_or_create_global_step()
        graph.add_to_collection(TRAINING_STATE, step)
        with _optimizer_state(graph) as optimizers:
            spec = call_user(f"model_fn(features, labels, mode={mode!r}, params)", fn.model_fn,
                             features, **kwargs)
        _OPTIMIZERS[graph] = optimizers
        _SPECS[graph] = spec
    else:
        spec = call_user(f"model_fn(features, labels, mode={mode!r}, params)", fn.model_fn,
                         features, **kwargs)
    return spec


def _label_inputs(pair: Any, graph: tf.Graph) -> Any:
    """The labels as the model_fn gets them: the pair's labels, each a placeholder with them as
    its default, so a training run feeds each batch's labels to the same graph."""
    made: list = []

    def placeholder(value: np.ndarray) -> Any:
        made.append(tf.compat.v1.placeholder_with_default(value, value.shape,
                                                          name=f"labels_{len(made)}"))
        return made[-1]

    structured = map_nested(labels(pair), placeholder)
    _LABEL_PLACEHOLDERS[graph] = made
    return structured


def label_placeholders(graph: tf.Graph) -> list:
    """The labels of the graph's TRAIN build, in the order `flatten` gives the labels; none for
    a graph without one."""
    return list(_LABEL_PLACEHOLDERS.get(graph, []))


_LABEL_PLACEHOLDERS: "weakref.WeakKeyDictionary[tf.Graph, list]" = weakref.WeakKeyDictionary()


def forward(pair: Any) -> Callable[[Any, bool], Any]:
    """The (inputs, training) -> outputs function the checks call: the spec's predictions in
    PREDICT mode, or in TRAIN mode for the training regimes."""
    def run(features: Any, training: bool) -> Any:
        mode = TRAIN if training else PREDICT
        predictions = getattr(call(pair, features, mode), "predictions", None)
        if predictions is None:
            raise UserError(f"model_fn returned an EstimatorSpec without predictions in mode "
                            f"{mode!r}: the checks compare spec.predictions; return them in "
                            "this mode too")
        return predictions
    return run


@contextlib.contextmanager
def _optimizer_state(graph: tf.Graph) -> Iterator[list]:
    """The optimizers that apply gradients meanwhile; the variables they create go to
    TRAINING_STATE."""
    optimizers: list = []
    applying = [0]
    original = tf.compat.v1.train.Optimizer.apply_gradients

    def apply_gradients(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self not in optimizers:
            optimizers.append(self)
        applying[0] += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            applying[0] -= 1

    def creator(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        v = next_creator(**kwargs)
        if applying[0]:
            graph.add_to_collection(TRAINING_STATE, v)
        return v

    with tf.compat.v1.test.mock.patch.object(tf.compat.v1.train.Optimizer, "apply_gradients",
                                             apply_gradients), \
            tf.variable_creator_scope(creator):
        yield optimizers


def model_variables(graph: tf.Graph) -> list:
    """The graph's variables without the training state (optimizer slots, the global step)."""
    state = {id(v) for v in graph.get_collection(TRAINING_STATE)}
    return [v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
            if id(v) not in state]


@dataclass
class TrainSpec:
    """The TRAIN build's loss and step, and the optimizer slots as `<variable>/<kind>`."""

    loss: Any
    train_op: Any
    slots: list
    #: The optimizers that applied gradients in the TRAIN build, in that order.
    optimizers: list = field(default_factory=list)


def train_spec(graph: tf.Graph, trainable: list) -> TrainSpec:
    """The spec of the graph's TRAIN build (`call`): its loss and train_op, checked present."""
    spec = _SPECS.get(graph)
    loss, train_op = getattr(spec, "loss", None), getattr(spec, "train_op", None)
    if loss is None or train_op is None:
        raise UserError("model_fn returned an EstimatorSpec without loss or train_op in mode "
                        "'train': the training checks run spec.loss and spec.train_op")
    slots = [(f"{record_name(v.name)}/{kind}", opt.get_slot(v, kind))
             for opt in _OPTIMIZERS.get(graph, []) for v in trainable
             for kind in opt.get_slot_names() if opt.get_slot(v, kind) is not None]
    return TrainSpec(loss, train_op, slots, list(_OPTIMIZERS.get(graph, [])))


@dataclass
class _Trained:
    """The TRAIN graph in a session at the inference stage's initial values."""

    spec: TrainSpec
    trainable: list
    feed: dict
    sess: tf.compat.v1.Session
    #: The random ops of a forward pass (dropout): each session.run draws their next sample.
    random_ops: int


@contextlib.contextmanager
def _train_session(c: Any, add: Callable[[TrainSpec, list], Any] = lambda spec, trainable: None
                   ) -> Iterator[tuple[_Trained, Any]]:
    """The model_fn's TRAIN graph in a session, its model variables set to the TF1 side's initial
    values (the values the TF2 side was given); `add(spec, trainable)` builds more ops in the
    graph first, and what it returns comes with the session. Its random ops are seeded by rank, as
    the TF2 side's forward passes in training mode are (train_mode.py)."""
    graph = tf.Graph()
    with graph.as_default(), training.AlignedSeeds().scope() as seeds:
        tf.compat.v1.set_random_seed(SEED)
        flat, placeholders, features = input_placeholders(c.inputs)
        call(c.pair, features, TRAIN)
        trainable = tf.compat.v1.trainable_variables()
        spec = train_spec(graph, trainable)
        feeds, load = initial_loader(graph, c.initial, TRAIN)
        init = tf.group(tf.compat.v1.global_variables_initializer(),
                        tf.compat.v1.local_variables_initializer())
        added = add(spec, trainable)
    config = session_config(tf, c.numerics, c.numerics.tf1_optimized)
    with tf.compat.v1.Session(graph=graph, config=config) as sess:
        sess.run(init)
        sess.run(load, {feeds[n]: c.initial[n] for n in feeds})
        yield _Trained(spec, trainable, dict(zip(placeholders, flat)), sess, seeds.rank), added


def gradients(c: Any) -> Any:
    """Gradients of the TRAIN spec's loss with respect to every trainable variable."""
    with _train_session(c, lambda spec, trainable: tf.gradients(spec.loss, trainable)) \
            as (t, grads):
        present = [(v, g) for v, g in zip(t.trainable, grads) if g is not None]
        values = t.sess.run([g for _, g in present], t.feed)
    arrays = {f"gradients/{record_name(v.name)}": np.asarray(x) for (v, _), x in zip(present, values)}
    missing = [record_name(v.name) for v, g in zip(t.trainable, grads) if g is None]
    return write_check(c.out, "tf1", "gradients", arrays, list(arrays), {"no_gradient": missing})


def optimizer_steps(c: Any) -> Any:
    """`train_steps` runs of the spec's train_op: the loss, then every variable and slot after
    each step. The loss and the step run apart, as the TF1 side's optimizer_steps does, unless
    the graph draws random numbers: then one run per step, one forward pass, one sample, as the
    TF2 step and the training run draw (the loss of a model_fn reads its variables upstream of
    every gradient, unless it is linear in the outputs)."""
    arrays: dict = {}
    with _train_session(c) as (t, _):
        names = [record_name(v.name) for v in t.trainable] + [n for n, _ in t.spec.slots]
        state = list(t.trainable) + [s for _, s in t.spec.slots]
        for number in range(1, c.pair.train_steps + 1):
            if t.random_ops:
                loss, _ = t.sess.run([t.spec.loss, t.spec.train_op], t.feed)
            else:
                loss = t.sess.run(t.spec.loss, t.feed)
                t.sess.run(t.spec.train_op, t.feed)
            arrays[f"optimizer_steps/{number}/loss"] = np.asarray(loss)
            arrays.update({f"optimizer_steps/{number}/{n}": x
                           for n, x in zip(names, t.sess.run(state))})
    return write_check(c.out, "tf1", "optimizer_steps", arrays, list(arrays),
                       {"optimizer": optimizer_facts(t.spec)})


def optimizer_facts(spec: TrainSpec) -> dict:
    """The facts of the one optimizer in the train_op, which name the defaults Keras's may not
    share; {} for a train_op of several (which one a difference belongs to is unknown)."""
    return tf1_facts(spec.optimizers[0]) if len(spec.optimizers) == 1 else {}


def input_placeholders(inputs: Any) -> tuple[list, list, Any]:
    """The pair's inputs as a graph's placeholders: (the flat arrays, their placeholders in the
    same order, the placeholders nested as the inputs are: the model_fn's features)."""
    flat = [a for _, a in flatten(inputs, "inputs")]
    placeholders = [tf.compat.v1.placeholder(tf.as_dtype(a.dtype), a.shape) for a in flat]
    leaves = iter(placeholders)
    return flat, placeholders, map_nested(inputs, lambda _: next(leaves))


def initial_loader(graph: tf.Graph, initial: Any, mode: Mode) -> tuple[dict, Any]:
    """({record name: placeholder}, the op that assigns them) for the model's variables of a
    graph built in `mode`, to load the TF1 side's initial values (PREDICT's) into it; a variable
    that PREDICT does not make is the user's error."""
    variables = model_variables(graph)
    unknown = [record_name(v.name) for v in variables if record_name(v.name) not in initial]
    if unknown:
        raise UserError(f"model_fn made variables in mode '{mode}' that mode 'infer' does not "
                        f"make: {', '.join(unknown[:5])}")
    feeds = {record_name(v.name): tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
             for v in variables}
    return feeds, tf.group(*[v.assign(feeds[record_name(v.name)]) for v in variables])
