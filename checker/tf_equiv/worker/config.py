"""How a side's TensorFlow is set up: threads, op determinism, TF32 off, the seed, and how its graphs
are optimized; and the environment the report records. TensorFlow is passed in (the worker imports
it only after setting its environment variables)."""
from __future__ import annotations

import os
import platform
from typing import Any

from tf_equiv.protocol.requests import Numerics, RunOptions

__all__ = ["SEED", "Numerics", "configure", "environment", "session_config"]

#: The seed both sides set (graph-level and tf.random), so their random ops draw alike.
SEED = 42


def environment(tf: Any, side: str, numerics: Numerics = Numerics()) -> dict[str, str]:
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

    # The pools `configure` sized for this worker (0, TensorFlow's default, when it did not).
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads,
                                      inter_op_parallelism_threads=threads)
    rewrite = config.graph_options.rewrite_options
    if not optimized:
        rewrite.disable_meta_optimizer = True
    for name in numerics.grappler_off:
        setattr(rewrite, name, rewriter_config_pb2.RewriterConfig.OFF)
    return config


def configure(tf: Any, options: RunOptions = RunOptions()) -> None:
    """TensorFlow set up as every worker of a run is, before its first op (`options.threads` 0:
    the default thread pools). The compatibility fixes are applied by worker/compat.py."""
    numerics, threads = options.numerics, options.threads
    if numerics.grappler_off:    # tf.function graphs (the TF2 side's traced checks)
        tf.config.optimizer.set_experimental_options(
            {name: False for name in numerics.grappler_off})
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()
    # TF32 matmuls on Ampere+ GPUs differ from TF1-era float32 by ~1e-3: never compare with it on.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    tf.random.set_seed(SEED)
