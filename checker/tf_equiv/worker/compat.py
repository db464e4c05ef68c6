"""Narrow, named fixes for known incompatibilities of TF 2.16+ with tf_slim and the modeling shim.

Each fix applies only where its problem is present, and says so; `--no-compat-fixes` turns them
all off. The applied fixes are listed in the report.
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable

FIXES: dict = {}


def _fix(name: str) -> Callable[[Callable[[], bool]], Callable[[], bool]]:
    def register(fn: Callable[[], bool]) -> Callable[[], bool]:
        FIXES[name] = fn
        return fn
    return register


@_fix("legacy_tf_layers_alias")
def _legacy_tf_layers_alias() -> bool:
    """tf.compat.v1.layers.batch_normalization (and tf_slim's batch_norm) lazily import
    `tf_keras.legacy_tf_layers`, which tf_keras moved to `tf_keras.src.legacy_tf_layers`
    (keras-team/keras#18839). Alias the old names to the moved modules."""
    try:
        importlib.import_module("tf_keras.legacy_tf_layers.normalization")
        return False
    except ImportError:
        pass
    try:
        package = importlib.import_module("tf_keras.src.legacy_tf_layers")
    except ImportError:
        return False
    sys.modules["tf_keras.legacy_tf_layers"] = package
    for sub in ("base", "core", "convolutional", "normalization", "pooling"):
        sys.modules[f"tf_keras.legacy_tf_layers.{sub}"] = importlib.import_module(
            f"tf_keras.src.legacy_tf_layers.{sub}")
    return True


@_fix("tf_slim_collection_identity")
def _tf_slim_collection_identity() -> bool:
    """tf_slim's `_add_variable_to_collections` tests `var not in collection`, which compares
    variables elementwise in TF2 ("truth value of an array ... is ambiguous") inside the shim.
    Compare by identity instead, which is what the membership test meant."""
    try:
        import inspect

        from tensorflow.python.framework import ops
        from tf_slim.layers import layers, utils
    except ImportError:
        return False
    if "not in ops.get_collection" not in inspect.getsource(layers._add_variable_to_collections):
        return False

    def add_variable_to_collections(variable, collections_set, collections_name):
        collections = utils.get_variable_collections(collections_set, collections_name) or []
        parts = list(variable) if type(variable).__name__ == "PartitionedVariable" else [variable]
        for collection in collections:
            for var in parts:
                if not any(var is seen for seen in ops.get_collection(collection)):
                    ops.add_to_collection(collection, var)

    layers._add_variable_to_collections = add_variable_to_collections
    return True


@_fix("graph_build_fast_path")
def _graph_build_fast_path() -> bool:
    """Building a tf_slim network in a tf.Graph calls `executing_eagerly_outside_functions` about
    250 times per layer, and each call walks the context stack (40% of inception_v3's graph build).
    Outside a function graph its answer is known without the walk: False while a plain graph is
    being built, True when executing eagerly. Function graphs still take the original path."""
    try:
        from tensorflow.python.eager import context
        from tensorflow.python.framework import ops
    except ImportError:
        return False
    original = ops.executing_eagerly_outside_functions
    if getattr(original, "_tf_equiv_fast_path", False):
        return True

    def executing_eagerly_outside_functions() -> bool:
        if context.executing_eagerly():
            return True
        if not ops.get_default_graph().building_function:
            return False
        return original()

    executing_eagerly_outside_functions._tf_equiv_fast_path = True  # type: ignore[attr-defined]
    ops.executing_eagerly_outside_functions = executing_eagerly_outside_functions
    return True


def apply(enabled: bool) -> list:
    """Apply every fix whose problem is present; return the names of those applied."""
    if not enabled:
        return []
    return [name for name, fix in FIXES.items() if fix()]
