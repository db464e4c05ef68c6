"""Nested structures of tensors or arrays (tuples, lists, dicts, namedtuples): mapped leaf by
leaf, and flattened to (path, leaf) pairs whose paths name the records."""
from __future__ import annotations

from typing import Any, Callable, Iterator


def map_nested(value: Any, fn: Callable[[Any], Any]) -> Any:
    """Map leaves of tuples, lists and dicts (dict order kept), keeping the structure."""
    if isinstance(value, dict):
        return {k: map_nested(v, fn) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(map_nested(v, fn) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(map_nested(v, fn) for v in value)
    return fn(value)


def flatten(value: Any, prefix: str = "outputs") -> Iterator[tuple[str, Any]]:
    """(path, leaf) pairs in structure order: dicts as inserted, tuples and lists by index."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}/{k}")
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from flatten(v, f"{prefix}/{i}")
    elif value is not None:
        yield prefix, value
