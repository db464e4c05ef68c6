"""The two structural checks: variables created once, and variables matching between the sides."""
from __future__ import annotations

import difflib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from tf_equiv.results import compose
from tf_equiv.verdict.compare import Outcome, _names, _shape

#: {TF2 variable name: TF1 variable name}.
Renames = dict[str, str]
#: {TF2 variable name: [equally plausible TF1 variable names]}.
Ambiguous = dict[str, list[str]]
#: A variable as a side describes it (worker.both_sides.variable_spec): name, shape, dtype, ...
VariableSpec = dict[str, Any]
#: score[TF2 index][TF1 index]: how plausible the rename is (a float), None where it is not
#: allowed. Any, not Optional[float]: the code tests each cell for None where it reads it, which
#: mypy cannot follow through an index.
Score = list[list[Any]]

NAME_MAP_HINT = ("a renamed variable_scope or layer name; keep the TF1 names, or pass "
                 "name_map=lambda tf2_name: tf1_name to the Pair for a documented difference")


def _spec(v: VariableSpec) -> str:
    flag = "" if v.get("trainable", True) else " non-trainable"
    return f"{v['name']} {_shape(tuple(v['shape']))} {v['dtype']}{flag}"


def variables_match(tf1: Sequence[VariableSpec], tf2: Sequence[VariableSpec]) -> Outcome:
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
    if not problems and not tf1:
        # As a comparison of no outputs: equal empty lists prove nothing about a migration.
        statement = ("vacuous: neither side has a variable (TF1 global_variables() and TF2 "
                     "model.variables are empty), so nothing was proven")
        hint = ("a model without variables has nothing for this check to match; leave "
                "variables_match out with Pair(checks=[...])")
        words = compose(statement, hint=hint)
        return Outcome("failed", f"variables_match: {words}", cause="vacuous",
                       statement=statement, hint=hint, words=words)
    if not problems:
        words = f"{len(tf1)} variables match in name, shape, dtype and trainable flag"
        return Outcome("passed", f"variables_match: {words}", words=words)
    counts = f"count TF1 {len(tf1)}, TF2 {len(tf2)}"
    found = suggest(tf1, tf2, [by1[n] for n in only1], [by2[n] for n in only2])
    hint = ""
    if found.code:
        hint = f"{len(found.renames)} look renamed; pass {found.code}"
        if found.ambiguous:
            hint += f" ({len(found.ambiguous)} more are ambiguous, see below)"
    elif found.ambiguous:
        hint = (f"{len(found.ambiguous)} look renamed, but each has several same-shape "
                "candidates: not guessed, see below")
    elif only1 and only2:
        hint = NAME_MAP_HINT
    detail = "--- TF1 global_variables()\n+++ TF2 model.variables" + (
        " (through name_map)" if any(v.get("tf2_name", "").removesuffix(":0") != v["name"]
                                     for v in tf2) else "")
    detail += "\n" + "\n".join(diff)
    if found.renames:
        how = ("one rule renames every one of them" if found.rule else
               "same shape and dtype, closest path")
        detail += (f"\n\nLikely renames ({how}), TF2 -> TF1:\n"
                   + "\n".join(f"  {a} -> {b}" for a, b in found.renames.items())
                   + f"\n\nname_map for the Pair:\n  {found.code}"
                   + "\n\nassignment map for tf.compat.v1.train.init_from_checkpoint (TF1 "
                   "checkpoint name -> TF2 variable):\n  "
                   + repr({b: a for a, b in found.renames.items()}))
    if found.ambiguous:
        detail += ("\n\nAmbiguous (equally plausible same-shape candidates; pick by hand), "
                   "TF2 -> TF1 candidates:\n"
                   + "\n".join(f"  {a} -> {' or '.join(c)}" for a, c in found.ambiguous.items()))
    statement = f"{'; '.join(problems)} ({counts})"
    words = compose(statement, hint=hint)
    return Outcome("failed", f"variables_match: {words}", detail=detail, statement=statement,
                   hint=hint, words=words)


@dataclass(frozen=True)
class Suggestion:
    """What variables_match suggests for unmatched names: `code` to paste (`name_map=...`), the
    renames it makes, whether one rule explains them all, and names it will not guess."""

    code: str = ""
    renames: Renames = field(default_factory=dict)      # TF2 name -> TF1 name
    rule: bool = False
    ambiguous: Ambiguous = field(default_factory=dict)  # TF2 name -> [equally good TF1 names]


def suggest(tf1: Sequence[VariableSpec], tf2: Sequence[VariableSpec], only1: Sequence[VariableSpec],
            only2: Sequence[VariableSpec]) -> Suggestion:
    """One rewrite rule that maps every TF2 name onto a TF1 variable of the same shape and dtype
    when there is one; else a global assignment by path and shape, ties left unguessed."""
    if not only1 or not only2:
        return Suggestion()
    rule = find_rule(tf1, tf2, only1, only2)
    if rule is not None:
        return Suggestion(*rule, rule=True)
    renames, ambiguous = assign_renames(only1, only2)
    return Suggestion(suggest_name_map(renames) if renames else "", renames, False, ambiguous)


def _compatible(a: VariableSpec, b: VariableSpec) -> bool:
    return list_or(a["shape"]) == list_or(b["shape"]) and a["dtype"] == b["dtype"]


def _rule_candidates(tf2_name: str, tf1_name: str) -> list[str]:
    """Python expressions in `name` (a TF2 variable name, ":0" included) that turn this TF2 name
    into the TF1 one by rewriting whole path segments: a prefix added, removed or replaced, or a
    scope renamed in the middle."""
    a, b = tf2_name.split("/"), tf1_name.split("/")
    p = 0
    while p < min(len(a), len(b)) - 1 and a[p] == b[p]:
        p += 1
    q = 0
    while q < min(len(a), len(b)) - p and a[-1 - q] == b[-1 - q]:
        q += 1
    old, new = "/".join(a[p:len(a) - q]), "/".join(b[p:len(b) - q])
    out = []
    if p == 0 and q:
        if not old:
            out.append(f"{new + '/'!r} + name")
        elif not new:
            out.append(f"name.removeprefix({old + '/'!r})")
        else:
            out.append(f"name.replace({old + '/'!r}, {new + '/'!r})")
            out.append(f"{new + '/'!r} + name.removeprefix({old + '/'!r}) "
                       f"if name.startswith({old + '/'!r}) else name")
    elif p and q:
        # Widen an inserted or removed scope by the segment before it, so that it has an anchor.
        if not old or not new:
            old, new = "/".join(a[p - 1:len(a) - q]), "/".join(b[p - 1:len(b) - q])
        out.append(f"name.replace({'/' + old + '/'!r}, {'/' + new + '/'!r})"
                   if p > 1 or not (old and new) else f"name.replace({old + '/'!r}, {new + '/'!r})")
        out.append(f"name.replace({old + '/'!r}, {new + '/'!r})")
    return out


def _apply(expression: str, name: str) -> Optional[str]:
    try:
        mapped = eval(f"lambda name: {expression}")(f"{name}:0")   # our own expression
    except Exception:  # an expression that does not fit this name
        return None
    return mapped.removesuffix(":0") if isinstance(mapped, str) else None


def find_rule(tf1: Sequence[VariableSpec], tf2: Sequence[VariableSpec], only1: Sequence[VariableSpec],
              only2: Sequence[VariableSpec]) -> Optional[tuple[str, Renames]]:
    """(code, renames) of the shortest rule that sends every TF2 variable, matched or not, to a
    distinct TF1 variable of the same shape and dtype; None when no rule does."""
    by1 = {v["name"]: v for v in tf1}
    tried: set[str] = set()
    found = []
    for b in only2:
        for a in only1:
            if not _compatible(a, b):
                continue
            for expression in _rule_candidates(b["name"], a["name"]):
                if expression in tried:
                    continue
                tried.add(expression)
                mapped = {v["name"]: _apply(expression, v["name"]) for v in tf2}
                targets = list(mapped.values())
                if all(t in by1 and _compatible(by1[t], v) for t, v in zip(targets, tf2)) \
                        and len(set(targets)) == len(targets):
                    found.append((len(expression), expression, mapped))
        if len(tried) > 200:
            break
    if not found:
        return None
    _, expression, mapped = min(found, key=lambda f: (f[0], f[1]))
    # Every target is a TF1 name (checked above): none is None.
    renames = {b: a for b, a in mapped.items() if a is not None and a != b}
    return f"name_map=lambda name: {expression}", renames


#: Leaf names that mean the same variable in TF1 (slim, compat.v1 layers) and Keras.
SYNONYMS = {frozenset({"weights", "kernel"}), frozenset({"biases", "bias"}),
            frozenset({"depthwise_weights", "depthwise_kernel"})}


def plausibility(tf2_name: str, tf1_name: str) -> float:
    """How alike two variable paths are, by components: the leaf (the variable's role) counts
    most, then the scopes, token by token and character by character."""
    a, b = tf2_name.split("/"), tf1_name.split("/")
    leaf = 1.0 if a[-1] == b[-1] or frozenset({a[-1], b[-1]}) in SYNONYMS else \
        0.5 * difflib.SequenceMatcher(None, a[-1], b[-1]).ratio()
    scopes = difflib.SequenceMatcher(None, a[:-1], b[:-1]).ratio()
    chars = difflib.SequenceMatcher(None, "/".join(a[:-1]), "/".join(b[:-1])).ratio()
    return round(2 * leaf + scopes + chars, 9)


#: Assignments whose totals differ by less than this are equally plausible: a few characters of
#: a name (`dense` vs `dense_1` against `layer1` vs `layer2`) are no evidence for either.
TIE_MARGIN = 0.25


def assign_renames(only1: Sequence[VariableSpec],
                   only2: Sequence[VariableSpec]) -> tuple[Renames, Ambiguous]:
    """({TF2: TF1} renames, {TF2: [TF1 candidates]} ties) by the assignment of highest total
    plausibility among same-shape, same-dtype pairs. A TF2 name that an assignment of about the
    same total would send elsewhere is a tie: listed, not guessed. The scopes of the sure renames
    then vouch for their siblings (`conv2d/kernel -> block/conv1/weights` places `conv2d/bias`
    in `block/conv1`), and the assignment is made again with that evidence."""
    names2, names1 = [v["name"] for v in only2], [v["name"] for v in only1]
    base = [[plausibility(b["name"], a["name"]) if _compatible(a, b) else None for a in only1]
            for b in only2]
    renames, ambiguous = _assign(base, names1, names2)
    scopes: dict[str, set[str]] = {}
    for b, a in renames.items():
        scopes.setdefault(_scope(b), set()).add(_scope(a))
    vouched = {s2: next(iter(s1)) for s2, s1 in scopes.items() if len(s1) == 1}
    if ambiguous and vouched:
        score = [[None if x is None else x + (2.0 if vouched.get(_scope(n2)) == _scope(n1)
                                              else 0.0)
                  for x, n1 in zip(row, names1)] for row, n2 in zip(base, names2)]
        renames, ambiguous = _assign(score, names1, names2)
    return renames, ambiguous


def _scope(name: str) -> str:
    return name.rpartition("/")[0]


def _assign(score: Score, names1: list[str], names2: list[str]) -> tuple[Renames, Ambiguous]:
    chosen = _best_assignment(score)
    renames: Renames = {}
    ambiguous: Ambiguous = {}
    for i, j in chosen.items():
        rivals = [k for k in range(len(names1)) if k != j and score[i][k] is not None
                  and _swap_loses_little(score, chosen, i, j, k)]
        if rivals:
            ambiguous[names2[i]] = [names1[j]] + [names1[k] for k in rivals]
        else:
            renames[names2[i]] = names1[j]
    return renames, ambiguous


def _swap_loses_little(score: Score, chosen: dict[int, int], i: int, j: int, k: int) -> bool:
    """Whether giving TF1 name k to TF2 name i (and j to whoever had k) costs under TIE_MARGIN."""
    holder = next((h for h, col in chosen.items() if col == k), None)
    if holder is None:
        return score[i][j] - score[i][k] < TIE_MARGIN
    if score[holder][j] is None:
        return False
    return score[i][j] + score[holder][k] - score[i][k] - score[holder][j] < TIE_MARGIN


def _best_assignment(score: Score) -> dict[int, int]:
    """{row: column} maximizing the total score over allowed (not None) cells: the Hungarian
    method on the rows and columns, with forbidden cells priced out."""
    rows, cols = len(score), len(score[0]) if score else 0
    if not rows or not cols:
        return {}
    n = max(rows, cols)
    big = 1e6
    cost = [[big if r >= rows or c >= cols or score[r][c] is None else -score[r][c]
             for c in range(n)] for r in range(n)]
    u, v, p, way = [0.0] * (n + 1), [0.0] * (n + 1), [0] * (n + 1), [0] * (n + 1)
    for r in range(1, n + 1):
        p[0], j0 = r, 0
        minv, used = [float("inf")] * (n + 1), [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], float("inf"), 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    out = {}
    for j in range(1, n + 1):
        r, c = p[j] - 1, j - 1
        if r < rows and c < cols and score[r][c] is not None:
            out[r] = c
    return out


def infer_renames(only1: Sequence[VariableSpec], only2: Sequence[VariableSpec]) -> Renames:
    """{TF2 name: TF1 name} for unmatched variables of equal shape and dtype that are not tied."""
    return assign_renames(only1, only2)[0]


def suggest_name_map(renames: Renames) -> str:
    """Python for `name_map=`: one str.replace when every rename is the same, else a dict."""
    for expression in dict.fromkeys(e for a, b in renames.items() for e in _rule_candidates(a, b)):
        if all(_apply(expression, a) == b for a, b in renames.items()):
            return f"name_map=lambda name: {expression}"
    table = {f"{a}:0": b for a, b in renames.items()}
    return f"name_map=lambda name: {table!r}.get(name, name)"


def list_or(value: object) -> object:
    return list(value) if isinstance(value, (list, tuple)) else value


def created_once(new: Sequence[VariableSpec]) -> Outcome:
    """Calling the TF2 model again must create no variable; name each creator's user-code line."""
    if not new:
        words = "the second call created no variable"
        return Outcome("passed", f"variables_created_once: {words}", words=words)
    lines = []
    for v in new:
        where = f"{os.path.basename(v['file'])}:{v['line']}" if v.get("file") else "unknown line"
        code = f"  `{v['code']}`" if v.get("code") else ""
        lines.append(f"{v['name']} {_shape(tuple(v['shape']))} created at {where}{code}")
    first = new[0]
    where = f" at {os.path.basename(first['file'])}:{first['line']}" if first.get("file") else ""
    statement = (f"calling the TF2 model again created {len(new)} new variables, first "
                 f"{first['name']}{where}")
    hint = ("create variables with tf.compat.v1.get_variable or a layer inside the "
            "track_tf1_style_variables call, not tf.Variable")
    words = compose(statement, hint=hint)
    return Outcome("failed", f"variables_created_once: {words}", words=words,
                   detail="\n".join(lines), file=first.get("file") or "",
                   line=int(first.get("line") or 0), statement=statement, hint=hint)
