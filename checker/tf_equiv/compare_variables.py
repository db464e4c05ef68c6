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
    renames = infer_renames([by1[n] for n in only1], [by2[n] for n in only2])
    hint = ""
    if renames:
        hint = f". Hint: {len(renames)} look renamed; pass {suggest_name_map(renames)}"
    elif only1 and only2:
        hint = f". {NAME_MAP_HINT}"
    detail = "--- TF1 global_variables()\n+++ TF2 model.variables" + (
        " (through name_map)" if any(v.get("tf2_name", "").removesuffix(":0") != v["name"]
                                     for v in tf2) else "")
    detail += "\n" + "\n".join(diff)
    if renames:
        detail += ("\n\nLikely renames (same shape and dtype, closest name), TF2 -> TF1:\n"
                   + "\n".join(f"  {a} -> {b}" for a, b in renames.items())
                   + f"\n\nname_map for the Pair:\n  {suggest_name_map(renames)}"
                   + "\n\nassignment map for tf.compat.v1.train.init_from_checkpoint (TF1 "
                   "checkpoint name -> TF2 variable):\n  "
                   + repr({b: a for a, b in renames.items()}))
    return Outcome("failed", f"variables_match: {'; '.join(problems)} ({counts}){hint}",
                   detail=detail)


def infer_renames(only1: Sequence[dict], only2: Sequence[dict]) -> dict:
    """{TF2 name: TF1 name} for unmatched variables of equal shape and dtype, closest names first."""
    import difflib

    candidates = sorted(
        ((difflib.SequenceMatcher(None, a["name"], b["name"]).ratio(), b["name"], a["name"])
         for a in only1 for b in only2
         if list_or(a["shape"]) == list_or(b["shape"]) and a["dtype"] == b["dtype"]),
        key=lambda c: (-c[0], c[1], c[2]))
    renames: dict = {}
    taken: set = set()
    for _, tf2_name, tf1_name in candidates:
        if tf2_name not in renames and tf1_name not in taken:
            renames[tf2_name] = tf1_name
            taken.add(tf1_name)
    return renames


def suggest_name_map(renames: dict) -> str:
    """Python for `name_map=`: one str.replace when every rename is the same, else a dict."""
    replacements = {_changed_part(a, b) for a, b in renames.items()}
    if len(replacements) == 1:
        old, new = replacements.pop()
        if old and all(a.replace(old, new) == b for a, b in renames.items()):
            return f"name_map=lambda name: name.replace({old!r}, {new!r})"
    table = {f"{a}:0": b for a, b in renames.items()}
    return f"name_map=lambda name: {table!r}.get(name, name)"


def _changed_part(tf2_name: str, tf1_name: str) -> tuple:
    """The differing middle of two names, widened to whole path segments: ('enc_v2/', 'enc/')."""
    a, b = tf2_name.split("/"), tf1_name.split("/")
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    old = "/".join(a[start:len(a) - end])
    new = "/".join(b[start:len(b) - end])
    tail = "/" if end else ""
    head = "/" if start and not end else ""
    return head + old + tail, head + new + tail


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
