"""The pair's inputs as the checks use them: resolved to nested numpy arrays, and their digest."""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from tf_equiv.worker.nested import flatten, map_nested
from tf_equiv.worker.user_code import UserError, call_user


def resolve_inputs(pair: Any) -> Any:
    """The pair's inputs as nested numpy arrays (calling `inputs` when it is a function); a leaf
    that is no array (a generator, an arbitrary object) is an error naming the field."""
    value = call_user("inputs()", pair.inputs) if callable(pair.inputs) else pair.inputs
    arrays = map_nested(value, np.asarray)
    for path, leaf in flatten(arrays, "inputs"):
        if leaf.dtype.kind == "O":
            found = leaf.item() if leaf.ndim == 0 else next(
                (v for v in leaf.ravel().tolist() if not isinstance(v, (int, float, bool))),
                leaf.ravel()[0])
            where = "" if path == "inputs" else f" at {path}"
            raise UserError("inputs: expected arrays or a nested structure of arrays (tuples, "
                            f"lists, dicts), got {type(found).__name__}{where}")
    if not any(True for _ in flatten(arrays, "inputs")):
        raise UserError("inputs: expected arrays or a nested structure of arrays, got an empty "
                        "structure")
    return arrays


def inputs_sha256(inputs: Any) -> str:
    """A digest of the inputs (names, dtypes, shapes and bytes), to tell stale stored records."""
    digest = hashlib.sha256()
    for name, array in flatten(inputs, "inputs"):
        array = np.ascontiguousarray(array)
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
