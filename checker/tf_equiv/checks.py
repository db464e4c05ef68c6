"""The check vocabulary (CONTRACT section 2) and which checks apply to a pair. No TensorFlow here."""
from __future__ import annotations

import fnmatch
from typing import Iterable, Literal, Sequence, get_args

CheckId = Literal[
    "variables_created_once",
    "variables_match",
    "constant_inference",
    "transferred_inference",
    "random_inference[num_random_ops]",
    "random_inference[constant]",
    "random_training[num_random_ops]",
    "random_training[constant]",
    "functional_training[constant]",
    "gradients",
    "optimizer_steps",
    "checkpoint_inference",
    "tf_function",
]

#: Every check id, in the order checks are reported.
ALL_CHECKS: tuple = get_args(CheckId)

#: Checks this version of the engine runs.
IMPLEMENTED: frozenset = frozenset(ALL_CHECKS[:10]) | {"tf_function", "checkpoint_inference",
                                                          "optimizer_steps"}

#: Checks that need a Pair field to apply, and that field.
NEEDS_FIELD = {"optimizer_steps": "optimizers", "checkpoint_inference": "checkpoint"}


def expand(patterns: Iterable[str]) -> tuple[list[str], list[str]]:
    """Expand check ids or globs into check ids (report order); also return patterns matching none."""
    patterns = list(patterns)
    chosen = [c for c in ALL_CHECKS if any(_match(c, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(_match(c, p) for c in ALL_CHECKS)]
    return chosen, unmatched


def _match(check: str, pattern: str) -> bool:
    # Check ids contain brackets, which fnmatch reads as character classes: try the literal first.
    return check == pattern or fnmatch.fnmatchcase(check, pattern.replace("[", "[[]"))


def plan(selected: Sequence[str] | None, present_fields: Iterable[str]) -> list[tuple[str, str | None]]:
    """The checks a pair runs, each with a skip reason or None.

    Without a selection: every implemented check whose required field is set. A check named explicitly
    that cannot run here is kept, skipped with the reason, so the user sees why it did not run.
    """
    present = set(present_fields)
    if selected is None:
        return [(c, None) for c in ALL_CHECKS
                if c in IMPLEMENTED and (c not in NEEDS_FIELD or NEEDS_FIELD[c] in present)]
    out: list[tuple[str, str | None]] = []
    for check in expand(selected)[0]:
        reason = None
        if check in NEEDS_FIELD and NEEDS_FIELD[check] not in present:
            reason = f"needs Pair({NEEDS_FIELD[check]}=...)"
        elif check not in IMPLEMENTED:
            reason = "not available in this version of tf-equiv"
        out.append((check, reason))
    return out


#: The grappler passes `--grappler-off` accepts (their RewriterConfig field names).
GRAPPLER_PASSES = ("arithmetic_optimization", "constant_folding", "remapping", "layout_optimizer",
                   "dependency_optimization", "loop_optimization", "shape_optimization",
                   "function_optimization", "debug_stripper")
