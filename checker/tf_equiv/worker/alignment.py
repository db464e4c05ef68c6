"""What the TF2 localization worker computes about the two graphs' ops, in plain Python and numpy
(no TensorFlow): tensor statistics, the name prefix that aligns TF2's ops with TF1's, and the
blocks ops belong to."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional, Sequence

import numpy as np


def stats(array: np.ndarray) -> dict:
    """Summary statistics of one tensor over its finite elements, and how many are not finite."""
    a = np.asarray(array)
    if a.dtype.kind not in "fc" or a.size == 0:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "nonfinite": 0}
    finite = np.isfinite(a)
    values = a[finite].astype(np.float64) if not finite.all() else a.astype(np.float64)
    if values.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "min": float("nan"),
                "max": float("nan"), "nonfinite": int(a.size)}
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "nonfinite": int(a.size - values.size)}


def align(tf1_ops: Sequence[str], tf2_ops: Iterable[str]) -> tuple[str, dict]:
    """(prefix, {TF1 op: TF2 op}): TF2 op names carry the Keras layer's name scope in front of
    TF1's (`migrated/net/out/MatMul` for `net/out/MatMul`); the prefix most ops share wins."""
    prefixes: dict = {}
    for name in tf2_ops:
        parts = name.split("/")
        for i in range(len(parts)):
            prefixes.setdefault("/".join(parts[i:]), []).append("/".join(parts[:i]))
    votes = Counter(p for op in tf1_ops for p in set(prefixes.get(op, ())))
    if not votes:
        return "", {}
    prefix = min(votes, key=lambda p: (-votes[p], len(p)))
    lead = prefix + "/" if prefix else ""
    return prefix, {op: lead + op for op in tf1_ops if prefix in prefixes.get(op, ())}


def block_of(op: str, ops: Sequence[str]) -> str:
    """The block an op belongs to: along its scope path, the child of the scope that holds the
    most sub-scopes (`net` holds block1..3, inception's `InceptionV3/InceptionV3` its Mixed
    blocks), so `net/block2` for `net/block2/conv/Conv2D`; the op itself in a flat graph."""
    parts = op.split("/")
    paths = [o.split("/") for o in ops]
    best, depth = 2, len(parts) - 1         # a scope with one sub-scope splits nothing
    for k in range(len(parts) - 1):
        children = {p[k] for p in paths if len(p) > k + 1 and p[:k] == parts[:k]}
        if len(children) >= best:           # a tie goes to the deeper, finer blocks
            best, depth = len(children), k
    return "/".join(parts[:depth + 1])


def in_block(op: str, block: str) -> bool:
    return op == block or op.startswith(block + "/")


def culprit(first: dict, shadow: dict, earliest: Optional[dict], ops: Sequence[str]) -> dict:
    """{"op", "block"}: the op to fix and the block holding it ("" outside any block). Not the
    first divergent op's block: all its aligned inputs agree, so what differs is an input one
    side lacks (a sigmoid for a tanh at the end of the block before), else, when shadow mode
    blames what entered the block, the earliest op that differs at all, else the op itself."""
    unaligned = first.get("tf2_only_inputs") or first.get("tf1_only_inputs") or []
    if unaligned:
        # One inside a block tells the user more than a bare op outside every scope.
        op = next((o for o in unaligned if _block(o, ops)), unaligned[0])
    elif shadow.get("status") == "matches" and earliest:
        op = earliest["op"]
    else:
        op = first["op"]
    return {"op": op, "block": _block(op, ops)}


def _block(op: str, ops: Sequence[str]) -> str:
    name = op.split(":", 1)[0]          # `b1/split:1`: an op's second output
    block = block_of(name, ops)
    return "" if block == name else block


# --- the report ---------------------------------------------------------------------------------
