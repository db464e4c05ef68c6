"""The TF2 side: the user's migrated model, eager, as the guide runs it."""
from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from functools import partial
from typing import Any, Callable, Iterator, Optional

import numpy as np
import tensorflow as tf

from tf_equiv import checks
from tf_equiv.checks import Side
from tf_equiv.protocol import relays
from tf_equiv.protocol.relays import ErrorRelay, TransferRelay
from tf_equiv.run.records import SideCheck, save_stream
from tf_equiv.worker import audit, eval_mode, model_fn, train_mode, training
from tf_equiv.worker.both_sides import pair_loss, variable_spec
from tf_equiv.worker.config import SEED
from tf_equiv.worker.nested import flatten, map_nested
from tf_equiv.worker.optimizer_facts import keras_facts
from tf_equiv.worker.record_files import error_result, guarded, record_name, write_check
from tf_equiv.worker.user_code import UserError, as_user_error, call_user, cause_line, is_user_file

SIDE: Side = "tf2"
Step = Callable[["Model", str], SideCheck]
#: check -> the function computing it on the model built once ("built": right after its two
#: first calls; "transfer": at the TF1 values), in the order they run (a step that changes the
#: weights runs after those that read them).
STEPS: dict[str, dict[str, Step]] = {"built": {}, "transfer": {}}


def step(stage: str, check: str) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        STEPS[stage][check] = fn
        return fn
    return register


class Model:
    """The user's model with the names the TF1 side knows its variables by (through name_map)."""

    def __init__(self, pair: Any, inputs: Any) -> None:
        self.pair, self.inputs = pair, inputs
        self.second_call_created: list = []
        #: The TF1 values copied in, and a training run's batches file (or why there is none).
        self.transferred: dict = {}
        self.batches: Optional[str] = None
        self.batches_error = ""
        #: The records of checks.INFERENCE_REGIME, kept from the first call (build_model).
        self.regime: Optional[tuple[dict, dict]] = None
        fresh_keras_state()
        self.model = call_user("tf2()", pair.tf2)
        if not callable(self.model):
            raise UserError(f"tf2() returned {type(self.model).__name__}, which is not callable")

    def __call__(self, training: bool, what: str = "") -> Any:
        return call_user(what or f"model(inputs, training={training})", self.model, self.inputs,
                         training=training)

    @property
    def variables(self) -> list:
        try:
            return list(self.model.variables)
        except AttributeError:
            raise UserError(f"the TF2 model ({type(self.model).__name__}) has no .variables; "
                            "tf2 must build a tf.keras layer or tf.Module") from None

    def name(self, v: Any) -> str:
        return name_in_tf1(self.pair, v.name)

    def regularization_loss(self) -> np.ndarray:
        losses = list(getattr(self.model, "losses", []) or [])
        total = tf.add_n([tf.cast(x, tf.float32) for x in losses]) if losses else tf.constant(0.0)
        return np.asarray(total)


def fresh_keras_state() -> None:
    """Every model build starts as the first one of a process: Keras's auto-generated layer names
    (`dense`, not `dense_3`) and the global seed's op counter reset. Not clear_session(): it
    resets the default graph, and a model built before it (one the later checks reuse, a
    make_template) would then create its variables again."""
    tf.keras.backend.reset_uids()
    tf.random.set_seed(SEED)


def name_in_tf1(pair: Any, tf2_name: str) -> str:
    if pair.name_map is None:
        return record_name(tf2_name)
    mapped = call_user(f"name_map({tf2_name!r})", pair.name_map, tf2_name)
    if not isinstance(mapped, str):
        raise UserError(f"name_map({tf2_name!r}) returned {type(mapped).__name__}, expected str")
    return record_name(mapped)


def _outputs(outputs: Any, model: Model) -> dict:
    arrays = {name: np.asarray(t) for name, t in flatten(outputs)}
    arrays["regularization_loss"] = model.regularization_loss()
    return arrays


def run(pair: Any, inputs: Any, wanted: list, out: str, channel: Any) -> Iterator[SideCheck]:
    """The side's checks, stage by stage (the `tf2` roles of the check table): the model built
    once, the random regimes, the functional model, then the built model at the TF1 values (last:
    it waits for them)."""
    model: Optional[Model] = None
    first = checks.stage_checks(SIDE, "built", wanted)
    later = checks.stage_checks(SIDE, "transfer", wanted)
    others = [c for c in first + later if c != checks.INFERENCE_REGIME]
    if first or later:
        try:
            model = build_model(pair, inputs, checks.INFERENCE_REGIME in first)
            if others:
                second_call(model)
        except Exception as exc:  # user code may raise anything
            e = as_user_error("the TF2 model", exc)
            # A model that cannot be called twice still has its first call's regime records.
            done = [c for c in first if model is not None and c == checks.INFERENCE_REGIME]
            yield from _steps("built", done, model, out) if model is not None else ()
            yield from (error_result(SIDE, c, e) for c in first + later if c not in done)
            first = later = []
            model = None
        if model is not None:       # else `first` and `later` are empty
            yield from _steps("built", first, model, out)
            if not later:           # no later check reads it: its memory is free for the regimes
                model = None
    for check in checks.stage_checks(SIDE, "random", wanted):
        yield guarded(SIDE, check, f"the TF2 {check} run",
                      partial(_random, pair, inputs, check, out))
    for check in checks.stage_checks(SIDE, "functional", wanted):
        yield guarded(SIDE, check, f"the TF2 {check} run",
                      partial(_functional, pair, inputs, check, out))
    if later and model is not None:
        yield from _transferred(model, later, out)


def build_model(pair: Any, inputs: Any, regime: bool = False) -> Model:
    """The model built by its first call, as `random_inference[num_random_ops]` builds its own:
    under a fresh DeterministicRandomTestTool(mode="num_random_ops"), training off. With `regime`
    the records of that check are kept (`Model.regime`): the initial values the tool gave, the
    outputs of that call, the randomness audit; one model for both, not two."""
    _, mode = checks.spec(checks.INFERENCE_REGIME).regime or (False, "num_random_ops")
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
    initial: dict = {}
    with tool.scope(), (audit.recording() if regime else contextlib.nullcontext()) as random_ops:
        model = Model(pair, inputs)
        with tf.variable_creator_scope(_snapshot_creator(initial)) if regime \
                else contextlib.nullcontext():
            outputs = model(False, "model(inputs, training=False) (first call)")
        if regime:
            model.regime = (_regime_arrays(model, initial, outputs), _audit(random_ops, model))
    return model


def _creation_site() -> dict:
    frames = [f for f in traceback.extract_stack()[:-2] if is_user_file(f.filename)]
    last = frames[-1] if frames else None
    return {"file": last.filename, "line": last.lineno, "code": (last.line or "").strip()} \
        if last else {"file": "", "line": 0, "code": ""}


def first_calls(model: Model) -> None:
    """The model's first two calls, as the guide makes them (see `second_call`)."""
    model(False, "model(inputs, training=False) (first call)")
    second_call(model)


def second_call(model: Model) -> None:
    """The model's second call; `model.second_call_created`: the variables it created (with
    where), which a correct migration never does."""
    before = {id(v) for v in model.variables}
    created: list = []

    def tracking_creator(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        v = next_creator(**kwargs)
        created.append((v, _creation_site()))
        return v

    with tf.variable_creator_scope(tracking_creator):
        model(False, "model(inputs, training=False) (second call)")
    seen = {id(v) for v, _ in created}
    new = [dict(name=v.name, shape=v.shape.as_list(), **site) for v, site in created]
    new += [dict(name=v.name, shape=v.shape.as_list(), file="", line=0, code="")
            for v in model.variables if id(v) not in before and id(v) not in seen]
    model.second_call_created = new


@step("built", checks.INFERENCE_REGIME)   # first: its records hold the initial values
def _inference_regime(model: Model, out: str) -> SideCheck:
    if model.regime is None:
        raise UserError("the first call's records were not kept")
    arrays, meta = model.regime
    model.regime = None
    return write_check(out, SIDE, checks.INFERENCE_REGIME, arrays, list(arrays), meta)


@step("built", "variables_created_once")
def _created_once(model: Model, out: str) -> SideCheck:
    return SideCheck(SIDE, "variables_created_once", "ok",
                     meta={"new_variables": model.second_call_created})


@step("built", "variables_match")
def _variables_match(model: Model, out: str) -> SideCheck:
    specs = [variable_spec(v, model.name(v), v.name) for v in model.variables]
    return SideCheck(SIDE, "variables_match", "ok", meta={"variables": specs})


@step("built", "constant_inference")
def _constant_inference(model: Model, out: str) -> SideCheck:
    for v in model.variables:
        if v.dtype.is_floating:
            v.assign(tf.fill(v.shape, tf.cast(model.pair.constant, v.dtype)))
    arrays = _outputs(model(False), model)
    return write_check(out, SIDE, "constant_inference", arrays, list(arrays))


@step("built", "checkpoint_inference")
def _checkpoint(model: Model, out: str) -> SideCheck:
    """Every variable read by name (through name_map) from the TF1 checkpoint, then inference."""
    path = model.pair.resolved_checkpoint()
    try:
        reader = tf.train.load_checkpoint(path)
    except Exception as exc:  # not a checkpoint: say where
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UserError(f"reading the checkpoint {path}: {first}") from None
    missing = [model.name(v) for v in model.variables if not reader.has_tensor(model.name(v))]
    if missing:
        raise UserError(f"the checkpoint {path} has no value for {len(missing)} TF2 variables: "
                        f"{', '.join(missing[:5])}. Pass name_map= for renamed variables")
    for v in model.variables:
        v.assign(reader.get_tensor(model.name(v)))
    arrays = _outputs(model(False), model)
    return write_check(out, SIDE, "checkpoint_inference", arrays, list(arrays))


def _receive_transfer(model: Model) -> dict:
    """Block until the parent says where the TF1 side's initial values are (or why there are
    none); the model keeps where the batches of a training run are (or why there are none)."""
    told = relays.receive(sys.stdin, TransferRelay, "the TF1 side ended without them")
    model.batches = (told.batches or None) if isinstance(told, TransferRelay) else None
    model.batches_error = (told.batches_error if isinstance(told, TransferRelay) else "") or \
        ("" if model.batches else "the TF1 side drew no batches")
    if isinstance(told, ErrorRelay):
        raise UserError(f"no TF1 values to transfer: {told.error}")
    with np.load(told.file, allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def assign_transfer(model: Model, values: dict) -> None:
    missing, shapes = [], []
    for v in model.variables:
        name = model.name(v)
        if name not in values:
            missing.append(name)
        elif tuple(values[name].shape) != tuple(v.shape.as_list()):
            shapes.append(f"{name} TF1 {values[name].shape} vs TF2 {tuple(v.shape.as_list())}")
        else:
            v.assign(values[name])
    unused = [name for name in values if name not in {model.name(v) for v in model.variables}]
    if missing or shapes or unused:
        parts = [f"{len(missing)} TF2 variables have no TF1 variable of that name: "
                 + ", ".join(missing[:5])] if missing else []
        parts += [f"{len(shapes)} shapes differ: " + ", ".join(shapes[:3])] if shapes else []
        # Values left behind would make the comparison prove less than it claims: the TF2
        # model would run with weights of its own where TF1 runs with these.
        parts += [f"{len(unused)} TF1 variables have no TF2 variable to copy into: "
                  + ", ".join(unused[:5])] if unused else []
        raise UserError("cannot copy the TF1 values into the TF2 model: " + "; ".join(parts)
                        + ". See variables_match; pass name_map= for renamed variables")


def _transferred(model: Model, wanted: list, out: str) -> Iterator[SideCheck]:
    try:
        model.transferred = _receive_transfer(model)
        assign_transfer(model, model.transferred)
    except Exception as exc:  # user code (name_map) may raise anything
        e = as_user_error("transferring the TF1 values", exc)
        yield from (error_result(SIDE, c, e) for c in wanted)
        return
    yield from _steps("transfer", wanted, model, out)


def _steps(stage: str, wanted: list, model: Model, out: str) -> Iterator[SideCheck]:
    for check, compute in STEPS[stage].items():
        if check in wanted:
            yield guarded(SIDE, check, f"the TF2 {check} run", partial(compute, model, out))


@step("transfer", "transferred_inference")
def _transferred_inference(model: Model, out: str) -> SideCheck:
    return write_check(out, SIDE, "transferred_inference",
                       *_ordered(_outputs(model(False), model)))


@step("transfer", "gradients")
def _gradients(model: Model, out: str) -> SideCheck:
    pair = model.pair
    training_on = train_mode.training_on(pair)   # a ModelFn's TRAIN mode (train_mode.py)
    with train_mode.aligned(pair) as passes, tf.GradientTape() as tape:
        passes.next()
        outputs = model(training_on)
        loss = pair_loss(pair, outputs)
        losses = list(getattr(model.model, "losses", []) or [])
        total = loss + (tf.add_n(losses) if losses else 0.0)
    trainable = list(model.model.trainable_variables)
    grads = tape.gradient(total, trainable)
    if training_on:     # the moving statistics the call moved, back to TF1's for the next checks
        assign_transfer(model, model.transferred)
    arrays = {f"gradients/{model.name(v)}": np.asarray(g) for v, g in zip(trainable, grads)
              if g is not None}
    missing = [model.name(v) for v, g in zip(trainable, grads) if g is None]
    return write_check(out, SIDE, "gradients", arrays, list(arrays), {"no_gradient": missing})


@step("transfer", "tf_function")
def _tf_function(model: Model, out: str) -> SideCheck:
    """The model traced by tf.function (graph optimizations on), and eager, at the TF1 values."""
    layer = model.model

    @tf.function
    def traced(inputs: Any) -> tuple:
        outputs = layer(inputs, training=False)
        losses = list(getattr(layer, "losses", []) or [])
        return outputs, (tf.add_n([tf.cast(x, tf.float32) for x in losses]) if losses
                         else tf.constant(0.0))

    outputs, reg = call_user("the TF2 model inside tf.function", traced, model.inputs)
    arrays = {name: np.asarray(t) for name, t in flatten(outputs)}
    arrays["regularization_loss"] = np.asarray(reg)
    eager = write_check(out, SIDE, "tf_function-eager", *_ordered(_outputs(model(False), model)))
    return write_check(out, SIDE, "tf_function", arrays, list(arrays), {"eager_file": eager.file})


@step("transfer", "eval_metrics")
def _eval_metrics(model: Model, out: str) -> SideCheck:
    return eval_mode.tf2_metrics(model, out)


@step("transfer", "optimizer_steps")  # last: it changes the weights
def _optimizer_steps(model: Model, out: str) -> SideCheck:
    """`train_steps` optimizer steps from the TF1 values: the loss, then every variable and slot
    after each step, named as on the TF1 side."""
    pair = model.pair
    optimizer = call_user("optimizers[1]()", pair.optimizers[1])
    trainable = list(model.model.trainable_variables)
    arrays: dict = {}
    training_on = train_mode.training_on(pair)   # a ModelFn's TRAIN mode (train_mode.py)
    with train_mode.aligned(pair) as passes:
        for step in range(1, pair.train_steps + 1):
            passes.next()
            total = train_step(model, optimizer, trainable, model.inputs, training=training_on,
                               what=f"model(inputs, training={training_on})")
            arrays[f"optimizer_steps/{step}/loss"] = np.asarray(total)
            arrays.update({f"optimizer_steps/{step}/{model.name(v)}": v.numpy()
                           for v in trainable})
            arrays.update({f"optimizer_steps/{step}/{name}": value
                           for name, value in _slots(optimizer, trainable, model)})
    return write_check(out, SIDE, "optimizer_steps", arrays, list(arrays),
                       {"optimizer": keras_facts(optimizer)})


@step("transfer", "training_run")  # after optimizer_steps: it starts again from the TF1 values
def _training_run(model: Model, out: str) -> SideCheck:
    """`train.steps` steps from the TF1 values on TF1's batches (worker/training.py lines up the
    random numbers): the loss of every step, every variable and slot every `every` steps."""
    pair, train = model.pair, model.pair.train
    if not model.batches:
        raise UserError(f"no batches for the training run: {model.batches_error}")
    batches_file = model.batches
    assign_transfer(model, model.transferred)
    optimizer = call_user("optimizers[1]()", pair.optimizers[1])
    trainable = list(model.model.trainable_variables)
    seeds = training.AlignedSeeds()
    timing: dict = {}
    # One traced step, as a TF1 training script runs one graph: its random ops are created once
    # (seeded by rank when traced) and draw the next sample at each call, as the TF1 ops do at each
    # session.run; unoptimized, as the TF1 graph runs (grappler off: like with like).
    build_optimizer(optimizer, trainable)   # no variable created in the trace: traced once
    step = tf.function(lambda batch, labels: _step(model, optimizer, trainable, batch,
                                                   train.training, labels=labels))

    def eager(batch: Any, labels: Any) -> Any:
        seeds.step()
        return _step(model, optimizer, trainable, batch, train.training, labels=labels)

    labels = model_fn.labels_of(pair)

    def run() -> Iterator[tuple[str, np.ndarray]]:
        losses = []
        with seeds.scope(), np.load(batches_file, allow_pickle=False) as z, _unoptimized():
            started = time.perf_counter()
            one = step
            for number in range(1, train.steps + 1):
                batch = map_nested(training.read_batch(z, number, model.inputs, labels),
                                   _tensor)
                try:
                    losses.append(float(one(*batch)))
                except Exception as exc:  # noqa: BLE001 - code that runs only eagerly
                    if number > 1 or one is not step:
                        raise
                    # A step that cannot be traced (`.numpy()` in the model, say) runs eagerly,
                    # its random numbers lined up all the same: a user error raises again here.
                    timing["mode"] = (f"eager: tracing the step raised {type(exc).__name__}: "
                                      f"{cause_line(exc)}")
                    one = eager
                    losses.append(float(one(*batch)))
                if one is step and step.experimental_get_tracing_count() != 1:
                    # A second trace creates the random ops anew: the masks would part.
                    raise UserError(f"the training step was traced again at step {number}: a "
                                    "variable created inside the step, or the model's Python "
                                    "state changing what it computes (the batches all have the "
                                    "inputs' shape and dtype)")
                if training.recorded(number, train):
                    yield from ((f"training_run/{number}/{model.name(v)}", v.numpy())
                                for v in model.variables)
                    yield from ((f"training_run/{number}/{name}", slot.numpy())
                                for name, slot in slot_variables(optimizer, trainable, model))
            timing["step"] = (time.perf_counter() - started) / train.steps
        yield "training_run/loss", np.asarray(losses, dtype=np.float64)

    path = save_stream(os.path.join(out, "tf2-training_run.npz"), run())
    return SideCheck(SIDE, "training_run", "ok", file=path,
                     meta={"steps": train.steps, "seconds_per_step": timing.get("step", 0.0),
                           "mode": timing.get("mode", "traced once by tf.function"),
                           "optimizer": keras_facts(optimizer)})


def _tensor(value: Any) -> Any:
    return None if value is None else tf.convert_to_tensor(value)


def build_optimizer(optimizer: Any, trainable: list) -> None:
    """Create the optimizer's slots before its first step (to give them TF1's values, or to trace
    a step that creates no variable)."""
    if hasattr(optimizer, "_create_all_weights"):       # tf.keras.optimizers.legacy
        optimizer._create_all_weights(trainable)
    elif hasattr(optimizer, "build"):
        with tf.name_scope(optimizer.name):     # as apply_gradients names them: Adam/m/<variable>
            optimizer.build(trainable)


@contextlib.contextmanager
def _unoptimized() -> Iterator[None]:
    """Functions traced inside run without grappler, as the TF1 side's graphs do."""
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options(
            {"disable_meta_optimizer": bool(before.get("disable_meta_optimizer", False))})


def train_step(model: Model, optimizer: Any, trainable: list, batch: Any, training: bool,
               what: str = "", labels: Any = None) -> np.ndarray:
    """One optimizer step on `batch` (`loss` plus the regularization losses), eagerly; the loss
    before it. `what`: the forward call, as an error names it; `labels`: the batch's, for a
    ModelFn pair (None: the pair's own)."""
    return np.asarray(_step(model, optimizer, trainable, batch, training, what, labels))


def _step(model: Model, optimizer: Any, trainable: list, batch: Any, training: bool,
          what: str = "", labels: Any = None) -> Any:
    pair = model.pair
    with tf.GradientTape() as tape:
        outputs = call_user(what or f"model(batch, training={training})", model.model, batch,
                            training=training)
        loss = pair_loss(pair, outputs, labels)
        regularization = list(getattr(model.model, "losses", []) or [])
        total = loss + (tf.add_n(regularization) if regularization else 0.0)
    grads = tape.gradient(total, trainable)
    call_user("optimizer.apply_gradients", optimizer.apply_gradients,
              [(g, v) for g, v in zip(grads, trainable) if g is not None])
    return total


def _slots(optimizer: Any, trainable: list, model: Model) -> Iterator[tuple]:
    """(record name, value) of each optimizer slot: `<TF1 variable name>/<kind>`."""
    for name, slot in slot_variables(optimizer, trainable, model):
        yield name, slot.numpy()


def slot_variables(optimizer: Any, trainable: list, model: Model) -> Iterator[tuple]:
    """(record name, variable) of each optimizer slot: `<TF1 variable name>/<kind>`."""
    if hasattr(optimizer, "get_slot_names"):          # tf.keras.optimizers.legacy
        for v in trainable:
            for kind in optimizer.get_slot_names():
                slot = optimizer.get_slot(v, kind)
                yield f"{model.name(v)}/{kind}", slot
        return
    by_name = {record_name(v.name): v for v in trainable}
    prefix = f"{optimizer.name}/"
    for slot in optimizer.variables:                    # named <optimizer>/<kind>/<variable>
        name = record_name(slot.name)
        kind, _, variable = name[len(prefix):].partition("/") if name.startswith(prefix) \
            else ("", "", "")
        if variable in by_name:
            yield f"{model.name(by_name[variable])}/{kind}", slot


def _ordered(arrays: dict) -> tuple:
    return arrays, list(arrays)


def _snapshot_creator(initial: dict) -> Callable[..., Any]:
    def creator(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        v = next_creator(**kwargs)
        try:
            with tf.init_scope():
                initial[v.name] = v.numpy()
        except Exception:  # created inside a graph function: read after the call instead
            pass
        return v
    return creator


def _random(pair: Any, inputs: Any, check: str, out: str) -> SideCheck:
    training, mode = checks.spec(check).regime or (False, "constant")
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
    initial: dict = {}
    with tool.scope(), audit.recording() as random_ops:
        model = Model(pair, inputs)
        with tf.variable_creator_scope(_snapshot_creator(initial)):
            outputs = model(training)
        arrays = _regime_arrays(model, initial, outputs)
    return write_check(out, SIDE, check, arrays, list(arrays), _audit(random_ops, model))


def _regime_arrays(model: Model, initial: dict, outputs: Any) -> dict:
    """A random regime's records: each variable's initial value (snapshot at its creation), then
    the outputs and regularization loss of the call that created them."""
    arrays = {}
    for v in model.variables:
        value = initial.get(v.name)
        arrays[f"initial/{model.name(v)}"] = np.asarray(v) if value is None else value
    arrays.update(_outputs(outputs, model))
    return arrays


def _audit(random_ops: Any, model: Model) -> dict:
    """The randomness audit, with each variable's own name beside the TF1 name it is recorded
    under (the audit names ops by TF2 scopes)."""
    return {**audit.meta(random_ops),
            "tf2_names": {model.name(v): record_name(v.name) for v in model.variables}}


def _functional(pair: Any, inputs: Any, check: str, out: str) -> SideCheck:
    training, mode = checks.spec(check).regime or (True, "constant")
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode=mode)
    with tool.scope(), audit.recording() as random_ops:
        layer = Model(pair, inputs)
        if not isinstance(layer.model, tf.keras.layers.Layer):
            return SideCheck(SIDE, check, "skipped",
                             message=f"the TF2 model is a {type(layer.model).__name__}, not a Keras "
                                     "layer: it cannot be placed in a functional tf.keras.Model")
        symbolic = map_nested(inputs, lambda a: tf.keras.Input(
            shape=a.shape[1:], batch_size=a.shape[0], dtype=tf.as_dtype(a.dtype)))
        built = call_user("the TF2 layer on tf.keras.Input", layer.model, symbolic,
                          training=training)
        functional = tf.keras.Model(inputs=symbolic, outputs=built)
        arrays = {f"initial/{layer.name(v)}": np.asarray(v) for v in functional.variables}
        outputs = call_user("the functional model(inputs, training=True)", functional, inputs,
                            training=training)
        layer.model = functional
        arrays.update(_outputs(outputs, layer))
    return write_check(out, SIDE, check, arrays, list(arrays), _audit(random_ops, layer))
