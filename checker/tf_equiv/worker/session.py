"""A side's session: environment, compat fixes, the user's module and Pair, then the side's checks."""
from __future__ import annotations

import argparse
import os
import platform
from dataclasses import dataclass
from typing import Any, Callable

from tf_equiv import protocol
from tf_equiv.records import SideCheck, save_arrays
from tf_equiv.worker.common import (
    SEED,
    Channel,
    UserError,
    as_user_error,
    flatten,
    inputs_sha256,
    load_module,
    resolve_inputs,
)


@dataclass(frozen=True)
class Numerics:
    """How the graphs of a run are optimized.

    The eager TF2 side runs every op as written, with no graph optimizer: the TF1 graph it is
    compared with runs the same way (grappler's meta-optimizer off), so that fused kernels and
    folded constants, whose rounding depends on the CPU, never tell a correct migration from a
    wrong one. Only `tf_function` compares optimized graphs, on both sides: the TF2 trace and the
    TF1 graph with their default passes. `tf1_optimized` keeps TF1's passes on in every check.
    """

    grappler_off: tuple = ()          # passes turned off wherever grappler runs
    tf1_optimized: bool = False

    def tf1_describe(self) -> str:
        every = "on in every check" if self.tf1_optimized else \
            "off (meta-optimizer disabled, as the eager TF2 side runs); on for tf_function"
        return every + self._without()

    def tf2_describe(self) -> str:
        return "none (eager); on for tf_function" + self._without()

    def _without(self) -> str:
        return f", without {', '.join(self.grappler_off)}" if self.grappler_off else ""


def environment(tf: Any, side: str, numerics: Numerics = Numerics()) -> dict:
    """What the numbers depend on, recorded in the report."""
    import numpy as np

    try:
        import tf_keras
        keras_version = tf_keras.__version__
    except ImportError:
        keras_version = "not installed"
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tf_keras": keras_version,
        "numpy": np.__version__,
        "device": ", ".join(d.name for d in gpus) if gpus else f"CPU ({platform.machine()})",
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "op_determinism": "on",
        "tf32": "off" if gpus else "n/a",
        "seed": str(SEED),
        "grappler": numerics.tf1_describe() if side == "tf1" else numerics.tf2_describe(),
        **({"grappler_off": ",".join(numerics.grappler_off)} if numerics.grappler_off else {}),
    }


def session_config(tf: Any, numerics: Numerics, optimized: bool) -> Any:
    """A TF1 session's ConfigProto (a session does not read the eager context's optimizer
    options): grappler off entirely unless `optimized`, then without the run's `grappler_off`."""
    from tensorflow.core.protobuf import rewriter_config_pb2

    threads = int(os.environ.get("TF_EQUIV_THREADS", "0") or 0)
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads,
                                      inter_op_parallelism_threads=threads)
    rewrite = config.graph_options.rewrite_options
    if not optimized:
        rewrite.disable_meta_optimizer = True
    for name in numerics.grappler_off:
        setattr(rewrite, name, rewriter_config_pb2.RewriterConfig.OFF)
    return config


def configure(tf: Any, numerics: Numerics = Numerics()) -> None:
    if numerics.grappler_off:    # tf.function graphs (the TF2 side's traced checks)
        tf.config.optimizer.set_experimental_options(
            {name: False for name in numerics.grappler_off})
    threads = int(os.environ.get("TF_EQUIV_THREADS", "0") or 0)
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()
    # TF32 matmuls on Ampere+ GPUs differ from TF1-era float32 by ~1e-3: never compare with it on.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    tf.random.set_seed(SEED)


def pair_settings(pair: Any) -> dict:
    from tf_equiv import checks

    present = [s.field for s in checks.TABLE if s.field and getattr(pair, s.field) is not None]
    return {
        "rtol": pair.rtol, "atol": pair.atol,
        "tolerances": {str(k): list(v) for k, v in dict(pair.tolerances).items()},
        "checks": checks.plan(pair.checks, present) if not pair.problems else [],
        "skip": pair.skip, "xfail": pair.xfail, "timeout": pair.timeout,
        "constant": pair.constant, "line": pair.declared_at[1], "problems": list(pair.problems),
    }


def run_side(args: argparse.Namespace, channel: Channel) -> int:
    import tensorflow as tf

    from tf_equiv import Pair
    from tf_equiv.worker import compat

    fixes = compat.apply(not args.no_compat_fixes)
    numerics = Numerics(tuple(filter(None, args.grappler_off.split(","))), args.tf1_optimized)
    configure(tf, numerics)
    channel.send(protocol.Environment(environment(tf, args.side, numerics), list(fixes)))
    try:
        module = load_module(args.module)
        channel.send(protocol.ModulePairs([
            {"name": name, "line": value.declared_at[1], "settings": pair_settings(value)}
            for name, value in vars(module).items() if isinstance(value, Pair)]))
        if not args.pair:           # collect only: which pairs does the module declare?
            channel.send(protocol.Done())
            return 0
        pair = getattr(module, args.pair, None)
        if not isinstance(pair, Pair):
            raise UserError(f"{args.pair} is not a tf_equiv.Pair in {os.path.basename(args.module)} "
                            f"(found {type(pair).__name__})")
        settings = pair_settings(pair)
        channel.send(protocol.PairSettings(settings))
        if pair.problems or pair.skip:
            channel.send(protocol.Done())
            return 0
        inputs = resolve_inputs(pair)
        saved = None
        if args.side == "tf2":      # for --artifacts: the inputs beside the failing records
            saved = save_arrays(os.path.join(args.out, "inputs.npz"),
                                dict(flatten(inputs, "inputs")))
        channel.send(protocol.Inputs(inputs_sha256(inputs), saved))
    except UserError as e:
        channel.send(protocol.Fatal(e.message, e.detail, e.line))
        channel.send(protocol.Done())
        return 0
    # The pair's own `checks` may narrow what the parent planned from the source text.
    runnable = {check for check, reason in settings["checks"] if reason is None}
    wanted = [c for c in args.checks.split(",") if c in runnable or args.any_check]
    if args.side == "tf1":
        from tf_equiv.worker import tf1
        results = tf1.run(pair, inputs, wanted, args.out, channel, numerics)
    else:
        from tf_equiv.worker import tf2
        results = tf2.run(pair, inputs, wanted, args.out, channel)
    for result in results:
        channel.send(result)
    channel.send(protocol.Done())
    return 0


def error_result(side: str, check: str, exc: UserError) -> SideCheck:
    return SideCheck(side, check, "error", message=exc.message, detail=exc.detail, line=exc.line)


def guarded(side: str, check: str, what: str, compute: Callable[[], SideCheck]) -> SideCheck:
    """`compute()`, or the check's error result when it raises (`what` ran: "the TF2 gradients
    run"): one check's failure never stops the side's other checks."""
    try:
        return compute()
    except Exception as exc:  # user code may raise anything
        return error_result(side, check, as_user_error(what, exc))
