"""The TF1 side: the legacy forward pass in a fresh tf.Graph and tf.compat.v1.Session per regime."""
from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, Iterator, Optional

import numpy as np
import tensorflow as tf

from tf_equiv import checks
from tf_equiv.checks import Side
from tf_equiv.run.protocol import Transfer
from tf_equiv.run.records import SideCheck, save_arrays, save_stream
from tf_equiv.worker import audit, eval_mode, saved_model, training
from tf_equiv.worker import model_fn as estimator
from tf_equiv.worker.both_sides import default_loss, variable_spec
from tf_equiv.worker.config import SEED, Numerics, session_config
from tf_equiv.worker.nested import flatten
from tf_equiv.worker.optimizer_facts import tf1_facts
from tf_equiv.worker.record_files import error_result, guarded, record_name, write_check
from tf_equiv.worker.user_code import UserError, as_user_error, call_user

SIDE: Side = "tf1"
#: The random regime the inference graph is built in (checks.INFERENCE_REGIME).
INFERENCE_REGIME_MODE = checks.spec(checks.INFERENCE_REGIME).regime[1]  # type: ignore[index]


@dataclass
class Built:
    """A forward pass built in the current graph."""

    feed: dict
    outputs: Any
    leaves: list          # (record name, tensor) in forward (op creation) order
    reg: Any
    variables: list


def run(pair: Any, inputs: Any, wanted: list, out: str, channel: Any,
        numerics: Optional[Numerics] = None, noise_only: bool = False) -> Iterator[SideCheck]:
    """The side's checks, stage by stage (the `tf1` roles of the check table); `noise_only`: the
    training run alone, for the noise band (protocol.requests.NoiseRequest)."""
    numerics = numerics or Numerics()
    unrunnable = estimator.unrunnable(pair) or saved_model.unrunnable(pair)
    if unrunnable:
        if checks.needs_transfer(wanted):
            channel.send(Transfer(error=unrunnable.message))
        yield from (replace(unrunnable, check=check) for check in wanted)
        return
    inference = checks.stage_checks(SIDE, "inference", wanted)
    transfer = checks.needs_transfer(wanted)
    if inference or transfer:
        yield from _inference(pair, inputs, inference, transfer, out, channel, numerics,
                              noise_only)
    for check in checks.stage_checks(SIDE, "random", wanted):
        yield from _random(pair, inputs, check, out, numerics)


def build_inference(pair: Any, inputs: Any, audited: bool = False) -> tuple[Built, Any]:
    """The inference graph, built in the current graph as `random_inference[num_random_ops]`
    builds its graph: under a fresh DeterministicRandomTestTool(mode="num_random_ops"), training
    off. Its initial values are that regime's, so the inference stage gives its records too (one
    graph for both, not two). Returns the forward pass and, when `audited`, the randomness audit
    of its build (else None)."""
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=INFERENCE_REGIME_MODE)
    with tool.scope(), (audit.recording() if audited else contextlib.nullcontext()) as random_ops:
        return build(pair, inputs, training=False), random_ops


def inference_graph(pair: Any, inputs: Any, sess: tf.compat.v1.Session,
                    audited: bool = False) -> tuple[Built, Any]:
    """The inference graph in `sess` (its graph the default), its variables at the TF1 side's own
    values: the initial values the TF1 code draws (built as `build_inference` builds), or a
    SavedModel's trained values (loaded). Returns it and the randomness audit, as
    `build_inference` does (None for a SavedModel: it draws nothing)."""
    if saved_model.is_saved_model(pair):
        feed, outputs = saved_model.load(sess, pair, inputs)
        return _built(feed, outputs, saved_model.model_variables(sess.graph, outputs)), None
    built, random_ops = build_inference(pair, inputs, audited)
    sess.run(tf.group(tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.local_variables_initializer()))
    return built, random_ops


def new_session(graph: tf.Graph, numerics: Numerics, optimized: bool = False) -> tf.compat.v1.Session:
    config = session_config(tf, numerics, optimized or numerics.tf1_optimized)
    return tf.compat.v1.Session(graph=graph, config=config)


def build(pair: Any, inputs: Any, training: bool) -> Built:
    graph = tf.compat.v1.get_default_graph()
    flat_inputs = list(flatten(inputs, "inputs"))
    placeholders = {name: tf.compat.v1.placeholder(tf.as_dtype(a.dtype), a.shape,
                                                   name=name.replace("/", "_"))
                    for name, a in flat_inputs}
    structured = restructure(inputs, iter(placeholders.values()))
    forward = estimator.forward(pair) if estimator.is_model_fn(pair) else pair.tf1
    outputs = call_user(f"tf1(inputs, training={training})", forward, structured, training)
    feed = {placeholders[n]: a for n, a in flat_inputs}
    return _built(feed, outputs, estimator.model_variables(graph))


def _built(feed: dict, outputs: Any, variables: list) -> Built:
    """The forward pass's outputs as records in forward (op creation) order."""
    graph = tf.compat.v1.get_default_graph()
    position = {op.name: i for i, op in enumerate(graph.get_operations())}
    leaves = []
    for name, leaf in flatten(outputs):
        if not tf.is_tensor(leaf):
            raise UserError(f"tf1 returned a non-tensor at {name}: {type(leaf).__name__}")
        leaves.append((name, tf.convert_to_tensor(leaf)))
    leaves.sort(key=lambda item: position.get(item[1].op.name, len(position)))
    return Built(feed, outputs, leaves, tf.compat.v1.losses.get_regularization_loss(), variables)


def restructure(value: Any, leaves: Iterator[Any]) -> Any:
    if isinstance(value, dict):
        return {k: restructure(v, leaves) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(restructure(v, leaves) for v in value)
    return next(leaves)


def _forward(sess: tf.compat.v1.Session, built: Built) -> tuple[dict, list]:
    values, reg = sess.run(([t for _, t in built.leaves], built.reg), built.feed)
    arrays = {name: v for (name, _), v in zip(built.leaves, values)}
    arrays["regularization_loss"] = np.asarray(reg)
    return arrays, list(arrays)


@dataclass
class Inference:
    """The inference graph in its session at the TF1 side's own initial values: what every step
    of the stage reads. Ops a step needs are added to the graph when it runs (new variables are
    initialized then)."""

    pair: Any
    graph: tf.Graph
    built: Built
    sess: tf.compat.v1.Session
    initial: dict
    out: str
    numerics: Numerics
    trainable: list
    inputs: Any = None
    #: The randomness audit of the graph's build (checks.INFERENCE_REGIME's), if asked for.
    random_ops: Any = None
    #: A training run's batches file, or the error drawing them raised.
    batches: Optional[str] = None
    batches_error: Optional[UserError] = None
    #: Only the training run, recording only what the noise band reads (run/kernels.py).
    noise_only: bool = False
    _total: Optional[Any] = field(default=None, repr=False)

    def total(self) -> Any:
        """The objective the gradients and optimizer steps use: the loss plus regularization."""
        if self._total is None:
            loss = call_user("loss(outputs)", self.pair.loss, self.built.outputs) \
                if self.pair.loss else default_loss(self.built.outputs)
            self._total = loss + self.built.reg
        return self._total

    def forward(self, check: str) -> SideCheck:
        return write_check(self.out, SIDE, check, *_forward(self.sess, self.built))


#: check -> the function computing it in the inference session, in the order they run (a step
#: that changes the weights runs after those that read TF1's own values).
STEPS: dict[str, Callable[[Inference], SideCheck]] = {}


def step(check: str) -> Callable[[Callable[[Inference], SideCheck]], Callable[[Inference], SideCheck]]:
    def register(fn: Callable[[Inference], SideCheck]) -> Callable[[Inference], SideCheck]:
        STEPS[check] = fn
        return fn
    return register


def _inference(pair: Any, inputs: Any, wanted: list, transfer: bool, out: str,
               channel: Any, numerics: Numerics, noise_only: bool) -> Iterator[SideCheck]:
    done: set = set()
    drawn = "training_run" in wanted or ("eval_metrics" in wanted and eval_mode.uses_batches(pair))
    batches, batches_error = _draw(pair, inputs, out) if drawn else (None, None)
    try:
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.set_random_seed(SEED)
            with new_session(graph, numerics) as sess:
                built, random_ops = inference_graph(pair, inputs, sess,
                                                    checks.INFERENCE_REGIME in wanted)
                trainable = tf.compat.v1.trainable_variables()
                initial = dict(zip((record_name(v.name) for v in built.variables),
                                   sess.run(built.variables)))
                context = Inference(pair, graph, built, sess, initial, out, numerics, trainable,
                                    inputs, random_ops, batches, batches_error,
                                    noise_only=noise_only)
                if transfer:
                    path = save_arrays(os.path.join(out, "tf1-transfer.npz"), initial)
                    error = context.batches_error
                    channel.send(Transfer(file=path, order=list(initial), batches=context.batches,
                                          batches_error=error.message if error else None))
                    transfer = False
                for check, compute in STEPS.items():
                    if check in wanted:
                        done.add(check)
                        yield guarded(SIDE, check, f"the TF1 {check} run",
                                      partial(compute, context))
    except Exception as exc:  # user code and the graph it built may raise anything
        e = as_user_error("the TF1 inference graph", exc)
        if transfer:
            channel.send(Transfer(error=e.message))
        for check in wanted:
            if check not in done:
                yield error_result(SIDE, check, e)


def _draw(pair: Any, inputs: Any, out: str) -> tuple[Optional[str], Optional[UserError]]:
    """A training run's batches file, or the error drawing them raised; drawn before any graph
    is the default one, since an input_fn's dataset iterates only eagerly."""
    try:
        return training.draw_batches(pair.train, inputs, os.path.join(out, "tf1-batches.npz"),
                                     estimator.labels_of(pair)), None
    except Exception as exc:  # the user's batches factory may raise anything
        return None, as_user_error("train.batches()", exc)


@step("variables_match")
def _variables_match(c: Inference) -> SideCheck:
    specs = [variable_spec(v, record_name(v.name)) for v in c.built.variables]
    return SideCheck(SIDE, "variables_match", "ok", meta={"variables": specs})


@step(checks.INFERENCE_REGIME)
def _inference_regime(c: Inference) -> SideCheck:
    """The regime's records, as `_random` writes them: the initial values the tool gave, then the
    forward pass at them (before any step changes the weights)."""
    arrays = {f"initial/{name}": value for name, value in c.initial.items()}
    arrays.update(_forward(c.sess, c.built)[0])
    return write_check(c.out, SIDE, checks.INFERENCE_REGIME, arrays, list(arrays),
                       audit.meta(c.random_ops))


@step("transferred_inference")
def _transferred_inference(c: Inference) -> SideCheck:
    return c.forward("transferred_inference")


def _loader(variables: list) -> tuple:
    """An op that sets every variable from a fed value, and its placeholders by record name."""
    feeds = {record_name(v.name): tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
             for v in variables}
    return tf.group(*[v.assign(feeds[record_name(v.name)]) for v in variables]), feeds


@step("tf_function")
def _tf_function(c: Inference) -> SideCheck:
    """The tf_function reference: the TF1 graph at the transferred values in a session with
    TF1's default graph optimizations, as the TF2 trace runs with its own."""
    op, feeds = _loader(c.built.variables)
    with new_session(c.graph, c.numerics, optimized=True) as sess:
        sess.run(op, {feeds[name]: value for name, value in c.initial.items()})
        arrays, order = _forward(sess, c.built)
    return write_check(c.out, SIDE, "tf_function", arrays, order)


@step("gradients")
def _gradients(c: Inference) -> SideCheck:
    if estimator.is_model_fn(c.pair):
        return estimator.gradients(c)
    grads = tf.gradients(c.total(), c.trainable)
    present = [(v, g) for v, g in zip(c.trainable, grads) if g is not None]
    values = c.sess.run([g for _, g in present], c.built.feed)
    arrays = {f"gradients/{record_name(v.name)}": np.asarray(x) for (v, _), x in zip(present, values)}
    missing = [record_name(v.name) for v, g in zip(c.trainable, grads) if g is None]
    return write_check(c.out, SIDE, "gradients", arrays, list(arrays), {"no_gradient": missing})


@step("eval_metrics")
def _eval_metrics(c: Inference) -> SideCheck:
    if c.batches_error is not None and eval_mode.uses_batches(c.pair):
        raise c.batches_error
    return eval_mode.tf1_metrics(c)


@step("optimizer_steps")
def _optimizer_steps(c: Inference) -> SideCheck:
    """`train_steps` optimizer steps from the transferred values: the loss, then every variable
    and slot after each step."""
    if estimator.is_model_fn(c.pair):
        return estimator.optimizer_steps(c)
    before = set(tf.compat.v1.global_variables())
    total = c.total()
    # As a TF1 training script does: schedules read the global step (the decay helpers,
    # get_or_create_global_step), and minimize advances it, as Keras advances
    # optimizer.iterations.
    global_step = tf.compat.v1.train.get_or_create_global_step()
    with saved_model.optimizer_scope(c.pair):
        optimizer = call_user("optimizers[0]()", c.pair.optimizers[0])
        train_op = optimizer.minimize(total, var_list=c.trainable, global_step=global_step)
    c.sess.run(tf.compat.v1.variables_initializer(
        [v for v in tf.compat.v1.global_variables() if v not in before]))
    if saved_model.is_saved_model(c.pair):  # a training export's step; TF2's optimizer is at 0
        c.sess.run(global_step.initializer)
    slots = [(f"{record_name(v.name)}/{kind}", optimizer.get_slot(v, kind))
             for v in c.trainable for kind in optimizer.get_slot_names()
             if optimizer.get_slot(v, kind) is not None]
    arrays: dict = {}
    for number in range(1, c.pair.train_steps + 1):
        # Not one run with the train op: a gradient that does not need a variable's value (a
        # kernel's, x^T dy) lets the update race the forward pass's read of that variable.
        loss = c.sess.run(total, c.built.feed)
        c.sess.run(train_op, c.built.feed)
        arrays[f"optimizer_steps/{number}/loss"] = np.asarray(loss)
        values = c.sess.run([v for v in c.trainable] + [s for _, s in slots])
        names = [record_name(v.name) for v in c.trainable] + [n for n, _ in slots]
        arrays.update({f"optimizer_steps/{number}/{n}": x for n, x in zip(names, values)})
    return write_check(c.out, SIDE, "optimizer_steps", arrays, list(arrays),
                       {"optimizer": tf1_facts(optimizer)})


@dataclass
class TrainingGraph:
    """The pair's model in training mode with its optimizer, as a TF1 training script builds it:
    the batch-norm updates run with the train op, and one session.run per step computes the loss
    before the update and then the update. `placeholders`: the features', then a ModelFn's
    labels'. `watched`: (record name, variable) of the model's
    variables and the optimizer slots; `others`: the rest of the state (the global step, Adam's
    beta powers); `set` gives any of them a value."""

    graph: tf.Graph
    placeholders: list
    total: Any
    train_op: Any
    watched: list
    others: list
    assigns: dict
    feeds: dict
    init: Any
    #: The facts of the optimizer that takes the steps (optimizer_facts.py), for the hint.
    optimizer: dict = field(default_factory=dict)

    def feed(self, batch: tuple[Any, Any]) -> dict:
        """The feed of one (features, labels) batch (training.read_batch)."""
        return dict(zip(self.placeholders, (a for _, a in training.batch_leaves(*batch))))

    def set(self, sess: tf.compat.v1.Session, values: dict) -> None:
        """Set the state variables named in `values` (by record name); the others keep theirs."""
        names = [n for n in values if n in self.assigns]
        sess.run([self.assigns[n] for n in names], {self.feeds[n]: values[n] for n in names})


def training_graph(pair: Any, inputs: Any, seeds: Any) -> TrainingGraph:
    """Built under `seeds` (training.AlignedSeeds), which lines up its random ops with TF2's."""
    graph = tf.Graph()
    with graph.as_default(), seeds.scope():
        tf.compat.v1.set_random_seed(SEED)
        built = build(pair, inputs, training=pair.train.training)
        trainable = tf.compat.v1.trainable_variables()
        if estimator.is_model_fn(pair):     # the model_fn's own step, its UPDATE_OPS as wired
            spec = estimator.train_spec(graph, trainable)
            total, train_op, slots = spec.loss, spec.train_op, spec.slots
            facts = estimator.optimizer_facts(spec)
        else:
            total, train_op, slots, facts = _minimize(pair, built, trainable)
        watched = [(record_name(v.name), v) for v in built.variables] + slots
        known = {id(v) for _, v in watched}
        others = [(record_name(v.name), v) for v in tf.compat.v1.global_variables()
                  if id(v) not in known]
        feeds = {n: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
                 for n, v in watched + others}
        assigns = {n: v.assign(feeds[n]) for n, v in watched + others}
        init = tf.group(tf.compat.v1.global_variables_initializer(),
                        tf.compat.v1.local_variables_initializer())
    placeholders = list(built.feed) + estimator.label_placeholders(graph)
    return TrainingGraph(graph, placeholders, total, train_op, watched, others, assigns, feeds,
                         init, facts)


def _minimize(pair: Any, built: Built, trainable: list) -> tuple[Any, Any, list, dict]:
    """The loss, the `optimizers[0]` step (after the loss and the UPDATE_OPS), its slots and the
    optimizer's facts."""
    loss = call_user("loss(outputs)", pair.loss, built.outputs) if pair.loss \
        else default_loss(built.outputs)
    total = loss + built.reg
    global_step = tf.compat.v1.train.get_or_create_global_step()
    optimizer = call_user("optimizers[0]()", pair.optimizers[0])
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies([total, *updates]):
        train_op = optimizer.minimize(total, var_list=trainable, global_step=global_step)
    slots = [(f"{record_name(v.name)}/{kind}", optimizer.get_slot(v, kind))
             for v in trainable for kind in optimizer.get_slot_names()
             if optimizer.get_slot(v, kind) is not None]
    return total, train_op, slots, tf1_facts(optimizer)


@step("training_run")
def _training_run(c: Inference) -> SideCheck:
    """`train.steps` steps from the transferred values on the recorded batches, in a graph of
    its own (training mode); then the same run again in a fresh session (the same random numbers)
    with round-off added at every step (training.NOISE): the noise band. The whole state is
    recorded every `every` steps (`state/<step>/...` besides the compared records), for a
    bisection to start from."""
    if c.batches_error is not None or c.batches is None:
        raise c.batches_error or UserError("no batches were drawn")
    batches_file = c.batches
    train = c.pair.train
    labels = estimator.labels_of(c.pair)
    g = training_graph(c.pair, c.inputs, training.AlignedSeeds())
    nudged = [(n, v) for n, v in g.watched if v.dtype.base_dtype.is_floating]
    timing: dict = {}

    def run(prefix: str, noise: bool, state: bool = False) -> Iterator[tuple[str, np.ndarray]]:
        rng = np.random.default_rng(SEED)
        losses = []
        with new_session(g.graph, c.numerics) as sess, np.load(batches_file, allow_pickle=False) as z:
            sess.run(g.init)
            g.set(sess, c.initial)
            if not noise:       # where each variable and slot starts: how far training moves it
                yield from zip((f"start/{n}" for n, _ in g.watched),
                               sess.run([v for _, v in g.watched]))
                yield from zip((f"state/0/{n}" for n, _ in g.others),
                               sess.run([v for _, v in g.others])) if state else ()
            started = time.perf_counter()
            for number in range(1, train.steps + 1):
                batch = training.read_batch(z, number, c.inputs, labels)
                if noise:
                    batch = training.nudged(batch, rng)
                value, _ = sess.run([g.total, g.train_op], g.feed(batch))
                losses.append(float(value))
                if noise:
                    moved = sess.run([v for _, v in nudged])
                    g.set(sess, {n: training.one_ulp(x, rng) for (n, _), x in zip(nudged, moved)})
                if training.recorded(number, train):
                    values = sess.run([v for _, v in g.watched])
                    yield from ((f"{prefix}/{number}/{n}", x)
                                for (n, _), x in zip(g.watched, values))
                    if state:
                        yield from zip((f"state/{number}/{n}" for n, _ in g.others),
                                       sess.run([v for _, v in g.others]))
            timing[prefix] = (time.perf_counter() - started) / train.steps
        yield f"{prefix}/loss", np.asarray(losses, dtype=np.float64)

    # The oneDNN-off run of the band (run/kernels.py) needs the training run alone.
    only = c.noise_only
    path = save_stream(os.path.join(c.out, "tf1-training_run.npz"),
                       itertools.chain(run("training_run", False, state=not only),
                                       () if only else run("noise", True)))
    return SideCheck(SIDE, "training_run", "ok", file=path, meta={
        "steps": train.steps, "seconds_per_step": timing.get("training_run", 0.0),
        "noise_seconds_per_step": timing.get("noise", 0.0),
        "noise": training.NOISE, "optimizer": g.optimizer})


#: The most bytes of constant values fed to one run of set_constant.
FEED_BYTES = 32 << 20


def set_constant(sess: tf.compat.v1.Session, variables: list, constant: float) -> None:
    """Every floating-point variable set to `constant`, cast to its dtype by TensorFlow as the TF2
    side casts it. The value is fed to each variable's initializer in place of its initial value
    (as `Variable.load` does): the graph gains no op, so the session runs the initializers it has
    already prepared: 0.2 s for the 388 variables of inception_v3, where new fill and assign ops
    took 0.5-0.7 s (building them, then preparing a run of them), and writing the value into the
    graph 1.7 s more (the session folds each fill into a constant tensor before running it)."""
    floats = [v for v in variables if v.dtype.base_dtype.is_floating]
    dtypes = sorted({v.dtype.base_dtype for v in floats}, key=lambda d: d.name)
    values = dict(zip(dtypes, sess.run([tf.cast(constant, d) for d in dtypes])))
    fed, rest = [], []
    for v in floats:
        op = v.initializer
        source = op.inputs[-1] if op.type in ("AssignVariableOp", "Assign") and op.inputs else None
        if source is not None and v.shape.is_fully_defined() and v.graph.is_feedable(source):
            fed.append((op, source, v))
        else:           # an initializer of another kind, a shape known only when run
            rest.append(v)
    # A few runs of at most FEED_BYTES each: the fed values need not all be in memory at once.
    batch: dict = {}
    size = 0
    for i, (op, source, v) in enumerate(fed, 1):
        dtype = v.dtype.base_dtype
        value = np.full(v.shape.as_list(), values[dtype], dtype=dtype.as_numpy_dtype)
        batch[op] = (source, value)
        size += value.nbytes
        if size >= FEED_BYTES or i == len(fed):
            sess.run(list(batch), {s: x for s, x in batch.values()})
            batch, size = {}, 0
    if rest:
        fill = {d: tf.compat.v1.placeholder(d, ()) for d in dtypes}
        shape = lambda v: v.shape if v.shape.is_fully_defined() else tf.shape(v)  # noqa: E731
        sess.run(tf.group(*[v.assign(tf.fill(shape(v), fill[v.dtype.base_dtype])) for v in rest]),
                 {fill[d]: values[d] for d in dtypes})


@step("constant_inference")
def _constant_inference(c: Inference) -> SideCheck:
    set_constant(c.sess, c.built.variables, c.pair.constant)
    return c.forward("constant_inference")


@step("checkpoint_inference")
def _checkpoint(c: Inference) -> SideCheck:
    """Restore the pair's TF1 name-based checkpoint with a Saver, then inference. A graph with
    no variable (a frozen GraphDef) holds the checkpoint's values as constants already."""
    path = c.pair.resolved_checkpoint()
    try:
        if c.built.variables:
            tf.compat.v1.train.Saver(var_list=c.built.variables).restore(c.sess, path)
    except Exception as exc:  # a missing file or variable: say which, keep the other checks
        first = (str(exc).strip().splitlines() or [""])[0]
        return error_result(SIDE, "checkpoint_inference",
                            UserError(f"restoring {path} with tf.compat.v1.train.Saver: {first}"))
    return c.forward("checkpoint_inference")


def _random(pair: Any, inputs: Any, check: str, out: str, numerics: Numerics) -> Iterator[SideCheck]:
    training, mode = checks.spec(check).regime or (False, "constant")
    try:
        tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
        with tool.scope():
            graph = tf.Graph()
            with graph.as_default():
                with audit.recording() as random_ops:
                    built = build(pair, inputs, training=training)
                init = tf.group(tf.compat.v1.global_variables_initializer(),
                                tf.compat.v1.local_variables_initializer())
                with new_session(graph, numerics) as sess:
                    sess.run(init)
                    names = [f"initial/{record_name(v.name)}" for v in built.variables]
                    arrays = dict(zip(names, sess.run(built.variables)))
                    forward, _ = _forward(sess, built)
        arrays.update(forward)
        yield write_check(out, SIDE, check, arrays, list(arrays), audit.meta(random_ops))
    except Exception as exc:  # user code and the graph it built may raise anything
        yield error_result(SIDE, check, as_user_error(f"the TF1 {check} graph", exc))
