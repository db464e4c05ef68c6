"""Where a pair's two optimizers compute different steps, in words, for the hint of a failing
optimizer check: the defaults that part between TF1's `tf.compat.v1.train` optimizers and Keras's
(Adagrad's epsilon, RMSProp's accumulator and epsilon, Adam's epsilon, momentum with a learning
rate that changes), and settings that simply differ. Read from the facts each side's worker
reported (worker/optimizer_facts.py), never from a message. No TensorFlow here."""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional

import numpy as np

Facts = Mapping[str, Any]

#: A Keras config holds its hyperparameters as float32: read back, they are off by this much.
_FLOAT32_ROUND_OFF = 4 * float(np.finfo(np.float32).eps)
#: The TF1 name of each Keras hyperparameter, as a user finds it in the constructors.
_TF1_NAMES = {"rho": "decay", "beta_1": "beta1", "beta_2": "beta2", "nesterov": "use_nesterov"}


def optimizer_hint(tf1: Optional[Facts], tf2: Optional[Facts]) -> str:
    """The hint for a failing optimizer check: every difference between the two optimizers that
    changes a step, "" when none is known (or a side reported no facts)."""
    found = differences(tf1 or {}, tf2 or {})
    return ("the optimizers differ: " + "; ".join(found)) if found else ""


def differences(tf1: Facts, tf2: Facts) -> list[str]:
    """Each difference in words, the ones a migration most easily misses first."""
    if not tf1.get("kind") or not tf2.get("kind"):
        return []
    one, two = f"TF1's {tf1['class']}", f"Keras's {tf2['class']}"
    if tf1["kind"] != tf2["kind"]:
        return [f"{one} and {two} apply different update rules"]
    out = _RULES.get(tf1["kind"], _none)(tf1, tf2, one, two)
    out += _rates(tf1, tf2, one, two)
    # Epsilon and the initial accumulator are said by the rules above, with their defaults.
    out += [_setting(name, tf1, tf2, one, two)
            for name in ("rho", "momentum", "beta_1", "beta_2", "centered", "nesterov")
            if name in tf1 and name in tf2 and not _same(tf1[name], tf2[name])]
    return out


def _adagrad(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    out = []
    if not _same(tf1.get("initial_accumulator"), tf2.get("initial_accumulator")):
        out.append(f"{one} starts its accumulator at {_n(tf1.get('initial_accumulator'))}, {two} "
                   f"at {_n(tf2.get('initial_accumulator'))} (initial_accumulator_value="
                   f"{_n(tf1.get('initial_accumulator'))} matches)")
    if not _same(tf2.get("epsilon"), 0.0):
        out.append(f"{one} divides by sqrt(accumulator) with no epsilon, {two} by "
                   f"sqrt(accumulator + epsilon) with epsilon={_n(tf2.get('epsilon'))} "
                   "(epsilon=0.0 matches)")
    return out


def _rmsprop(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    out = []
    if not _same(tf1.get("initial_accumulator"), tf2.get("initial_accumulator")):
        out.append(f"{one} starts its mean square (slot rms) at "
                   f"{_n(tf1.get('initial_accumulator'))}, {two} its velocity at "
                   f"{_n(tf2.get('initial_accumulator'))}, which no argument changes (assign "
                   f"{_n(tf1.get('initial_accumulator'))} to the velocity slots after "
                   "optimizer.build(variables)): the first steps differ most")
    out += _epsilon(tf1, tf2, one, two)
    return out


def _adam(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    return _epsilon(tf1, tf2, one, two)


def _momentum(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    if not (tf1.get("schedule") or tf2.get("schedule")):
        return []
    # TF1: accumulation = m * accumulation + g; variable -= rate_t * accumulation.
    # Keras: velocity = m * velocity - rate_t * g; variable += velocity.
    return [f"{one} multiplies its whole accumulator by the current learning rate, {two} "
            "(momentum) keeps each step's rate in its velocity: with a learning rate that "
            "changes (a schedule) the steps differ from the second on, with a constant one they "
            "agree"]


def _none(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    return []


_RULES: dict[str, Callable[[Facts, Facts, str, str], list[str]]] = {
    "adagrad": _adagrad, "rmsprop": _rmsprop, "adam": _adam, "momentum": _momentum}


def _epsilon(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    if _same(tf1.get("epsilon"), tf2.get("epsilon")):
        return []
    return [f"epsilon {_n(tf1.get('epsilon'))} in {one}, {_n(tf2.get('epsilon'))} in {two} "
            f"(epsilon={_n(tf1.get('epsilon'))} matches)"]


def _rates(tf1: Facts, tf2: Facts, one: str, two: str) -> list[str]:
    if bool(tf1.get("schedule")) != bool(tf2.get("schedule")):
        def rate(f: Facts) -> str:
            return "a schedule" if f.get("schedule") else f"constant {_n(f.get('learning_rate'))}"
        return [f"the learning rate is {rate(tf1)} in {one}, {rate(tf2)} in {two}"]
    if not tf1.get("schedule") and not _same(tf1.get("learning_rate"), tf2.get("learning_rate")):
        return [f"learning rate {_n(tf1.get('learning_rate'))} in {one}, "
                f"{_n(tf2.get('learning_rate'))} in {two}"]
    return []


def _setting(name: str, tf1: Facts, tf2: Facts, one: str, two: str) -> str:
    return f"{_TF1_NAMES.get(name, name)}={_n(tf1[name])} in {one}, {name}={_n(tf2[name])} in {two}"


def _same(a: Any, b: Any) -> bool:
    """Equal, or both numbers within float32's round-off (a Keras config holds float32s)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=_FLOAT32_ROUND_OFF, abs_tol=0.0)
    return a == b


def _n(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)
