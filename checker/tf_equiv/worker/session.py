"""A side's session: environment, compat fixes, the user's module and Pair, then the side's checks."""
from __future__ import annotations

import os
from typing import Any

from tf_equiv.protocol.requests import NoiseRequest, SideRequest
from tf_equiv.protocol.settings import PairSettings, TrainSettings
from tf_equiv.run import protocol
from tf_equiv.run.records import save_arrays
from tf_equiv.worker.channel import Channel
from tf_equiv.worker.config import configure, environment
from tf_equiv.worker.inputs import inputs_sha256, resolve_inputs
from tf_equiv.worker.nested import flatten
from tf_equiv.worker.user_code import UserError, load_module


def pair_settings(pair: Any) -> dict[str, object]:
    """The pair's settings for the parent, as the `pair` and `module` events carry them."""
    return read_settings(pair).to_json()


def read_settings(pair: Any) -> PairSettings:
    """The pair's settings. A pair with bad fields still plans its checks (every check that
    applies when `checks` itself is bad): the parent lists and reports pairs it could not read in
    the source, a helper function's, by these checks, each an error naming the field. A field
    found bad takes its default, which the parent can decode; no check uses it, since each
    reports the problems instead."""
    from tf_equiv import checks
    from tf_equiv.pair import SavedModel, Train, planned_checks

    present = [s.field for s in checks.TABLE if s.field and getattr(pair, s.field) is not None]
    bad = {problem.split(":")[0].split(".")[0] for problem in pair.problems}
    defaults = PairSettings()

    def valid(name: str) -> Any:
        return getattr(defaults if name in bad else pair, name)

    train = pair.train if isinstance(pair.train, Train) and not pair.problems else None
    return PairSettings(
        rtol=valid("rtol"), atol=valid("atol"),
        tolerances={} if pair.problems else {str(k): (v[0], v[1])
                                             for k, v in dict(pair.tolerances).items()},
        checks=tuple(planned_checks(pair.checks, present, isinstance(pair.tf1, SavedModel))),
        skip=valid("skip"), xfail=valid("xfail"), timeout=valid("timeout"),
        constant=valid("constant"), line=pair.declared_at[1], problems=tuple(pair.problems),
        train=TrainSettings(train.steps, train.every, train.training, train.noise_factor)
        if train else None)


def run_side(request: SideRequest | NoiseRequest, channel: Channel) -> int:
    """One side of one pair (or, for a NoiseRequest, the TF1 training run alone)."""
    import tensorflow as tf

    from tf_equiv import Pair
    from tf_equiv.worker import compat

    noise = isinstance(request, NoiseRequest)
    checks: tuple[str, ...]
    if isinstance(request, NoiseRequest):
        side, checks, any_check = "tf1", ("training_run",), False
    else:
        side, checks, any_check = request.side, request.checks, request.any_check
    options = request.options
    fixes = compat.apply(options.compat_fixes)
    numerics = options.numerics
    configure(tf, options)
    channel.send(protocol.Environment(environment(tf, side, numerics), list(fixes)))
    try:
        module = load_module(request.module)
        channel.send(protocol.ModulePairs([
            {"name": name, "line": value.declared_at[1], "settings": pair_settings(value)}
            for name, value in vars(module).items() if isinstance(value, Pair)]))
        if not request.pair:        # collect only: which pairs does the module declare?
            channel.send(protocol.Done())
            return 0
        pair = getattr(module, request.pair, None)
        if not isinstance(pair, Pair):
            raise UserError(f"{request.pair} is not a tf_equiv.Pair in "
                            f"{os.path.basename(request.module)} (found {type(pair).__name__})")
        settings = read_settings(pair)
        channel.send(protocol.PairSettings(settings.to_json()))
        if pair.problems or pair.skip:
            channel.send(protocol.Done())
            return 0
        inputs = resolve_inputs(pair)
        saved = None
        if side == "tf2":           # for --artifacts: the inputs beside the failing records
            saved = save_arrays(os.path.join(request.out, "inputs.npz"),
                                dict(flatten(inputs, "inputs")))
        channel.send(protocol.Inputs(inputs_sha256(inputs), saved))
    except UserError as e:
        channel.send(protocol.Fatal(e.message, e.detail, e.line))
        channel.send(protocol.Done())
        return 0
    # The pair's own `checks` may narrow what the parent planned from the source text.
    runnable = {check for check, reason in settings.checks if reason is None}
    wanted = [c for c in checks if c in runnable or any_check]
    if side == "tf1":
        from tf_equiv.worker import tf1
        results = tf1.run(pair, inputs, wanted, request.out, channel, numerics, noise_only=noise)
    else:
        from tf_equiv.worker import tf2
        results = tf2.run(pair, inputs, wanted, request.out, channel)
    for result in results:
        channel.send(result)
    channel.send(protocol.Done())
    return 0
