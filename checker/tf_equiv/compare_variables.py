"""The two structural checks: variables created once, and variables matching between the sides."""
from __future__ import annotations

import os
from collections import Counter
from typing import Sequence

from tf_equiv.compare import Outcome, _names, _shape

NAME_MAP_HINT = ("Hint: a renamed variable_scope or layer name; keep the TF1 names, or pass "
                 "name_map=lambda tf2_name: tf1_name to the Pair for a documented difference")


def _spec(v: dict) -> str:
    flag = "" if v.get("trainable", True) else " non-trainable"
    return f"{v['name']} {_shape(tuple(v['shape']))} {v['dtype']}{flag}"


def variables_match(tf1: Sequence[dict], tf2: Sequence[dict]) -> Outcome:
    """Count, names (TF2 names through name_map), shapes, dtypes and trainable flags must be equal."""
    problems: list[str] = []
    diff: list[str] = []
    dup = [n for n, c in Counter(v["name"] for v in tf2).items() if c > 1]
    if dup:
        problems.append(f"{len(dup)} names used by several TF2 variables: {_names(dup)}")
    by1 = {v["name"]: v for v in tf1}
    by2 = {v["name"]: v for v in tf2}
    only1 = [n for n in by1 if n not in by2]
    only2 = [n for n in by2 if n not in by1]
    if only2:
        problems.append(f"{len(only2)} variables only in TF2: "
                        + _names([_spec(by2[n]) for n in only2], 3))
    if only1:
        problems.append(f"{len(only1)} variables only in TF1: "
                        + _names([_spec(by1[n]) for n in only1], 3))
    changed = []
    for name in by1:
        if name in by2:
            a, b = by1[name], by2[name]
            what = [k for k in ("shape", "dtype", "trainable") if list_or(a[k]) != list_or(b[k])]
            if what:
                changed.append(name)
                diff += [f"- {_spec(a)}", f"+ {_spec(b)}   ({', '.join(what)} differ)"]
    if changed:
        problems.append(f"{len(changed)} variables differ in shape, dtype or trainable: "
                        + _names(changed, 3))
    diff = [f"- {_spec(by1[n])}" for n in only1] + [f"+ {_spec(by2[n])}" for n in only2] + diff
    if not problems:
        return Outcome("passed", f"variables_match: {len(tf1)} variables match in name, shape, "
                                 "dtype and trainable flag")
    counts = f"count TF1 {len(tf1)}, TF2 {len(tf2)}"
    hint = f". {NAME_MAP_HINT}" if (only1 and only2) else ""
    detail = "--- TF1 global_variables()\n+++ TF2 model.variables" + (
        " (through name_map)" if any(v.get("tf2_name") != v["name"] for v in tf2) else "")
    detail += "\n" + "\n".join(diff)
    return Outcome("failed", f"variables_match: {'; '.join(problems)} ({counts}){hint}",
                   detail=detail)


def list_or(value: object) -> object:
    return list(value) if isinstance(value, (list, tuple)) else value


def created_once(new: Sequence[dict]) -> Outcome:
    """Calling the TF2 model again must create no variable; name each creator's user-code line."""
    if not new:
        return Outcome("passed", "variables_created_once: the second call created no variable")
    lines = []
    for v in new:
        where = f"{os.path.basename(v['file'])}:{v['line']}" if v.get("file") else "unknown line"
        code = f"  `{v['code']}`" if v.get("code") else ""
        lines.append(f"{v['name']} {_shape(tuple(v['shape']))} created at {where}{code}")
    first = new[0]
    where = f" at {os.path.basename(first['file'])}:{first['line']}" if first.get("file") else ""
    message = (f"variables_created_once: calling the TF2 model again created {len(new)} new "
               f"variables, first {first['name']}{where}. Hint: create variables with "
               "tf.compat.v1.get_variable or a layer inside the track_tf1_style_variables call, "
               "not tf.Variable")
    return Outcome("failed", message, detail="\n".join(lines),
                   file=first.get("file") or "", line=int(first.get("line") or 0))
