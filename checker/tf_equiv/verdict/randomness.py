"""Random regimes: why their draws differ (the randomness audit's notes, the initializer hints)
and when a random regime cannot apply at all. No TensorFlow here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from tf_equiv.results import AUDIT, compose

UNALIGNED_HINT = (
    "same distribution (TF1 mean {m1:.3g} std {s1:.3g}, TF2 mean {m2:.3g} std {s2:.3g}), "
    "different draws: this variable's initializer likely draws random numbers that "
    "DeterministicRandomTestTool cannot align between the sides (tf.compat.v1.layers.dense's "
    "default kernel initializer is one; an explicit tf.compat.v1.glorot_uniform_initializer() "
    "aligns). transferred_inference, which copies the TF1 values into the TF2 model, is the check "
    "that still applies")
CHANGED_HINT = ("the distributions differ (TF1 mean {m1:.3g} std {s1:.3g}, TF2 mean {m2:.3g} std "
                "{s2:.3g}): the migrated code likely initializes this variable differently")
SHIFTED_HINT = (
    "same distribution (TF1 mean {m1:.3g} std {s1:.3g}, TF2 mean {m2:.3g} std {s2:.3g}), "
    "different draws: the shifted op seeds explain them. Make both sides create the same random "
    "ops in the same order; transferred_inference, which copies the TF1 values into the TF2 model, "
    "still applies")
SEEDED_ORDER_HINT = (
    "make both sides create the same random ops in the same order (a draw added, left over "
    "or removed; a TF1 tf.cond creates the random ops of both branches, eager TF2 runs one)")
UNSEEDED_HINT = (
    "where TF1 draws with a stateful op, draw with one too (tf.random.uniform, "
    "tf.random.normal, tf.nn.dropout, a tf.compat.v1 initializer such as "
    "tf.compat.v1.glorot_uniform_initializer()), at least while validating")


def initializer_hint(tf1: np.ndarray, tf2: np.ndarray, shifted: bool = False) -> str:
    """Tell a changed initializer from unaligned draws of the same one, by their first moments
    (a hint, without "Hint: "); `shifted`: the randomness audit found the op seeds shifted
    between the sides."""
    m1, s1, m2, s2 = (float(f(x)) for x in (tf1, tf2) for f in (np.mean, np.std))
    template = (SHIFTED_HINT if shifted else UNALIGNED_HINT) if same_distribution(tf1, tf2) \
        else CHANGED_HINT
    return template.format(m1=m1, s1=s1, m2=m2, s2=s2)


def same_distribution(tf1: np.ndarray, tf2: np.ndarray) -> bool:
    """Whether two draws look like one distribution by their first two moments: each moment's
    difference within six standard errors of that difference, estimated from the samples (the
    standard deviation's from their kurtosis, so uniform and normal draws are judged alike).

    Six standard errors: two draws of one initializer are told apart about once in 5e8, so a
    correct migration is never called a changed initializer by chance (four standard errors of
    each moment alone did so for about one variable in 200), while a changed initializer moves
    a moment by many more."""
    a, b = (np.asarray(x, np.float64).ravel() for x in (tf1, tf2))
    if not a.size or not b.size:
        return a.size == b.size
    m1, s1, m2, s2 = float(a.mean()), float(a.std()), float(b.mean()), float(b.std())
    if not s1 or not s2:
        return s1 == s2 and m1 == m2
    kurtosis = [float(np.mean(((x - m) / s) ** 4)) for x, m, s in ((a, m1, s1), (b, m2, s2))]
    se_mean = np.sqrt(s1 ** 2 / a.size + s2 ** 2 / b.size)
    se_std = np.sqrt((kurtosis[0] - 1) * s1 ** 2 / (4 * a.size)
                     + (kurtosis[1] - 1) * s2 ** 2 / (4 * b.size))
    return bool(abs(m1 - m2) <= 6 * se_mean and abs(s1 - s2) <= 6 * se_std)


def unalignable(check: str, records: Sequence, tf1: dict, tf2: dict, arrays1: Mapping,
                arrays2: Mapping) -> Optional[str]:
    """Why a random_* check cannot apply, or None: every initial value that differs is drawn, on
    one side at least, by an op DeterministicRandomTestTool cannot seed (a stateless initializer
    such as tf_keras's default GlorotUniform, which tf.compat.v1.layers uses too), with the same
    distribution on both sides. The draws then cannot agree however right the migration is."""
    differing = [r.name[len("initial/"):] for r in records if not r and r.name.startswith("initial/")]
    audits = [meta.get("random_ops", {}).get("draws", []) for meta in (tf1, tf2)]
    if not differing or not all(audits):
        return None
    sources = []
    for variable in differing:
        own = (variable, tf2.get("tf2_names", {}).get(variable, variable))
        found = [next((d for d in audit if _draws(d, name)), None)
                 for audit, name in zip(audits, own)]
        draws = [d for d in found if d is not None]
        key = f"initial/{variable}"
        if len(draws) < len(found) or all(d["seeded"] for d in draws) \
                or not _same_initializer(draws, arrays1[key], arrays2[key]):
            return None
        sources += [_draw(d) for d in draws if not d["seeded"]]
    return (f"{check}: not applicable: {len(differing)} initial values ({_names_of(differing)}) "
            "are drawn by ops DeterministicRandomTestTool cannot seed, with the same "
            f"distribution on both sides (first: {sources[0]}), so no two runs can agree on "
            "them. transferred_inference, gradients and tf_function compare this model at TF1's "
            "own values. Hint: to compare the random regimes too (dropout masks), give both "
            "sides a stateful initializer while validating, e.g. "
            "tf.compat.v1.glorot_uniform_initializer()")


def _same_initializer(draws: list, tf1: np.ndarray, tf2: np.ndarray) -> bool:
    """Both draws by the same kind of op of one shape, from the same initializer where the audit
    names it, and alike in distribution where there are enough numbers to tell (a 3x2 kernel's
    six numbers are too few for its moments to say anything)."""
    a, b = draws
    if a["type"] != b["type"] or not _shapes_agree(a["shape"], b["shape"]):
        return False
    if a.get("source") and b.get("source") and a["source"] != b["source"]:
        return False
    return tf1.size < 30 or same_distribution(tf1, tf2)


def _names_of(names: Sequence[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f", +{len(names) - limit} more" if len(names) > limit
                                       else "")


@dataclass(frozen=True)
class RandomOps:
    """What the sides' randomness audits say, as CaseResult carries it."""

    audit: str          # CaseResult.audit: the random ops, and where the draws stop lining up
    hint: str = ""      # what to change, when no initial value explains the difference
    shifted: bool = False


def random_ops_note(check: str, tf1: dict, tf2: dict, variable: str) -> tuple[str, bool]:
    """(text, shifted): random_ops in the words a message says them ("", False without an
    audit)."""
    found = random_ops(check, tf1, tf2, variable)
    if found is None:
        return "", False
    return compose(AUDIT + found.audit, hint=found.hint), found.shifted


def random_ops(check: str, tf1: dict, tf2: dict, variable: str) -> Optional[RandomOps]:
    """The sides' randomness audits (their checks' `random_ops` metadata), or None without one:
    each side's random ops, those DeterministicRandomTestTool cannot align, and where the sides'
    draws stop lining up. `variable`: the first diverging initial value, if any (initializer_hint
    then follows, and `shifted` says whether a moved op seed, not an unaligned op, drew it)."""
    audits = {side: meta["random_ops"] for side, meta in (("TF1", tf1), ("TF2", tf2))
              if meta.get("random_ops")}
    if not audits:
        return None
    parts = ["; ".join(f"{side} {_ops_summary(a)}" for side, a in audits.items())]
    unseeded = [f"{side} {_draw(d)}" for side, a in audits.items() for d in a["draws"]
                if not d["seeded"]]
    more = sum(a["unseeded"] for a in audits.values()) - 3
    parts += ["Not aligned by DeterministicRandomTestTool, which seeds only the stateful ops that "
              "ask tf.random for a seed: " + ", ".join(unseeded[:3])
              + (f", +{more} more" if more > 0 else "")] if unseeded else []
    if len(audits) < 2:
        return RandomOps(". ".join(parts))
    seq1, seq2 = audits["TF1"]["draws"], audits["TF2"]["draws"]
    mode = check[check.find("[") + 1:-1]
    order = _order_notes(mode, seq1, seq2, audits["TF1"]["count"], audits["TF2"]["count"])
    i1 = next((i for i, d in enumerate(seq1) if _draws(d, variable)), None)
    # The TF2 audit names ops by the TF2 scopes: look the variable up by its own TF2 name.
    own = tf2.get("tf2_names", {}).get(variable, variable)
    i2 = next((i for i, d in enumerate(seq2) if _draws(d, own)), i1)
    shifted = False
    if mode == "num_random_ops" and i1 is not None and i2 is not None and i2 < len(seq2):
        shifted = bool(seq1[i1]["seeded"] and seq2[i2]["seeded"]
                       and _seed(seq1, i1) != _seed(seq2, i2))
        if shifted and not order and i1 != i2:
            # Same ops, same shapes, another order: each draw gets the other's seed.
            order = [f"The sides create their random ops in another order: {variable} is drawn "
                     f"at draw {i1 + 1} on TF1 and at draw {i2 + 1} on TF2"]
    parts += order or ([] if unseeded else [
        "Every one is seeded by DeterministicRandomTestTool and they line up between the sides, "
        "so the random numbers themselves should agree"])
    hint = (UNSEEDED_HINT if unseeded else SEEDED_ORDER_HINT) \
        if not variable and (unseeded or order) else ""
    return RandomOps(". ".join(parts), hint, shifted)


def _order_notes(mode: str, seq1: list, seq2: list, n1: int, n2: int) -> list[str]:
    """Where the sides' draws stop lining up: another op at a draw, a draw one side lacks (by
    shape), and (num_random_ops) the op seeds a draw the tool does not seed leaves shifted."""
    at = next((i for i, (a, b) in enumerate(zip(seq1, seq2))
               if not _shapes_agree(a["shape"], b["shape"])), min(len(seq1), len(seq2)))
    both = [i for i in range(at) if seq1[i]["seeded"] and seq2[i]["seeded"]]
    notes = [f"Draw {i + 1} is another op: TF1 {_draw(seq1[i])}, TF2 {_draw(seq2[i])}"
             for i in both if seq1[i]["type"] != seq2[i]["type"]][:1]
    if n1 != n2 or not at == len(seq1) == len(seq2):
        more = f"{'TF2' if n2 > n1 else 'TF1'} creates {abs(n2 - n1)} more random " \
            f"op{'s' if abs(n2 - n1) > 1 else ''}; the" if n1 != n2 else "The"
        notes.append(
            f"{more} sides' random ops part ways at draw {at + 1}: TF1 "
            f"{_draw(seq1[at] if at < len(seq1) else None)}, TF2 "
            f"{_draw(seq2[at] if at < len(seq2) else None)}: " + (
                "in num_random_ops mode an op's seed is its position among the ops the tool "
                "seeds, so the later draws may get other seeds" if mode == "num_random_ops" else
                "constant mode seeds every op alike, so the later draws still align"))
    moved = next((i for i in both if _seed(seq1, i) != _seed(seq2, i)), None)
    if mode == "num_random_ops" and moved is not None:
        notes.append(f"In num_random_ops mode draw {moved + 1} ({_draw(seq1[moved])}) gets op "
                     f"seed {_seed(seq1, moved)} on TF1 but {_seed(seq2, moved)} on TF2, and so "
                     "do the later draws: an op the tool does not seed takes no op seed")
    return notes


def _seed(draws: list, i: int) -> int:
    """The op seed num_random_ops mode gives draw `i`: how many seeded draws came before it."""
    return sum(d["seeded"] for d in draws[:i])


def _draws(d: dict, variable: str) -> bool:
    """Whether draw `d` initializes `variable` (its op sits under the variable's name)."""
    return bool(variable) and (d["name"] == variable or d["name"].startswith(variable + "/"))


def _ops_summary(audit: dict) -> str:
    """`3 (RandomUniform x2 at a, b; StatelessRandomUniformV2 x1 at c)`, names capped."""
    by_type: dict[str, list[str]] = {}
    for d in audit["draws"]:
        by_type.setdefault(d["type"], []).append(d["name"] or "(no name scope)")
    groups = [f"{t} x{len(names)} at " + ", ".join(names[:2])
              + (f", +{len(names) - 2} more" if len(names) > 2 else "")
              for t, names in list(by_type.items())[:4]]
    groups += [f"+{len(by_type) - 4} more types"] if len(by_type) > 4 else []
    groups += [f"audit stopped: {audit['broken']}"] if audit.get("broken") else []
    return f"{audit['count']} ({'; '.join(groups)})" if groups else "none"


def _draw(d: Optional[dict]) -> str:
    if d is None:
        return "none"
    shape = d["shape"]
    dims = "" if shape is None else " (" + ", ".join("?" if n is None else str(n) for n in shape) \
        + ("," if len(shape) == 1 else "") + ")"
    return f"{d['type']}{dims} at {d['name'] or '(no name scope)'}" \
        + (f" from {d['source']}" if d["source"] else "") + (f" ({d['site']})" if d["site"] else "")


def _shapes_agree(a: Optional[list], b: Optional[list]) -> bool:
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))
