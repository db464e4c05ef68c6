"""A training run's steps run again from TF1's state: a `StepsRequest` (tf_equiv.protocol.requests).

When the free runs leave their noise band, the verdict (verdict/steps.py) rests on this. One
process holds both sides: the TF1 training graph (worker/tf1.py) and the TF2 model at the TF1
values. From the state TF1 recorded at step `first - 1`, each step up to `last` runs on both sides
from TF1's state (its variables, its optimizer slots, its global step; the TF2 optimizer's slots
of a kind TF1 does not keep continue from the TF2 side's own last step) on the batch of that
step, with their random numbers lined up (worker/training.py), and TF1 runs it once more with
round-off added (training.NOISE) in a session of its own. The first step whose result differs
from TF1's by more than `factor` times that step's noise plus `floor`, relative to how far the
step moved TF1 (the loss relative to itself), is wrong in what one step computes: the optimizer
update, the schedule, a batch-norm update, a regularizer. When none does, the sides part by
accumulated round-off. A `bisected` event carries the finding (with the step closest to its band).
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator

import numpy as np

from tf_equiv.protocol.requests import StepsRequest


def run(request: StepsRequest, tf: Any, channel: Any) -> None:
    """The step-wise run, under the run's numerics (worker/__main__.py frames it)."""
    from tf_equiv.run import protocol

    channel.send(protocol.Bisected(_bisect(request)))


def _bisect(args: StepsRequest) -> dict:
    from tf_equiv.worker import model_fn as estimator
    from tf_equiv.worker import tf1, tf2, training
    from tf_equiv.worker.config import SEED
    from tf_equiv.worker.inputs import resolve_inputs
    from tf_equiv.worker.user_code import UserError, call_user, load_module

    pair = getattr(load_module(args.module), args.pair, None)
    if pair is None or getattr(pair, "train", None) is None:
        raise UserError(f"{args.pair} is no pair with train= in {args.module}")
    unrunnable = estimator.unrunnable(pair)    # a ModelFn's labels, read eagerly
    if unrunnable is not None:
        raise UserError(unrunnable.message, unrunnable.detail, unrunnable.line)
    inputs = resolve_inputs(pair)
    labels = estimator.labels_of(pair)
    # The TF1 graph first: one built after eager Keras state exists may capture it.
    seeds = training.AlignedSeeds()
    g = tf1.training_graph(pair, inputs, seeds)
    model = tf2.Model(pair, inputs)
    tf2.first_calls(model)
    with np.load(args.transfer, allow_pickle=False) as z:
        tf2.assign_transfer(model, {name: z[name] for name in z.files})
    optimizer = call_user("optimizers[1]()", pair.optimizers[1])
    trainable = list(model.model.trainable_variables)
    tf2.build_optimizer(optimizer, trainable)
    variables = {model.name(v): v for v in model.variables}
    slots = dict(tf2.slot_variables(optimizer, trainable, model))
    first = args.first
    state = _recorded_state(args.records, first - 1, g)
    unpaired = sorted({n.rsplit("/", 1)[1] for n in slots if n not in state})
    if unpaired and first > 1:      # TF2's own slots cannot be taken from TF1: from the start
        first = 1
        state = _recorded_state(args.records, 0, g)
    worst: dict = {}
    names = [n for n, _ in g.watched + g.others]
    rng = np.random.default_rng(SEED)
    # Not `with session`: that would make the TF1 graph the default one for TF2's eager steps.
    # A second session runs each step again with round-off added (training.NOISE), drawing its
    # random numbers in step with the first: the noise of that one step.
    with contextlib.closing(tf1.new_session(g.graph, args.options.numerics)) as sess, \
            contextlib.closing(tf1.new_session(g.graph, args.options.numerics)) as noisy, seeds.scope(), \
            np.load(args.batches, allow_pickle=False) as z:
        sess.run(g.init)
        noisy.run(g.init)
        for step in range(first, args.last + 1):
            batch = training.read_batch(z, step, inputs, labels)
            g.set(sess, state)
            loss1, _ = sess.run([g.total, g.train_op], g.feed(batch))
            after1 = dict(zip(names, sess.run([v for _, v in g.watched + g.others])))
            g.set(noisy, {n: training.one_ulp(np.asarray(x), rng) for n, x in state.items()})
            loss0, _ = noisy.run([g.total, g.train_op], g.feed(training.nudged(batch, rng)))
            after0 = dict(zip(names, noisy.run([v for _, v in g.watched + g.others])))
            # Step 1 starts TF2's optimizer from its own slots, as its training does: a slot
            # that starts elsewhere (TF1's RMSProp accumulator at 1, Keras's at 0) is wrong in
            # the first step, not hidden by TF1's values.
            carried = list(variables.items()) + (list(slots.items()) if step > 1 else [])
            for name, v in carried:
                if name in state:
                    v.assign(state[name])
            optimizer.iterations.assign(step - 1)
            seeds.step()
            loss2 = float(tf2.train_step(model, optimizer, trainable, batch[0],
                                         pair.train.training, labels=batch[1]))
            after2 = {n: v.numpy() for n, v in list(variables.items()) + list(slots.items())}
            noise = dict(_one_step(state, after1, after0, loss1, loss0, args.atol))
            found = [(name, divergence, args.factor * noise.get(name, 0.0) + args.floor)
                     for name, divergence in _one_step(state, after1, after2, loss1, loss2,
                                                       args.atol)]
            name, divergence, band = max(found, key=lambda item: item[1] / item[2])
            if not worst or divergence / band > worst["divergence"] / worst["band"]:
                worst = {"step": step, "record": name, "divergence": divergence, "band": band}
            if divergence > band:
                return {"wrong": step, "record": name, "divergence": divergence, "band": band,
                        "loss": [float(loss1), float(loss2)], "first": first,
                        "floor": args.floor, "unpaired": unpaired}
            state = after1
    return {"wrong": 0, "first": first, "last": args.last, "worst": worst,
            "floor": args.floor, "unpaired": unpaired}


def _recorded_state(path: str, step: int, g: Any) -> dict:
    """TF1's whole state after `step` (0: where both started), as the training run recorded it."""
    with np.load(path, allow_pickle=False) as z:
        files = set(z.files)
        state = {}
        for name, _ in g.watched:
            key = f"start/{name}" if step == 0 else f"training_run/{step}/{name}"
            if key in files:
                state[name] = z[key]
        for name, _ in g.others:
            if f"state/{step}/{name}" in files:
                state[name] = z[f"state/{step}/{name}"]
    return state


def _one_step(before: dict, after1: dict, after2: dict, loss1: float, loss2: float,
              atol: float) -> Iterator[tuple[str, float]]:
    """(record, divergence) of one step run from the same state: relative to how far the step
    moved TF1 (at least atol per element); the loss relative to itself."""
    yield "the loss", abs(float(loss2) - float(loss1)) / max(abs(float(loss1)), atol)
    for name, value in after2.items():
        if name not in after1 or name not in before:
            continue
        reference = after1[name].astype(np.float64)
        moved = float(np.linalg.norm(reference - before[name].astype(np.float64)))
        scale = max(moved, atol * math.sqrt(max(1, reference.size)))
        yield name, float(np.linalg.norm(value.astype(np.float64) - reference)) / scale

