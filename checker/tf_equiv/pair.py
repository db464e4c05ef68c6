"""The `Pair` declaration users write in `equiv_*.py`, and its validation.

A `Pair` never raises for a bad field: one bad declaration must not hide the other pairs of its
module. It records what is wrong, and the worker reports that pair as an error naming the field.
"""
from __future__ import annotations

import difflib
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from tf_equiv import checks
from tf_equiv.protocol.settings import (
    DEFAULT_ATOL,
    DEFAULT_CONSTANT,
    DEFAULT_EVERY,
    DEFAULT_NOISE_FACTOR,
    DEFAULT_RTOL,
    DEFAULT_STEPS,
    DEFAULT_TRAINING,
)

FIELDS = (
    "tf1", "tf2", "inputs", "rtol", "atol", "tolerances", "checks", "constant", "loss", "optimizers",
    "train_steps", "train", "checkpoint", "name_map", "timeout", "skip", "xfail", "metrics",
)


@dataclass(frozen=True)
class Train:
    """The `training_run` check: both sides train from the same (transferred) weights for
    `steps` optimizer steps of the pair's `optimizers`, on the same batches, and are compared
    against the noise of the run itself (see docs/training.md).

    - `batches`: a function returning an iterable of batches, each nested arrays shaped like the
      pair's `inputs`; called on the TF1 side only (numpy's global seed set first), each batch
      recorded once and fed to both sides. It is called again when it runs out (another epoch).
      With tf1=ModelFn each batch is `(features, labels)`, so the model_fn's `input_fn` (a
      tf.data dataset) is a `batches`. None: every step trains on `inputs` (and the labels).
    - `every`: every variable and optimizer slot is recorded every `every` steps (and after the
      last); the loss after every step.
    - `training`: the model runs in training mode (dropout, batch-norm statistics that advance);
      False trains in inference mode (no dropout, batch norm frozen).
    - `noise_factor`: how far outside the measured noise the sides may be before the check fails.
    """

    steps: int = DEFAULT_STEPS
    batches: Optional[Callable[[], Iterable[Any]]] = None
    every: int = DEFAULT_EVERY
    training: bool = DEFAULT_TRAINING
    noise_factor: float = DEFAULT_NOISE_FACTOR


@dataclass(frozen=True)
class ModelFn:
    """An Estimator `model_fn` as the TF1 side (see docs/pairs.md): called in the fresh TF1 graph
    as `model_fn(features, labels, mode, params[, config])`, it returns an `EstimatorSpec`.
    PREDICT (labels None, as an Estimator passes them) gives the inference checks'
    outputs, `spec.predictions`; TRAIN gives the training checks' loss, `spec.loss`, and their
    optimizer step, `spec.train_op`.

    - `labels`: arrays (or nested arrays) shaped like the batch, or a function returning them;
      the TF2 side receives them too, as `loss(labels, outputs)`.
    - `params`: passed as `params` (an Estimator passes `{}` when it has none).
    - `config`: passed as `config` when the `model_fn` takes that argument.
    """

    model_fn: Callable[..., Any]
    labels: Any = None
    params: Optional[Mapping[str, Any]] = None
    config: Any = None


@dataclass(frozen=True)
class SavedModel:
    """A TF1 SavedModel as the TF1 side (see docs/pairs.md): loaded into the fresh TF1 graph with
    the TF1 loader, its outputs the signature's, its variables the SavedModel's trained values.
    The pair's `inputs` are a dict keyed by the signature's input names; the TF2 model is called
    with that dict.

    - `path`: the SavedModel's folder, relative to the declaring module's folder (an absolute
      path is used as it is).
    - `signature`: the signature_def key; `tags`: the MetaGraph's tags.
    """

    path: Any
    signature: str = "serving_default"
    tags: Sequence[str] = ("serve",)

    def resolved(self, module_file: str) -> str:
        """The folder, a relative `path` taken from the folder of `module_file`."""
        return os.path.join(os.path.dirname(os.path.abspath(module_file)), os.fspath(self.path))


@dataclass(frozen=True, init=False, eq=False)
class Pair:
    """A TF1.x forward pass and its TF2 migration, compared by tf-equiv (see the README)."""

    tf1: Callable[..., Any]
    tf2: Callable[[], Any]
    inputs: Any
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    tolerances: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    checks: Optional[Sequence[str]] = None
    constant: float = DEFAULT_CONSTANT
    loss: Optional[Callable[[Any], Any]] = None
    optimizers: Optional[tuple[Any, Any]] = None
    train_steps: int = 3
    train: Optional[Train] = None
    checkpoint: Optional[str] = None
    name_map: Optional[Callable[[str], str]] = None
    timeout: Optional[float] = None
    skip: Optional[str] = None
    xfail: Optional[str] = None
    #: With tf1=ModelFn: {eval_metric_ops key: Keras metric factory, or (factory, output path)}.
    metrics: Optional[Mapping[str, Any]] = None
    #: Where the Pair was declared: (file, line).
    declared_at: tuple[str, int] = ("", 0)
    #: What is wrong with the declaration, one line per field; empty when valid.
    problems: tuple[str, ...] = ()

    def __init__(self, tf1: Any = None, tf2: Any = None, inputs: Any = None, *positional: Any,
                 rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, tolerances: Any = None,
                 checks: Any = None, constant: float = DEFAULT_CONSTANT, loss: Any = None,
                 optimizers: Any = None, train_steps: int = 3, train: Any = None,
                 checkpoint: Any = None, name_map: Any = None,
                 timeout: Any = None, skip: Any = None, xfail: Any = None, metrics: Any = None,
                 **unknown: Any) -> None:
        caller = sys._getframe(1)
        values = dict(tf1=tf1, tf2=tf2, inputs=inputs, rtol=rtol, atol=atol,
                      tolerances={} if tolerances is None else tolerances, checks=checks,
                      constant=constant, loss=loss, optimizers=optimizers, train_steps=train_steps,
                      train=train, checkpoint=checkpoint, name_map=name_map, timeout=timeout, skip=skip,
                      xfail=xfail, metrics=metrics)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "declared_at", (caller.f_code.co_filename, caller.f_lineno))
        problems = validate(values)
        if positional:
            problems.insert(0, f"takes 3 positional fields (tf1, tf2, inputs), got {3 + len(positional)}; "
                               "the other fields are keyword-only")
        for name in unknown:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{name}: not a Pair field{hint}")
        object.__setattr__(self, "problems", tuple(problems))

    def tolerance_for(self, record: str) -> tuple[float, float]:
        """(rtol, atol) for a record name: the first matching `tolerances` glob, else rtol/atol."""
        return tolerance_for(record, self.tolerances, self.rtol, self.atol)

    def resolved_checkpoint(self) -> Optional[str]:
        """The checkpoint prefix, relative paths taken from the declaring module's folder."""
        if self.checkpoint is None:
            return None
        return os.path.join(os.path.dirname(self.declared_at[0]), os.fspath(self.checkpoint))


#: Defaults by record glob, from the check table's tolerance classes (gradients/*, optimizer_steps/*).
#: The pair's rtol/atol still apply where they are looser; `tolerances` globs override both.
DEFAULT_TOLERANCES = checks.default_tolerances()


def tolerance_for(record: str, tolerances: Mapping[str, Sequence[float]], rtol: float,
                  atol: float) -> tuple[float, float]:
    """The first glob of `tolerances` matching `record` wins; then the default table for gradients
    and optimizer steps (never stricter than the pair's); otherwise the pair's rtol/atol."""
    import fnmatch

    for pattern, (r, a) in tolerances.items():
        if fnmatch.fnmatchcase(record, pattern) or record == pattern:
            return float(r), float(a)
    for pattern, (r, a) in DEFAULT_TOLERANCES.items():
        if fnmatch.fnmatchcase(record, pattern):
            return max(float(rtol), r), max(float(atol), a)
    return float(rtol), float(atol)


def _is_number(value: Any) -> bool:
    """A finite int or float: nan and inf would silently turn a tolerance or timeout off."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def validate(v: Mapping[str, Any]) -> list[str]:
    """One message per bad field: 'field: expected ..., got ...'."""
    out: list[str] = []

    def bad(name: str, expected: str) -> None:
        out.append(f"{name}: expected {expected}, got {_show(v[name])}")

    model_fn = isinstance(v["tf1"], ModelFn)
    saved_model = isinstance(v["tf1"], SavedModel)
    for name, what in (("tf1", "a function (inputs, training) -> outputs"),
                       ("tf2", "a factory () -> model (a class or function)")):
        if not callable(v[name]) and not (name == "tf1" and (model_fn or saved_model)):
            bad(name, what)
    if model_fn:
        out += _model_fn_problems(v["tf1"], v["loss"], v["train"])
    if saved_model:
        out += _saved_model_problems(v["tf1"], v["inputs"])
    if v["inputs"] is None:
        bad("inputs", "a function returning nested arrays, or nested arrays")
    for name in ("rtol", "atol"):
        if not _is_number(v[name]) or v[name] < 0:
            bad(name, "a non-negative number")
    if not _is_number(v["constant"]):
        bad("constant", "a number")
    tol = v["tolerances"]
    if not isinstance(tol, Mapping):
        bad("tolerances", "a dict {glob: (rtol, atol)}")
    else:
        for key, pair in tol.items():
            ok = (isinstance(key, str) and isinstance(pair, (tuple, list)) and len(pair) == 2
                  and all(_is_number(x) and x >= 0 for x in pair))
            if not ok:
                out.append(f"tolerances: entry {key!r}: expected a glob mapped to (rtol, atol), "
                           f"got {_show(pair)}")
    out += checks_problems(v["checks"])
    for name in ("loss", "name_map"):
        if v[name] is not None and not callable(v[name]):
            bad(name, "a function or None")
    opt = v["optimizers"]
    if opt is not None and not (isinstance(opt, (tuple, list)) and len(opt) == 2
                                and (callable(opt[0]) or (model_fn and opt[0] is None))
                                and callable(opt[1])):
        bad("optimizers", "a pair of factories (tf1_factory, tf2_factory)")
    elif opt is not None and model_fn and opt[0] is not None:
        bad("optimizers", "(None, tf2_factory) with tf1=ModelFn (the TF1 step is the "
                          "model_fn's spec.train_op)")
    if not isinstance(v["train_steps"], int) or isinstance(v["train_steps"], bool) \
            or v["train_steps"] < 1:
        bad("train_steps", "a positive integer")
    out += _train_problems(v["train"], opt)
    out += metrics_problems(v["metrics"], model_fn)
    if v["checkpoint"] is not None and not isinstance(v["checkpoint"], (str, os.PathLike)):
        bad("checkpoint", "a path (str) or None")
    if v["timeout"] is not None and (not _is_number(v["timeout"]) or v["timeout"] <= 0):
        bad("timeout", "a positive number of seconds or None")
    for name in ("skip", "xfail"):
        if v[name] is not None and not isinstance(v[name], str):
            bad(name, "a reason string or None")
    return out


def checks_problems(value: Any) -> list[str]:
    """What is wrong with a `checks` field (None is every check that applies). The parent plans a
    `checks` it reads in the source with this too, so a selection that runs nothing is reported
    as the worker would report it, never left out."""
    if value is None:
        return []
    if isinstance(value, str):
        return [f"checks: expected a sequence of check ids or globs, got the string {_show(value)}"
                f"; write checks=[{_show(value)}]"]
    if not isinstance(value, (list, tuple, set, frozenset)) \
            or not all(isinstance(c, str) for c in value):
        return [f"checks: expected a sequence of check ids or globs, got {_show(value)}"]
    if not value:
        return ["checks: expected at least one check id or glob, got an empty sequence, which "
                "runs nothing; leave checks out to run every check that applies"]
    out = []
    for pattern in checks.expand(value)[1]:
        close = difflib.get_close_matches(pattern, checks.ALL_CHECKS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else \
            f"known: {', '.join(checks.ALL_CHECKS)}"
        out.append(f"checks: {pattern!r} matches no check id ({hint})")
    return out


def planned_checks(selected: Any, present_fields: Iterable[str],
                   tf1_loaded: bool = False) -> list[tuple[str, Optional[str]]]:
    """The checks a pair with this `checks` field runs (`checks.plan`; `tf1_loaded` with
    tf1=SavedModel). A bad field plans every check that applies, each to report the field's
    error: a pair never plans to nothing."""
    return checks.plan(None if checks_problems(selected) else selected, present_fields,
                       tf1_loaded)


def problems_message(name: str, problems: Sequence[str]) -> str:
    """The one error every check of a pair with bad fields reports."""
    return f"bad Pair {name!r}: " + "; ".join(problems)


def _train_problems(train: Any, optimizers: Any) -> list[str]:
    if train is None:
        return []
    if not isinstance(train, Train):
        return [f"train: expected tf_equiv.Train(steps=..., batches=...), got {_show(train)}"]
    out = []
    for name in ("steps", "every"):
        value = getattr(train, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            out.append(f"train.{name}: expected a positive integer, got {_show(value)}")
    if train.batches is not None and not callable(train.batches):
        out.append(f"train.batches: expected a function returning an iterable of batches, or "
                   f"None, got {_show(train.batches)}")
    if not isinstance(train.training, bool):
        out.append(f"train.training: expected True or False, got {_show(train.training)}")
    if not _is_number(train.noise_factor) or train.noise_factor < 1:
        out.append(f"train.noise_factor: expected a number of at least 1, got "
                   f"{_show(train.noise_factor)}")
    if optimizers is None:
        out.append("train: training_run needs optimizers=(tf1_factory, tf2_factory) too")
    return out


def metrics_problems(metrics: Any, model_fn: bool) -> list[str]:
    """What is wrong with `metrics`: {eval_metric_ops key: a factory of a Keras metric, or
    (factory, output path)}, only with tf1=ModelFn, whose EVAL spec has the eval_metric_ops."""
    if metrics is None:
        return []
    what = "a dict {eval_metric_ops key: factory of a Keras metric, or (factory, output path)}"
    if not isinstance(metrics, Mapping) or not metrics:
        return [f"metrics: expected {what}, got {_show(metrics)}"]
    if not model_fn:
        return ["metrics: compares a model_fn's EVAL eval_metric_ops with Keras metrics; it needs "
                "tf1=tf_equiv.ModelFn(...)"]
    out = []
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            out.append(f"metrics: key {_show(key)}: expected an eval_metric_ops key (a string)")
        elif key == "loss":
            out.append("metrics: key 'loss': Estimator defines the 'loss' metric itself (the mean "
                       "of spec.loss), which eval_metrics compares with loss(labels, outputs)")
        elif not (callable(value) or (isinstance(value, tuple) and len(value) == 2
                                      and callable(value[0])
                                      and isinstance(value[1], (str, int))
                                      and not isinstance(value[1], bool))):
            out.append(f"metrics: key {key!r}: expected a factory () -> Keras metric, or "
                       f"(factory, output path such as 'logits'), got {_show(value)}")
    return out


def _model_fn_problems(fn: ModelFn, loss: Any, train: Any) -> list[str]:
    out = []
    if isinstance(train, Train) and train.training is False:
        out.append("train.training: expected True with tf1=ModelFn: the model_fn trains in mode "
                   "'train', the only mode with a train_op, as Estimator.train runs it")
    if not callable(fn.model_fn):
        out.append(f"tf1.model_fn: expected a function (features, labels, mode, params[, config])"
                   f" -> EstimatorSpec, got {_show(fn.model_fn)}")
    if fn.labels is None:
        out.append("tf1.labels: expected arrays shaped like the batch, or a function returning "
                   "them, got None")
    if fn.params is not None and not isinstance(fn.params, Mapping):
        out.append(f"tf1.params: expected a dict or None, got {_show(fn.params)}")
    if loss is None:
        out.append("loss: a ModelFn pair needs loss=(labels, outputs) -> scalar, the TF2 side of "
                   "the model_fn's spec.loss (for example tf.keras.losses.MeanSquaredError())")
    return out


def _saved_model_problems(saved: SavedModel, inputs: Any) -> list[str]:
    """What the declaration shows to be wrong; whether the folder holds a SavedModel is the TF1
    side's to say (a TF2 side checked against stored records never needs the file)."""
    out = []
    if not isinstance(saved.path, (str, os.PathLike)) or not os.fspath(saved.path):
        out.append(f"tf1.path: expected the SavedModel's folder (a path), got {_show(saved.path)}")
    if not isinstance(saved.signature, str) or not saved.signature:
        out.append(f"tf1.signature: expected a signature key (a string), got "
                   f"{_show(saved.signature)}")
    tags = saved.tags
    if isinstance(tags, str):
        out.append(f"tf1.tags: expected a sequence of tags, got the string {_show(tags)}; write "
                   f"tags=({tags!r},)")
    elif not isinstance(tags, (tuple, list)) or not tags \
            or not all(isinstance(t, str) for t in tags):
        out.append(f"tf1.tags: expected a sequence of tag strings, got {_show(tags)}")
    if inputs is not None and not callable(inputs) and not isinstance(inputs, Mapping):
        out.append(f"inputs: expected a dict keyed by the signature's input names (or a function "
                   f"returning one) with tf1=SavedModel, got {_show(inputs)}")
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
