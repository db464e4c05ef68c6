"""The checks of TensorFlow's guide "Validating correctness & numerical equivalence", by hand.

The same checks `tf-equiv check bench/equiv_inception_299.py` runs, written as a user would write
them from the guide: one process, one check after the other, a fresh tf.Graph + Session and a fresh
TF2 model per check, compared with numpy. Prints one line per check and a total; exits 1 when a
check failed. `TF_EQUIV_BENCH_SIZE` sets the input size (default 299).

`--guide` runs only the guide's own steps 1-4, cell by cell as the guide writes them: the model
built and called twice (step 1), one TF1 graph and one TF2 model for the names and shapes (step 2),
one of each with the weights reset to a constant (step 3), one of each per
DeterministicRandomTestTool mode and training flag (step 4): seven checks.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
import traceback

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # the shim and DeterministicRandomTestTool live in tf_keras

import numpy as np
import tensorflow as tf

from tf_equiv.worker import compat

compat.apply(True)
tf.config.experimental.enable_op_determinism()
tf.random.set_seed(42)

_spec = importlib.util.spec_from_file_location(
    "equiv_inception_299", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "equiv_inception_299.py"))
pair_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pair_module)
tf1_forward, InceptionV3 = pair_module.tf1_forward, pair_module.InceptionV3

X = pair_module.bench_inputs()
RTOL, ATOL = 1e-6, 1e-5
GRAD_RTOL, GRAD_ATOL = 1e-3, 1e-5
CONSTANT = 0.001
RESULTS: list = []  # (check, passed, detail)


def flatten(value, prefix: str = "outputs") -> dict:
    """Nested tuples/lists/dicts of arrays -> {path: array}, e.g. outputs/1/Mixed_7a."""
    if isinstance(value, (tuple, list)):
        value = dict(enumerate(value))
    if not isinstance(value, dict):
        return {prefix: np.asarray(value)}
    flat = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}/{key}"))
    return flat


def name_of(variable) -> str:
    return variable.name[:-2] if variable.name.endswith(":0") else variable.name


def compare(tf1: dict, tf2: dict, rtol: float = RTOL, atol: float = ATOL) -> list:
    """assert_allclose on every record of tf1; the messages of those that fail."""
    failures = [f"{name}: missing on the TF2 side" for name in tf1 if name not in tf2]
    failures += [f"{name}: not on the TF1 side" for name in tf2 if name not in tf1]
    for name in tf1:
        if name in tf2:
            try:
                np.testing.assert_allclose(tf2[name], tf1[name], rtol=rtol, atol=atol)
            except AssertionError as e:
                lines = [s.strip() for s in str(e).splitlines() if s.strip().startswith("Max")]
                failures.append(f"{name}: {'; '.join(lines) or 'shapes differ'}")
    return failures


def run_check(name: str, fn) -> None:
    """Run one check, record passed/failed and print its line; a crash fails only that check."""
    started = time.monotonic()
    try:
        records, failures = fn()
    except Exception as e:  # a check that crashes is a failed check; the others still run
        traceback.print_exc()
        message = (str(e).splitlines() or [""])[0]
        records, failures = 0, [f"raised {type(e).__name__}: {message}"]
    seconds = time.monotonic() - started
    if failures:
        detail = (f"{len(failures)} of {records} records differ, first: {failures[0]}; "
                  f"{seconds:.1f} s")
    else:
        detail = f"{records} records; {seconds:.1f} s"
    RESULTS.append((name, not failures, detail))
    print(f"{name}: {'passed' if not failures else 'failed'} ({detail})", flush=True)


# --- the TF1 side: a fresh graph and session each time ---------------------------------------

def tf1_graph(training: bool, seed: bool = True):
    """Build the TF1 forward pass in a new graph; (graph, session, feed, outputs, reg loss)."""
    graph = tf.Graph()
    with graph.as_default():
        if seed:
            tf.compat.v1.set_random_seed(42)
        images = tf.compat.v1.placeholder(tf.float32, X.shape)
        outputs = tf1_forward(images, training)
        reg = tf.compat.v1.losses.get_regularization_loss()
    return graph, tf.compat.v1.Session(graph=graph), {images: X}, outputs, reg


def tf1_run(sess, feed, outputs, reg) -> dict:
    values, reg_value = sess.run((outputs, reg), feed)
    return {**flatten(values), "regularization_loss": np.asarray(reg_value)}


def tf1_initialized(training: bool) -> tuple:
    """Random (seed 42) initial values by name, and the outputs at them."""
    graph, sess, feed, outputs, reg = tf1_graph(training)
    with graph.as_default(), sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        variables = tf.compat.v1.global_variables()
        initial = dict(zip([name_of(v) for v in variables], sess.run(variables)))
        return initial, tf1_run(sess, feed, outputs, reg)


def tf1_random(training: bool, mode: str) -> dict:
    """Initial values and outputs under DeterministicRandomTestTool(mode)."""
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
    with tool.scope():
        graph, sess, feed, outputs, reg = tf1_graph(training, seed=False)
        with graph.as_default(), sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            variables = tf.compat.v1.global_variables()
            initial = {f"initial/{name_of(v)}": x for v, x in zip(variables, sess.run(variables))}
            return {**initial, **tf1_run(sess, feed, outputs, reg)}


# --- the TF2 side: a fresh model each time ---------------------------------------------------

def tf2_run(model, training: bool) -> dict:
    outputs = model(X, training=training)
    reg = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
    return {**flatten(outputs), "regularization_loss": np.asarray(reg)}


def tf2_built() -> InceptionV3:
    model = InceptionV3()
    model(X, training=False)
    return model


def tf2_assign(model, values: dict) -> None:
    for v in model.variables:
        v.assign(values[name_of(v)])


def tf2_random(training: bool, mode: str) -> dict:
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
    with tool.scope():
        model = InceptionV3()
        initial: dict = {}

        def snapshot(next_creator, **kwargs):
            # The forward pass in training mode updates the batch-norm moving statistics: keep
            # each variable's value from right after its creation.
            v = next_creator(**kwargs)
            initial[f"initial/{name_of(v)}"] = v.numpy()
            return v

        with tf.variable_creator_scope(snapshot):
            outputs = tf2_run(model, training)
        return {**initial, **outputs}


# --- the checks ------------------------------------------------------------------------------

def variables_created_once() -> tuple:
    model = InceptionV3()
    model(X, training=False)
    first = len(model.variables)
    model(X, training=False)
    second = len(model.variables)
    if first != second:
        return first, [f"{second - first} variables created by the second call"]
    return first, []


def variables_match() -> tuple:
    graph, sess, *_ = tf1_graph(training=False)
    with graph.as_default(), sess:
        tf1 = {name_of(v): tuple(v.shape.as_list()) for v in tf.compat.v1.global_variables()}
    tf2 = {name_of(v): tuple(v.shape.as_list()) for v in tf2_built().variables}
    failures = [f"{n}: only in TF1" for n in tf1 if n not in tf2]
    failures += [f"{n}: only in TF2" for n in tf2 if n not in tf1]
    failures += [f"{n}: TF1 {tf1[n]} vs TF2 {tf2[n]}" for n in tf1 if n in tf2 and tf1[n] != tf2[n]]
    return len(tf1), failures


def constant_inference() -> tuple:
    graph, sess, feed, outputs, reg = tf1_graph(training=False)
    with graph.as_default(), sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        sess.run([v.assign(tf.fill(v.shape, tf.cast(CONSTANT, v.dtype.base_dtype)))
                  for v in tf.compat.v1.global_variables() if v.dtype.base_dtype.is_floating])
        tf1 = tf1_run(sess, feed, outputs, reg)
    model = tf2_built()
    for v in model.variables:
        if v.dtype.is_floating:
            v.assign(tf.fill(v.shape, tf.cast(CONSTANT, v.dtype)))
    return len(tf1), compare(tf1, tf2_run(model, training=False))


def transferred_inference() -> tuple:
    initial, tf1 = tf1_initialized(training=False)
    model = tf2_built()
    tf2_assign(model, initial)
    return len(tf1), compare(tf1, tf2_run(model, training=False))


def random_check(training: bool, mode: str) -> tuple:
    tf1 = tf1_random(training, mode)
    return len(tf1), compare(tf1, tf2_random(training, mode))


def functional_training_constant() -> tuple:
    tf1 = tf1_random(training=True, mode="constant")
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode="constant")
    with tool.scope():
        inputs = tf.keras.Input(shape=X.shape[1:], batch_size=X.shape[0])
        functional = tf.keras.Model(inputs=inputs, outputs=InceptionV3()(inputs, training=True))
        initial = {f"initial/{name_of(v)}": v.numpy() for v in functional.variables}
        tf2 = {**initial, **tf2_run(functional, training=True)}
    return len(tf1), compare(tf1, tf2)


def gradients() -> tuple:
    graph, sess, feed, outputs, reg = tf1_graph(training=False)
    with graph.as_default(), sess:
        trainable = tf.compat.v1.trainable_variables()
        present = [(v, g) for v, g in zip(trainable, tf.gradients(
            tf.reduce_mean(outputs[0]) + reg, trainable)) if g is not None]
        sess.run(tf.compat.v1.global_variables_initializer())
        variables = tf.compat.v1.global_variables()
        initial = dict(zip([name_of(v) for v in variables], sess.run(variables)))
        values = sess.run([g for _, g in present], feed)
        tf1 = {f"gradients/{name_of(v)}": x for (v, _), x in zip(present, values)}
    model = tf2_built()
    tf2_assign(model, initial)
    with tf.GradientTape() as tape:
        outputs = model(X, training=False)
        loss = tf.reduce_mean(outputs[0]) + tf.add_n(model.losses)
    trainable = model.trainable_variables
    tf2 = {f"gradients/{name_of(v)}": np.asarray(g)
           for v, g in zip(trainable, tape.gradient(loss, trainable)) if g is not None}
    return len(tf1), compare(tf1, tf2, GRAD_RTOL, GRAD_ATOL)


CHECKS = [
    ("variables_created_once", variables_created_once),
    ("variables_match", variables_match),
    ("constant_inference", constant_inference),
    ("transferred_inference", transferred_inference),
    ("random_inference[num_random_ops]", lambda: random_check(False, "num_random_ops")),
    ("random_inference[constant]", lambda: random_check(False, "constant")),
    ("random_training[num_random_ops]", lambda: random_check(True, "num_random_ops")),
    ("random_training[constant]", lambda: random_check(True, "constant")),
    ("functional_training[constant]", functional_training_constant),
    ("gradients", gradients),
]

#: The guide's steps 1-4 (the checks its cells make).
GUIDE = ("variables_created_once", "variables_match", "constant_inference",
         "random_inference[num_random_ops]", "random_inference[constant]",
         "random_training[num_random_ops]", "random_training[constant]")

if __name__ == "__main__":
    started = time.monotonic()
    chosen = [(n, f) for n, f in CHECKS if "--guide" not in sys.argv[1:] or n in GUIDE]
    print(f"input {X.shape}, TensorFlow {tf.__version__}, {len(chosen)} checks", flush=True)
    for check_name, check_fn in chosen:
        run_check(check_name, check_fn)
    passed = sum(ok for _, ok, _ in RESULTS)
    print(f"total: {passed} passed, {len(RESULTS) - passed} failed "
          f"in {time.monotonic() - started:.1f} s")
    sys.exit(0 if passed == len(RESULTS) else 1)
