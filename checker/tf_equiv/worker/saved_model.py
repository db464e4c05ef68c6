"""A TF1 SavedModel (tf_equiv.SavedModel) as the TF1 side: loaded into the fresh TF1 graph with
TensorFlow's TF1 loader, its outputs the signature's, its variables the SavedModel's, at their
trained values. The checks read it as they read a graph the TF1 code built; those that need the
code itself (its random initial values, its training-mode graph) are planned as skipped
(checks.unloadable)."""
from __future__ import annotations

import contextlib
import os
import re
from typing import Any, ContextManager, Optional

import numpy as np
import tensorflow as tf

from tf_equiv.pair import SavedModel
from tf_equiv.run.records import SideCheck
from tf_equiv.worker.user_code import UserError

#: What a folder holds when it is a SavedModel (binary or text).
_PROTO_FILES = ("saved_model.pb", "saved_model.pbtxt")


def is_saved_model(pair: Any) -> bool:
    return isinstance(pair.tf1, SavedModel)


def folder(pair: Any) -> str:
    """The SavedModel's folder, a relative path taken from the declaring module's folder."""
    return os.path.normpath(pair.tf1.resolved(pair.declared_at[0]))


def unrunnable(pair: Any) -> Optional[SideCheck]:
    """For a SavedModel pair whose folder holds no SavedModel: the error each of its TF1 checks
    reports, naming the field, the folder and the module it is relative to; else None."""
    if not is_saved_model(pair):
        return None
    path = folder(pair)
    if not os.path.isdir(path):
        why = "no such folder" if not os.path.exists(path) else "not a folder"
    elif not any(os.path.isfile(os.path.join(path, f)) for f in _PROTO_FILES):
        why = "not a SavedModel: it has no saved_model.pb"
    else:
        return None
    given = os.fspath(pair.tf1.path)
    where = "" if os.path.isabs(given) else \
        f"; {given!r} is taken from the folder of {os.path.basename(pair.declared_at[0])}"
    return SideCheck("tf1", "", "error", message=f"tf1.path: {path}: {why}{where}")


def load(sess: tf.compat.v1.Session, pair: Any, inputs: Any) -> tuple[dict, dict]:
    """Load the SavedModel into `sess` (its graph and its variables' values) and return the feed
    (the signature's input tensors -> the pair's inputs) and the outputs (the signature's output
    tensors by key, in the graph's forward order)."""
    saved: SavedModel = pair.tf1
    path = folder(pair)
    try:
        meta = tf.compat.v1.saved_model.loader.load(sess, list(saved.tags), path)
    except Exception as exc:  # wrong tags, a corrupt or newer SavedModel: say which, in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"tf1: loading the SavedModel {path} with tags {list(saved.tags)}: "
                        f"{first}") from None
    if saved.signature not in meta.signature_def:
        known = ", ".join(sorted(meta.signature_def)) or "none"
        raise UserError(f"tf1.signature: the SavedModel {path} has no signature "
                        f"{saved.signature!r} (it has: {known})")
    signature = meta.signature_def[saved.signature]
    graph = sess.graph
    feed = {_tensor(graph, info, f"input {key!r}"): value
            for key, info, value in _matched_inputs(signature, inputs, saved.signature)}
    position = {op.name: i for i, op in enumerate(graph.get_operations())}
    outputs = {key: _tensor(graph, info, f"output {key!r}")
               for key, info in signature.outputs.items()}
    order = sorted(outputs, key=lambda k: (position.get(outputs[k].op.name, len(position)), k))
    return feed, {key: outputs[key] for key in order}


def _matched_inputs(signature: Any, inputs: Any, name: str) -> list[tuple[str, Any, np.ndarray]]:
    """(key, TensorInfo, array) for each of the signature's inputs, from the pair's inputs dict
    (which must hold exactly the signature's input names)."""
    wanted = sorted(signature.inputs)
    if not isinstance(inputs, dict):
        raise UserError(f"inputs: the signature {name!r} takes a dict keyed by its input names "
                        f"({', '.join(wanted)}), got {type(inputs).__name__}")
    missing = [k for k in wanted if k not in inputs]
    unknown = [str(k) for k in inputs if k not in signature.inputs]
    if missing or unknown:
        said = [f"missing {', '.join(missing)}"] if missing else []
        said += [f"not inputs of the signature: {', '.join(unknown)}"] if unknown else []
        raise UserError(f"inputs: the signature {name!r} takes {', '.join(wanted)}; "
                        + "; ".join(said))
    matched = [(key, signature.inputs[key], np.asarray(inputs[key])) for key in wanted]
    for key, info, value in matched:
        dtype, shape = tf.as_dtype(info.dtype), tf.TensorShape(info.tensor_shape)
        if value.dtype != dtype.as_numpy_dtype or not shape.is_compatible_with(value.shape):
            raise UserError(f"inputs: {key!r} is {value.dtype.name} {value.shape}, where the "
                            f"signature {name!r} takes {dtype.name} {shape}")
    return matched


def _tensor(graph: tf.Graph, info: Any, what: str) -> tf.Tensor:
    if info.WhichOneof("encoding") != "name":
        raise UserError(f"tf1.signature: {what} is a sparse or composite tensor; tf-equiv "
                        "compares dense tensors only")
    return graph.get_tensor_by_name(info.name)


def optimizer_scope(pair: Any) -> ContextManager[Any]:
    """Where the TF1 side makes its optimizer's slots. A training export holds its optimizer's
    slots under the names a new optimizer gives its own (`<variable>/Adam`), which the loaded
    graph already uses: a SavedModel's new ones go under a scope of their own (a slot's record
    is named by its variable and kind, never by the slot's name)."""
    return tf.compat.v1.variable_scope("tf_equiv_optimizer") if is_saved_model(pair) \
        else contextlib.nullcontext()


def model_variables(graph: tf.Graph, outputs: dict) -> list:
    """The SavedModel's variables the checks compare: all of them but the training state a
    training script's export carries (the global step, an optimizer's slots `<variable>/<slot>`
    and Adam's `beta1_power`/`beta2_power`), where the signature's outputs do not read it."""
    read = _ancestors([t.op for t in outputs.values()])
    trainable = {v.op.name for v in graph.get_collection(
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)}
    step = tf.compat.v1.train.get_global_step(graph)
    step_name = step.op.name if step is not None else None

    def training_state(v: Any) -> bool:
        name = v.op.name
        parts = name.split("/")
        slot = any("/".join(parts[:i]) in trainable for i in range(1, len(parts)))
        return not v.trainable and name not in read and \
            (name == step_name or slot or _ADAM_POWER.fullmatch(name) is not None)

    return [v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
            if not training_state(v)]


#: The non-slot variables of TF1's AdamOptimizer (a second optimizer's get a suffix).
_ADAM_POWER = re.compile(r"beta[12]_power(_\d+)?")


def _ancestors(ops: list) -> set:
    """The names of the ops `ops` depend on, themselves included (inputs and control inputs)."""
    seen: set = set()
    while ops:
        op = ops.pop()
        if op.name not in seen:
            seen.add(op.name)
            ops.extend(t.op for t in op.inputs)
            ops.extend(op.control_inputs)
    return seen
