"""`tf-equiv init`'s look at a TF1 source (an IntrospectRequest): the function imported and built
once in a throwaway graph (its placeholders read, or placeholders of the `--inputs` shapes fed),
an Estimator model_fn's signature and input_fn, or a SavedModel's signature read from its
`saved_model.pb`. What it finds is written as JSON (protocol/introspection.py)."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys
from typing import Any, Callable

from tf_equiv.files import atomic_write
from tf_equiv.protocol.introspection import Introspection, write_text
from tf_equiv.protocol.requests import InputSpec, IntrospectRequest
from tf_equiv.worker.config import SEED
from tf_equiv.worker.nested import flatten
from tf_equiv.worker.user_code import UserError, call_user, load_module

#: Parameter names that take the training flag, as TF1 code spells it.
TRAINING_NAMES = ("training", "is_training", "train")


def run(request: IntrospectRequest, tf: Any) -> None:
    if os.path.isdir(request.source):
        result = saved_model(request, tf)
    else:
        result = function(request, tf)
    result = dataclasses.replace(result, tensorflow=tf.__version__)
    atomic_write(request.out, lambda f: f.write(write_text(result)))


def _import(source: str) -> tuple[Callable[..., Any], str, str, str]:
    """(the function, its module's dotted name, the folder that name imports from, its file)."""
    where, name = source.rsplit(":", 1)
    if where.endswith(".py"):
        module = load_module(where)
        dotted, root = module.__name__, os.path.dirname(os.path.abspath(where))
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = call_user(f"importing {where}", importlib.import_module, where)
        dotted = where
        file = os.path.abspath(module.__file__ or "")
        depth = dotted.count(".") + (2 if os.path.basename(file) == "__init__.py" else 1)
        root = file
        for _ in range(depth):
            root = os.path.dirname(root)
    fn = getattr(module, name, None)
    if not callable(fn):
        found = sorted(k for k, v in vars(module).items()
                       if inspect.isfunction(v) and v.__module__ == module.__name__)
        what = "no attribute" if fn is None else f"{type(fn).__name__} (not a function) at"
        raise UserError(f"{where}: {what} {name!r}; its functions: {', '.join(found) or 'none'}")
    return fn, dotted, root, os.path.abspath(getattr(module, "__file__", "") or "")


def function(request: IntrospectRequest, tf: Any) -> Introspection:
    fn, dotted, root, file = _import(request.source)
    params = inspect.signature(fn).parameters
    common = Introspection("function", fn.__name__, dotted, root, file)
    if "features" in params and "mode" in params:
        return model_fn(request, tf, fn, common)
    training = next((n for n in params if n in TRAINING_NAMES), "")
    tensors = tuple(n for n, p in params.items()
                    if n != training and p.default is p.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    common = dataclasses.replace(common, parameters=tensors, training=training)
    if not tensors:
        return builder(request, tf, fn, common)
    if not request.inputs:
        return dataclasses.replace(common, unknown=(
            f"{fn.__name__} takes tensors ({', '.join(tensors)}) whose shapes its code does not "
            f"say; pass --inputs " + " ".join(f"{n}=SHAPE:DTYPE" for n in tensors)))
    inputs = _named(request.inputs, tensors, fn.__name__)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(SEED)     # op determinism refuses unseeded random ops
        fed = {s.name: tf.compat.v1.placeholder(s.dtype, s.shape, name=s.name) for s in inputs}
        kwargs = {training: False} if training else {}
        outputs = call_user(f"{fn.__name__}({', '.join(tensors)})", fn,
                            *[fed[n] for n in tensors], **kwargs)
    return dataclasses.replace(common, inputs=inputs, outputs=_output_names(tf, outputs))


def _named(given: tuple[InputSpec, ...], tensors: tuple[str, ...], fn: str) -> tuple[InputSpec,
                                                                                      ...]:
    """The --inputs as the function's parameters: one tensor takes one input of any name."""
    if len(tensors) == 1 and len(given) == 1:
        return (dataclasses.replace(given[0], name=tensors[0]),)
    names = [s.name for s in given]
    missing = [n for n in tensors if n not in names]
    unknown = [n for n in names if n not in tensors]
    if missing or unknown:
        wrong = ([f"missing {', '.join(missing)}"] if missing else []) + \
            ([f"not a parameter: {', '.join(unknown)}"] if unknown else [])
        raise UserError(f"--inputs: {fn} takes the tensors {', '.join(tensors)}; "
                        + "; ".join(wrong))
    return tuple(next(s for s in given if s.name == n) for n in tensors)


def _output_names(tf: Any, outputs: Any) -> tuple[str, ...]:
    return tuple(path for path, leaf in flatten(outputs) if isinstance(leaf, tf.Tensor))


def builder(request: IntrospectRequest, tf: Any, fn: Callable[..., Any],
            common: Introspection) -> Introspection:
    """A function of no tensors: built in a graph, its tf.compat.v1.placeholder ops are its
    inputs, in the order it made them (an unknown first dimension is the batch: 1)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(SEED)
        kwargs = {common.training: False} if common.training else {}
        outputs = call_user(f"{fn.__name__}()", fn, **kwargs)
    found, unknown = [], []
    for op in graph.get_operations():
        if op.type != "Placeholder":
            continue
        shape = op.outputs[0].shape
        dims = None if shape.rank is None else \
            [1 if d is None and i == 0 else d for i, d in enumerate(shape.as_list())]
        if dims is None or None in dims:
            unknown.append(f"{op.name} {shape}")
        found.append(InputSpec(op.name, tuple(d or 0 for d in dims or ()),
                               tf.as_dtype(op.get_attr("dtype")).name))
    given = {s.name: s for s in request.inputs}
    names = [s.name for s in found]
    extra = [n for n in given if n not in names]
    if extra:
        raise UserError(f"--inputs: {fn.__name__} makes no placeholder {', '.join(extra)}; its "
                        f"placeholders: {', '.join(names) or 'none'}")
    if not found:
        raise UserError(f"{fn.__name__}() takes no tensor and makes no "
                        "tf.compat.v1.placeholder: tf-equiv cannot tell what it computes from; "
                        "give it an (inputs, training) parameter")
    unknown = [u for u in unknown if u.split(" ")[0] not in given]
    inputs = tuple(given.get(s.name, s) for s in found)
    return dataclasses.replace(
        common, source_kind="builder", inputs=inputs, outputs=_output_names(tf, outputs),
        parameters=tuple(names),
        unknown=f"placeholders of unknown shape: {', '.join(unknown)}; pass --inputs "
                + " ".join(f"{u.split(' ')[0]}=SHAPE:DTYPE" for u in unknown) if unknown else "")


def model_fn(request: IntrospectRequest, tf: Any, fn: Callable[..., Any],
             common: Introspection) -> Introspection:
    """An Estimator model_fn: its features and labels from --inputs (`labels` names the labels),
    else from the first batch of its module's input_fn(); never called itself (tf.estimator may
    not exist in this TensorFlow)."""
    arguments = tuple(inspect.signature(fn).parameters)
    common = dataclasses.replace(common, source_kind="model_fn", arguments=arguments)
    if request.inputs:
        labels = tuple(s for s in request.inputs if s.name == "labels")
        features = tuple(s for s in request.inputs if s.name != "labels")
        if not labels or not features:
            raise UserError("--inputs: a model_fn needs its features and its labels: pass "
                            "--inputs NAME=SHAPE:DTYPE (one per feature) labels=SHAPE:DTYPE")
        return dataclasses.replace(common, inputs=features, labels=labels)
    module = sys.modules[fn.__module__]
    input_fn = getattr(module, "input_fn", None)
    takes = inspect.signature(input_fn).parameters if callable(input_fn) else {"": None}
    if not callable(input_fn) or any(p.default is p.empty for p in takes.values() if p):
        return dataclasses.replace(common, unknown=(
            f"{fn.__name__}'s features and labels: no input_fn() in its module to read them "
            "from; pass --inputs NAME=SHAPE:DTYPE (one per feature) labels=SHAPE:DTYPE"))
    batch = call_user("input_fn()", input_fn)
    first = call_user("the input_fn's first batch", lambda: next(iter(batch)))
    if not (isinstance(first, tuple) and len(first) == 2):
        raise UserError("input_fn(): expected a dataset of (features, labels), got batches of "
                        f"{type(first).__name__}")
    specs = [tuple(InputSpec(path, tuple(leaf.shape), leaf.dtype.name)
                   for path, leaf in flatten(part, name))
             for part, name in zip(first, ("features", "labels"))]
    return dataclasses.replace(common, input_fn="input_fn", inputs=specs[0], labels=specs[1])


def saved_model(request: IntrospectRequest, tf: Any) -> Introspection:
    """The signature's inputs (keys, dtypes, shapes: an unknown first dimension is 1) and
    outputs, read from the MetaGraph whose tags are `request.tags`."""
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    folder = request.source
    proto = saved_model_pb2.SavedModel()
    binary = os.path.join(folder, "saved_model.pb")
    if os.path.exists(binary):
        with open(binary, "rb") as f:
            proto.ParseFromString(f.read())
    else:
        with open(os.path.join(folder, "saved_model.pbtxt"), encoding="utf-8") as f:
            text_format.Parse(f.read(), proto)
    metas = {tuple(sorted(m.meta_info_def.tags)): m for m in proto.meta_graphs}
    meta = metas.get(tuple(sorted(request.tags)))
    if meta is None:
        raise UserError(f"{folder}: no MetaGraph tagged {', '.join(request.tags)}; its tag sets: "
                        + "; ".join(", ".join(t) for t in metas))
    if request.signature not in meta.signature_def:
        raise UserError(f"{folder}: no signature {request.signature!r}; its signatures: "
                        + ", ".join(sorted(meta.signature_def)))
    signature = meta.signature_def[request.signature]
    inputs, unknown = [], []
    for key in sorted(signature.inputs):
        info = signature.inputs[key]
        dims = None if info.tensor_shape.unknown_rank else \
            [d.size for d in info.tensor_shape.dim]
        if dims is not None and dims and dims[0] == -1:
            dims[0] = 1
        if dims is None or -1 in dims:
            unknown.append(key)
        inputs.append(InputSpec(key, tuple(max(d, 0) for d in dims or ()),
                                tf.as_dtype(info.dtype).name))
    given = {s.name: s for s in request.inputs}
    extra = [n for n in given if n not in signature.inputs]
    if extra:
        raise UserError(f"--inputs: the signature {request.signature!r} has no input "
                        f"{', '.join(extra)}; its inputs: {', '.join(sorted(signature.inputs))}")
    unknown = [n for n in unknown if n not in given]
    name = os.path.basename(os.path.abspath(folder))
    return Introspection(
        "saved_model", name, file=os.path.abspath(folder),
        inputs=tuple(given.get(s.name, s) for s in inputs),
        outputs=tuple(sorted(signature.outputs)),
        unknown=f"signature inputs of unknown shape: {', '.join(unknown)}; pass --inputs "
                + " ".join(f"{n}=SHAPE:DTYPE" for n in unknown) if unknown else "")
