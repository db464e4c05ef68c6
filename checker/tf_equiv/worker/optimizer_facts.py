"""What an optimizer is, as facts the parent can compare without TensorFlow: its kind (the update
rule), learning rate (a number, or a schedule) and the hyperparameters whose TF1 and Keras
defaults differ. The TF1 side reads them from a `tf.compat.v1.train.Optimizer`'s own attributes,
the TF2 side from a Keras optimizer's `get_config()`; verdict/optimizers.py compares them."""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf

#: TF1 optimizer classes by the update rule they implement (subclasses included).
_TF1_KINDS = (("AdagradOptimizer", "adagrad"), ("RMSPropOptimizer", "rmsprop"),
              ("AdamOptimizer", "adam"), ("MomentumOptimizer", "momentum"),
              ("GradientDescentOptimizer", "sgd"))
#: Keras optimizer classes (the current and the legacy ones share these names).
_KERAS_KINDS = {"Adagrad": "adagrad", "RMSprop": "rmsprop", "Adam": "adam", "SGD": "sgd"}


def tf1_facts(optimizer: Any) -> dict[str, Any]:
    """The facts of a TF1 optimizer; {} for one this does not know (never raises)."""
    try:
        return _tf1(optimizer)
    except Exception:  # noqa: BLE001 - facts are advice; a user's subclass may lack an attribute
        return {}


def keras_facts(optimizer: Any) -> dict[str, Any]:
    """The facts of a Keras optimizer; {} for one this does not know (never raises)."""
    try:
        return _keras(optimizer)
    except Exception:  # noqa: BLE001 - as tf1_facts
        return {}


def _tf1(optimizer: Any) -> dict[str, Any]:
    names = [c.__name__ for c in type(optimizer).__mro__]
    kind = next((k for n, k in _TF1_KINDS if n in names), None)
    if kind is None:
        return {}
    facts: dict[str, Any] = {"api": "tf1", "class": type(optimizer).__name__, "kind": kind}
    facts.update(_tf1_rate(optimizer._lr if kind == "adam" else optimizer._learning_rate))
    if kind == "adagrad":       # divides by sqrt(accumulator): no epsilon
        facts.update(epsilon=0.0, initial_accumulator=_number(
            optimizer._initial_accumulator_value))
    elif kind == "rmsprop":     # its `rms` slot starts at ones
        facts.update(epsilon=_number(optimizer._epsilon), rho=_number(optimizer._decay),
                     momentum=_number(optimizer._momentum), centered=bool(optimizer._centered),
                     initial_accumulator=1.0)
    elif kind == "adam":
        facts.update(epsilon=_number(optimizer._epsilon), beta_1=_number(optimizer._beta1),
                     beta_2=_number(optimizer._beta2))
    elif kind == "momentum":
        facts.update(momentum=_number(optimizer._momentum),
                     nesterov=bool(optimizer._use_nesterov))
    return facts


def _tf1_rate(rate: Any) -> dict[str, Any]:
    """A TF1 learning rate: a number, or a schedule (a function, or a tensor that depends on
    something else, the global step of tf.compat.v1.train.exponential_decay say)."""
    if callable(rate):
        return {"schedule": True}
    if isinstance(rate, (tf.Tensor, tf.Variable)):
        value = tf.get_static_value(rate)
        return {"schedule": True} if value is None else {"learning_rate": float(value)}
    return {"learning_rate": _number(rate)}


def _keras(optimizer: Any) -> dict[str, Any]:
    names = [c.__name__ for c in type(optimizer).__mro__]
    kind = next((_KERAS_KINDS[n] for n in names if n in _KERAS_KINDS), None)
    if kind is None:
        return {}
    config = optimizer.get_config()
    facts: dict[str, Any] = {"api": "keras", "class": type(optimizer).__name__, "kind": kind}
    rate = config.get("learning_rate")
    facts.update({"schedule": True} if isinstance(rate, dict) else
                 {"learning_rate": _number(rate)})
    for key, name in (("epsilon", "epsilon"), ("initial_accumulator_value", "initial_accumulator"),
                      ("rho", "rho"), ("momentum", "momentum"), ("beta_1", "beta_1"),
                      ("beta_2", "beta_2")):
        if key in config:
            facts[name] = _number(config[key])
    for key in ("centered", "nesterov"):
        if key in config:
            facts[key] = bool(config[key])
    if kind == "rmsprop":       # its velocity starts at zeros; no argument changes that
        facts["initial_accumulator"] = 0.0
    if kind == "sgd" and (facts.get("momentum") or 0.0) > 0.0:
        facts["kind"] = "momentum"
    return facts


def _number(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
