"""The TF1 side: the legacy forward pass in a fresh tf.Graph and tf.compat.v1.Session per regime."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import tensorflow as tf

from tf_equiv.records import SideCheck, save_arrays
from tf_equiv.worker import audit
from tf_equiv.worker.common import (SEED, UserError, as_user_error, call_user, flatten,
                                    record_name, write_check)
from tf_equiv.worker.numerics import SLOT_KINDS, default_loss, random_regimes, variable_spec
from tf_equiv.worker.session import Numerics, error_result, session_config

SIDE = "tf1"
#: Checks computed from one inference graph with the graph seed fixed.
MAIN = ("variables_match", "transferred_inference", "gradients", "optimizer_steps",
        "tf_function", "constant_inference", "checkpoint_inference")


@dataclass
class Built:
    """A forward pass built in the current graph."""

    feed: dict
    outputs: Any
    leaves: list          # (record name, tensor) in forward (op creation) order
    reg: Any
    variables: list


def run(pair: Any, inputs: Any, wanted: list, out: str, channel: Any,
        numerics: Numerics = Numerics()) -> Iterator[SideCheck]:
    main = [c for c in MAIN if c in wanted]
    needs_transfer = any(c in wanted for c in ("transferred_inference", "gradients",
                                               "optimizer_steps", "tf_function"))
    if main or needs_transfer:
        yield from _main(pair, inputs, main, needs_transfer, out, channel, numerics)
    for check, training, mode in random_regimes(wanted):
        yield from _random(pair, inputs, check, training, mode, out, numerics)


def _session(graph: tf.Graph, numerics: Numerics, optimized: bool = False) -> tf.compat.v1.Session:
    config = session_config(tf, numerics, optimized or numerics.tf1_optimized)
    return tf.compat.v1.Session(graph=graph, config=config)


def build(pair: Any, inputs: Any, training: bool) -> Built:
    graph = tf.compat.v1.get_default_graph()
    flat_inputs = list(flatten(inputs, "inputs"))
    placeholders = {name: tf.compat.v1.placeholder(tf.as_dtype(a.dtype), a.shape,
                                                   name=name.replace("/", "_"))
                    for name, a in flat_inputs}
    structured = restructure(inputs, iter(placeholders.values()))
    outputs = call_user(f"tf1(inputs, training={training})", pair.tf1, structured, training)
    position = {op.name: i for i, op in enumerate(graph.get_operations())}
    leaves = []
    for name, leaf in flatten(outputs):
        if not tf.is_tensor(leaf):
            raise UserError(f"tf1 returned a non-tensor at {name}: {type(leaf).__name__}")
        leaves.append((name, tf.convert_to_tensor(leaf)))
    leaves.sort(key=lambda item: position.get(item[1].op.name, len(position)))
    feed = {placeholders[n]: a for n, a in flat_inputs}
    return Built(feed, outputs, leaves, tf.compat.v1.losses.get_regularization_loss(),
                 tf.compat.v1.global_variables())


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


def _main(pair: Any, inputs: Any, checks: list, needs_transfer: bool, out: str,
          channel: Any, numerics: Numerics) -> Iterator[SideCheck]:
    done: set = set()
    try:
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.set_random_seed(SEED)
            built = build(pair, inputs, training=False)
            trainable = tf.compat.v1.trainable_variables()
            grads = train = None
            if "gradients" in checks or "optimizer_steps" in checks:
                loss = call_user("loss(outputs)", pair.loss, built.outputs) if pair.loss \
                    else default_loss(built.outputs)
                total = loss + built.reg
                grads = tf.gradients(total, trainable) if "gradients" in checks else None
            if "optimizer_steps" in checks:
                # As a TF1 training script does: schedules read the global step (the decay helpers,
                # get_or_create_global_step), and minimize advances it, as Keras advances
                # optimizer.iterations.
                global_step = tf.compat.v1.train.get_or_create_global_step()
                optimizer = call_user("optimizers[0]()", pair.optimizers[0])
                train = (optimizer, total, optimizer.minimize(total, var_list=trainable,
                                                              global_step=global_step))
            load = _loader(built.variables) if "tf_function" in checks else None
            float_vars = [v for v in built.variables if v.dtype.base_dtype.is_floating]
            reset = tf.group(*[v.assign(tf.fill(v.shape, tf.cast(pair.constant, v.dtype.base_dtype)))
                               for v in float_vars])
            init = tf.group(tf.compat.v1.global_variables_initializer(),
                            tf.compat.v1.local_variables_initializer())
            with _session(graph, numerics) as sess:
                sess.run(init)
                if "variables_match" in checks:
                    specs = [variable_spec(v, record_name(v.name)) for v in built.variables]
                    done.add("variables_match")
                    yield SideCheck(SIDE, "variables_match", "ok", meta={"variables": specs})
                initial = dict(zip((record_name(v.name) for v in built.variables),
                                   sess.run(built.variables)))
                if needs_transfer:
                    path = save_arrays(os.path.join(out, "tf1-transfer.npz"), initial)
                    channel.send("transfer", file=path, order=list(initial))
                    needs_transfer = False
                if "transferred_inference" in checks:
                    arrays, order = _forward(sess, built)
                    done.add("transferred_inference")
                    yield write_check(out, SIDE, "transferred_inference", arrays, order)
                if load is not None:
                    done.add("tf_function")
                    yield _optimized(graph, built, load, initial, out, numerics)
                if grads is not None:
                    yield _gradients(sess, built, trainable, grads, out)
                    done.add("gradients")
                if train is not None:
                    done.add("optimizer_steps")
                    yield _optimizer_steps(sess, built, trainable, train, pair.train_steps, out)
                if "constant_inference" in checks:
                    sess.run(reset)
                    arrays, order = _forward(sess, built)
                    done.add("constant_inference")
                    yield write_check(out, SIDE, "constant_inference", arrays, order)
                if "checkpoint_inference" in checks:
                    done.add("checkpoint_inference")
                    yield _checkpoint(sess, built, pair, out)
    except Exception as exc:  # user code and the graph it built may raise anything
        e = as_user_error("the TF1 inference graph", exc)
        if needs_transfer:
            channel.send("transfer", error=e.message)
        for check in checks:
            if check not in done:
                yield error_result(SIDE, check, e)


def _loader(variables: list) -> tuple:
    """An op that sets every variable from a fed value, and its placeholders by record name."""
    feeds = {record_name(v.name): tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
             for v in variables}
    return tf.group(*[v.assign(feeds[record_name(v.name)]) for v in variables]), feeds


def _optimized(graph: tf.Graph, built: Built, load: tuple, values: dict, out: str,
               numerics: Numerics) -> SideCheck:
    """The tf_function reference: the TF1 graph at the transferred values in a session with
    TF1's default graph optimizations, as the TF2 trace runs with its own."""
    op, feeds = load
    with _session(graph, numerics, optimized=True) as sess:
        sess.run(op, {feeds[name]: value for name, value in values.items()})
        arrays, order = _forward(sess, built)
    return write_check(out, SIDE, "tf_function", arrays, order)


def _checkpoint(sess: tf.compat.v1.Session, built: Built, pair: Any, out: str) -> SideCheck:
    """Restore the pair's TF1 name-based checkpoint with a Saver, then inference."""
    path = pair.resolved_checkpoint()
    try:
        tf.compat.v1.train.Saver(var_list=built.variables).restore(sess, path)
    except Exception as exc:  # a missing file or variable: say which, keep the other checks
        first = (str(exc).strip().splitlines() or [""])[0]
        return error_result(SIDE, "checkpoint_inference",
                            UserError(f"restoring {path} with tf.compat.v1.train.Saver: {first}"))
    arrays, order = _forward(sess, built)
    return write_check(out, SIDE, "checkpoint_inference", arrays, order)


def _optimizer_steps(sess: tf.compat.v1.Session, built: Built, trainable: list, train: tuple,
                     steps: int, out: str) -> SideCheck:
    """`steps` optimizer steps from the transferred values: the loss, then every variable and
    slot after each step."""
    optimizer, total, train_op = train
    slots = [(f"{record_name(v.name)}/{SLOT_KINDS.get(kind, kind)}", optimizer.get_slot(v, kind))
             for v in trainable for kind in optimizer.get_slot_names()
             if optimizer.get_slot(v, kind) is not None]
    arrays: dict = {}
    for step in range(1, steps + 1):
        # Not one run with the train op: a gradient that does not need a variable's value (a
        # kernel's, x^T dy) lets the update race the forward pass's read of that variable.
        loss = sess.run(total, built.feed)
        sess.run(train_op, built.feed)
        arrays[f"optimizer_steps/{step}/loss"] = np.asarray(loss)
        values = sess.run([v for v in trainable] + [s for _, s in slots])
        names = [record_name(v.name) for v in trainable] + [n for n, _ in slots]
        arrays.update({f"optimizer_steps/{step}/{n}": x for n, x in zip(names, values)})
    return write_check(out, SIDE, "optimizer_steps", arrays, list(arrays))


def _gradients(sess: tf.compat.v1.Session, built: Built, trainable: list, grads: list,
               out: str) -> SideCheck:
    present = [(v, g) for v, g in zip(trainable, grads) if g is not None]
    values = sess.run([g for _, g in present], built.feed)
    arrays = {f"gradients/{record_name(v.name)}": np.asarray(x) for (v, _), x in zip(present, values)}
    missing = [record_name(v.name) for v, g in zip(trainable, grads) if g is None]
    return write_check(out, SIDE, "gradients", arrays, list(arrays), {"no_gradient": missing})


def _random(pair: Any, inputs: Any, check: str, training: bool, mode: str, out: str,
            numerics: Numerics) -> Iterator[SideCheck]:
    try:
        tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
        with tool.scope():
            graph = tf.Graph()
            with graph.as_default():
                with audit.recording() as random_ops:
                    built = build(pair, inputs, training=training)
                init = tf.group(tf.compat.v1.global_variables_initializer(),
                                tf.compat.v1.local_variables_initializer())
                with _session(graph, numerics) as sess:
                    sess.run(init)
                    names = [f"initial/{record_name(v.name)}" for v in built.variables]
                    arrays = dict(zip(names, sess.run(built.variables)))
                    forward, _ = _forward(sess, built)
        arrays.update(forward)
        yield write_check(out, SIDE, check, arrays, list(arrays), audit.meta(random_ops))
    except Exception as exc:  # user code and the graph it built may raise anything
        yield error_result(SIDE, check, as_user_error(f"the TF1 {check} graph", exc))
