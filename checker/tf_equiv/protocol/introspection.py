"""What `tf-equiv init` learns about a TF1 source in its worker (worker/introspect.py), written as
one JSON file and read back with the requests' strict decoder. No TensorFlow here."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar, Literal

from tf_equiv.protocol.requests import InputSpec, RequestError, parsed, tagged

#: "function": (inputs..., training) -> outputs; "builder": a function of no tensors that makes
#: its own tf.compat.v1.placeholder inputs; "model_fn": an Estimator model_fn;
#: "saved_model": a SavedModel folder.
SourceKind = Literal["function", "builder", "model_fn", "saved_model"]


@dataclass(frozen=True)
class Introspection:
    """A TF1 source as the worker found it; `inputs` holds the shapes known, `unknown` says why
    the others are not (empty when every input is known)."""

    kind: ClassVar[str] = "introspection"
    source_kind: SourceKind
    name: str                              # the function, or the SavedModel's folder name
    module: str = ""                       # the dotted name the function is imported by
    root: str = ""                         # the folder `module` imports from
    file: str = ""                         # the function's file, or the SavedModel folder
    parameters: tuple[str, ...] = ()       # the function's tensor parameters, in order
    training: str = ""                     # the parameter that takes the training flag
    arguments: tuple[str, ...] = ()        # a model_fn's parameters (labels, mode, params...)
    input_fn: str = ""                     # a model_fn's module-level input_fn, if any
    inputs: tuple[InputSpec, ...] = ()
    labels: tuple[InputSpec, ...] = ()     # a model_fn's labels
    unknown: str = ""
    outputs: tuple[str, ...] = ()          # the outputs a build returned, or the signature's
    tensorflow: str = ""


def write_text(result: Introspection) -> str:
    return json.dumps({"kind": result.kind, **dataclasses.asdict(result)})


def read(path: str) -> Introspection:
    """The introspection a worker wrote at `path`; RequestError names what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise RequestError(f"no introspection at {path}: {e.strerror or e}") from None
    return tagged(parsed(text, "introspection not JSON"), {"introspection": Introspection},
                  "introspection")
