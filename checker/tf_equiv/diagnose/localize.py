"""Inside the graph: after a check's outputs diverge, find the first op whose output differs.

Two worker processes (a `LocalizeRequest` each, under the numerics of the run that failed)
capture every intermediate tensor by op name: the TF1 side writes its tensors to disk, the TF2
side traces the shim model, aligns its ops with TF1's by name, compares them in TF1's
topological order and, at the first divergence, re-runs the divergent block fed with TF1's
values (shadow mode). Nothing here imports TensorFlow.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Literal, Optional, TypeVar

from tf_equiv import checks
from tf_equiv.protocol.relays import CaptureRelay, ErrorRelay, Relay
from tf_equiv.protocol.requests import LocalizeRequest, RunOptions, Weights
from tf_equiv.results import short
from tf_equiv.run.controller import Controller, Handle, exit_words, log_tail
from tf_equiv.run.protocol import Captured, Environment, Event, Fatal, Localized

#: The TF1 side stops capturing past this many bytes of tensors on disk, and says so.
CAPTURE_LIMIT_BYTES = 512 * 2 ** 20
TAIL_LINES = 20

E = TypeVar("E")


@dataclass(frozen=True)
class Localization:
    """Where inside the graph the two sides first part; `found` when a divergent op was named."""

    found: bool
    message: str
    detail: str = ""
    #: The graphs differ where the sides part (TF2 reads ops TF1 lacks there, or the op's type
    #: differs): no numeric variation changes which ops run.
    structural: str = ""
    #: Where the sides part, in a few words: the op, its type, what TF2 reads that TF1 lacks,
    #: and what shadow mode blames.
    place: str = ""
    #: The block of the migrated code to fix: the scope holding the op that differs or has no
    #: counterpart, which may precede the first divergent op's block; "" when that op lies
    #: outside every block.
    block: str = ""
    #: What the TF1 worker ran on, its numerics among them (its `environment` event).
    environment: dict[str, str] = field(default_factory=dict)


def localize(module_path: str, pair: str, check: str, out_dir: str, timeout: float,
             options: RunOptions = RunOptions(threads=1), python: str = sys.executable,
             stop: Optional[threading.Event] = None,
             env: tuple[tuple[str, str], ...] = (),
             tf1_python: Optional[str] = None) -> Localization:
    """Localize the divergence of `pair`'s `check` under the run's `options` and import-time
    `env`, the TF1 worker under `tf1_python` where given; never raises, returns within about
    `timeout`."""
    weights = checks.spec(check).weights if check in checks.SPECS else None
    if weights is None:
        applies = [s.id for s in checks.TABLE if s.weights]
        return Localization(False, f"localization is not available for {check}: it applies to "
                            f"the checks {', '.join(applies)}. Hint: localize "
                            "transferred_inference, which runs the same forward pass at real "
                            "weights")
    try:
        run = _Run(os.path.abspath(module_path), pair, weights, out_dir, options,
                   python, env, stop or threading.Event(), tf1_python or python)
        return _run(run, check, timeout)
    except Exception as exc:  # a checker bug must never hide the check's own result
        return Localization(False, f"localization failed: internal error of tf-equiv: "
                            f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class _Run:
    """What both sides of one localization are started with."""

    module: str
    pair: str
    weights: Weights
    out_dir: str
    options: RunOptions
    python: str
    env: tuple[tuple[str, str], ...]
    stop: threading.Event
    tf1_python: str             # the TF1 worker's interpreter (`python` but for --tf1-python)


class _Worker:
    """One side's localization process, under the controller."""

    def __init__(self, side: Literal["tf1", "tf2"], run: _Run, controller: Controller) -> None:
        self.side = side
        request = LocalizeRequest(run.module, run.pair, side, run.weights, run.out_dir,
                                  CAPTURE_LIMIT_BYTES, run.options)
        self.handle = controller.start(side, request,
                                       run.tf1_python if side == "tf1" else run.python,
                                       os.path.join(run.out_dir, f"localize-{side}.log"),
                                       os.path.dirname(run.module), dict(run.env))

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.handle.events]

    def said(self, kind: type[E]) -> Optional[E]:
        """Its event of that kind, once it has ended (its pipe read to the end)."""
        self.handle.join(5)
        return next((e for e in self.events if isinstance(e, kind)), None)

    def kill(self) -> None:
        self.handle.kill()
        self.handle.proc.wait()

    def ended(self) -> str:
        return f"the {self.side.upper()} localization worker {exit_words(self.handle.proc.returncode)}"

    def tail(self) -> str:
        return log_tail(self.handle.worker.log_path, TAIL_LINES)


def _run(run: _Run, check: str, timeout: float) -> Localization:
    """Both sides, then what the TF2 side found, with the environment the TF1 side ran on."""
    workers: dict[str, _Worker] = {}
    found = _located(run, check, timeout, workers)
    tf1 = workers.get("tf1")
    said = next((e for e in tf1.events if isinstance(e, Environment)), None) if tf1 else None
    return replace(found, environment=dict(said.environment)) if said else found


def _located(run: _Run, check: str, timeout: float, workers: dict[str, _Worker]) -> Localization:
    """What the TF2 side found; `workers` gets both sides' workers as they start."""
    out_dir = run.out_dir
    os.makedirs(out_dir, exist_ok=True)
    for stale in ("first-divergence.npz",):     # from an earlier call in this folder
        if os.path.exists(os.path.join(out_dir, stale)):
            os.unlink(os.path.join(out_dir, stale))
    shutil.rmtree(os.path.join(out_dir, "tf1"), ignore_errors=True)
    # Whatever the user's code started ends with its worker, also once the worker has ended.
    with Controller(run.stop, deadline=time.monotonic() + timeout) as controller:
        # The TF2 side imports TensorFlow and traces its model while the TF1 side captures; then
        # it waits on stdin for the TF1 side's tensors.
        workers.update(tf1=_Worker("tf1", run, controller), tf2=_Worker("tf2", run, controller))
        controller.wait(_Relay(workers).ended)
    handles = [w.handle for w in workers.values()]
    if any(h.interrupted for h in handles):
        return Localization(False, "localization not finished: interrupted")
    if any(h.timed_out for h in handles):
        return Localization(False, f"localization of {run.pair}::{check} timed out after "
                            f"{timeout:g} s and its workers were killed. Hint: raise the "
                            "timeout; a large model captures many tensors")
    # Only the first divergence's arrays are kept (in first-divergence.npz).
    shutil.rmtree(os.path.join(out_dir, "tf1"), ignore_errors=True)
    tf2 = workers["tf2"]
    found, fatal = tf2.said(Localized), tf2.said(Fatal)
    if found is not None:
        return describe(found.result, check)
    if fatal is not None:
        return describe({"error": fatal.message, "detail": fatal.detail}, check)
    return Localization(False, f"localization failed: {tf2.ended()}", tf2.tail())


class _Relay:
    """The rule of a localization's two workers: the TF2 side is told of the TF1 side's capture
    once the TF1 side ends; a TF2 side that ends first leaves nobody to read the capture."""

    def __init__(self, workers: dict[str, _Worker]) -> None:
        self.workers, self.told = workers, False

    def ended(self, handle: Handle) -> None:
        if any(w.handle.interrupted or w.handle.timed_out for w in self.workers.values()):
            return      # the localization has no result: nothing more is worth waiting for
        if handle.name == "tf1" and not self.told:
            self.workers["tf2"].handle.relay(_tf1_outcome(self.workers["tf1"]))
            self.told = True
        elif handle.name == "tf2" and not self.told:
            self.workers["tf1"].kill()


def _tf1_outcome(tf1: _Worker) -> Relay:
    """What the TF2 side is told of the TF1 side: its capture index, or why there is none."""
    captured, fatal = tf1.said(Captured), tf1.said(Fatal)
    if captured is not None:
        return CaptureRelay(captured.index)
    if fatal is not None:
        return ErrorRelay(fatal.message, fatal.detail)
    return ErrorRelay(tf1.ended(), tf1.tail())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _moments(s: dict) -> str:
    text = f"mean {short(s['mean'])} std {short(s['std'])}"
    return text + (f", {s['nonfinite']} non-finite" if s.get("nonfinite") else "")


def _difference(c: dict) -> str:
    if c["problem"]:
        return c["note"]
    if not c["max_abs"]:
        return "bitwise equal"
    return (f"max abs diff {short(c['max_abs'])}, max rel diff {short(c['max_rel'])}, "
            f"{c['mismatched']} of {c['total']} elements mismatched")


def _shadow(shadow: dict, unit: str = "block") -> str:
    """Shadow mode's verdict on the divergent op's block (or the op alone), in words."""
    if shadow.get("status") == "unavailable":
        return f"not run: {shadow['reason']}"
    block, op, fed, comparison = shadow["block"], shadow["op"], shadow["fed"], shadow["comparison"]
    differs = shadow["status"] == "differs"
    if not fed:
        return (f"{block} reads only the pair's inputs and the weights, identical on both sides, "
                f"and {op} {'differs' if differs else 'matches'} ({_difference(comparison)})"
                + (f": this {unit} is wrong" if differs
                   else ": the difference does not reproduce when it runs alone"))
    shown = ", ".join(fed[:3]) + (", ..." if len(fed) > 3 else "")
    entry = f"fed TF1's values of the {_count(len(fed), 'tensor')} entering {block} ({shown})"
    if differs:
        return f"{entry}, {op} still differs ({_difference(comparison)}): this {unit} is wrong"
    if unit == "op":
        return (f"{entry}, {op} then matches ({_difference(comparison)}): the op amplifies "
                "differences within tolerance that reach it")
    return (f"{entry}, {op} then matches ({_difference(comparison)}): errors accumulated "
            f"upstream of {block} (the block agrees when fed TF1's input)")


def describe(result: dict, check: str) -> Localization:
    """The TF2 worker's findings, in words: one message line and a few lines of detail."""
    if result.get("error"):
        return Localization(False, f"localization failed: {result['error']}",
                            result.get("detail", ""))
    unaligned = (f"{result['tf1_only']} TF1 ops and {result['tf2_only']} TF2 ops have no "
                 "counterpart of the same name")
    detail = [f"weights: {result['weights']}; {result['aligned']} of {result['tf1_ops']} TF1 ops "
              f"aligned with TF2 ops (TF2 name prefix {result['prefix']!r}); {unaligned}: "
              f"{', '.join(result['tf1_only_names'] + result['tf2_only_names']) or 'none'}"]
    detail += [f"  {'ok     ' if row['passed'] else 'DIFFERS'} {row['op']} ({row['type']}) "
               f"{_difference(row['comparison'])}" for row in result["around"]]
    first = result.get("first")
    if first is None and result["capped"]:
        message = (f"no divergent op among the first {result['tf1_ops']} of "
                   f"{result['computed']} TF1 ops: their capture stopped at the "
                   f"{CAPTURE_LIMIT_BYTES / 2 ** 20:g} MiB limit; {result['compared']} aligned ops "
                   "agree within tolerance. Hint: the divergence is further on, past what "
                   "localization keeps on disk")
        return Localization(False, message, "\n".join(detail))
    if first is None:
        message = (f"no divergent op: {result['compared']} of {result['aligned']} aligned ops "
                   f"agree within tolerance in the traced TF2 graph; {unaligned}. Hint: where "
                   f"{check} fails, the difference comes from outside the aligned ops (an op of "
                   "another name, the regularization loss, or eager-only behaviour)")
        return Localization(False, message, "\n".join(detail))
    message = _first_message(first, result)
    op_level = result["shadow"].get("op_level")
    if op_level and op_level["block"] != result["shadow"]["block"]:
        detail.append("shadow, the op alone: " + _shadow(op_level, "op"))
    if result.get("arrays"):
        detail.append(f"the arrays of both sides at {first['op']}: {result['arrays']}")
    added, lacking = first["tf2_only_inputs"], first.get("tf1_only_inputs", [])
    structural = ""
    if first["comparison"]["problem"] != "nonfinite":
        if added:
            structural = f"TF2 computes {first.get('record') or first['op']} through ops TF1 lacks " \
                f"({_names(added)})"
        elif lacking:
            structural = f"TF1 computes {first['op']} through ops TF2 lacks ({_names(lacking)})"
        elif first["type"] != first["tf2_type"]:
            structural = f"{first['op']} is {first['type']} in TF1 and {first['tf2_type']} in TF2"
    kind = first["type"] if first["type"] == first["tf2_type"] \
        else f"{first['type']} in TF1, {first['tf2_type']} in TF2"
    place = f"{first['op']} ({kind})"
    if added:
        place += f", computed in TF2 through {_names(added)}"
        if lacking:
            place += f" where TF1 has {_names(lacking)}"
    elif lacking:
        place += f", computed in TF1 through {_names(lacking)}, which TF2 lacks"
    shadow = result.get("shadow") or {}
    blamed = result.get("culprit") or {}
    if shadow.get("status") == "differs":
        place += f"; block {shadow['block']} is wrong (it differs when fed TF1's input)"
    elif shadow.get("status") not in (None, "unavailable", "tf2_only"):
        place += f"; errors accumulated upstream of {shadow['block']}"
        if blamed.get("op") and blamed["op"] != first["op"]:
            place += f" (the earliest op that differs at all is {blamed['op']})"
    elif first.get("record"):
        place += "; the ops TF1 lacks are wrong (what they read agrees with TF1)"
    return Localization(True, message, "\n".join(detail), structural, place,
                        blamed.get("block", ""))


def _names(ops: list) -> str:
    return ", ".join(ops[:3])


def _first_message(first: dict, result: dict) -> str:
    c = first["comparison"]
    kind = first["type"] if first["type"] == first["tf2_type"] \
        else f"{first['type']} in TF1, {first['tf2_type']} in TF2"
    if c["problem"] == "nonfinite":
        what = f"vacuous: {c['note']}"
    else:
        what = (f"{_difference(c)} (TF1 {_moments(first['tf1_stats'])}, "
                f"TF2 {_moments(first['tf2_stats'])}; rtol={short(c['rtol'])}, atol={short(c['atol'])})")
    if first.get("record"):
        return (f"first divergent op in topological order: {first['op']} ({kind}, TF2 only), "
                f"which computes {first['record']}: {what}; all {result['aligned']} aligned ops "
                f"matched, TF1's {first['record']} being {first['tf1_op']}; TF2 computes it from "
                f"there through ops TF1 lacks: {', '.join(first['tf2_only_inputs'][:3])}; "
                "shadow: not needed: the tensors those ops read agree with TF1, so they are wrong")
    message = (f"first divergent op in topological order: {first['op']} ({kind}), {what}; "
               f"{first['position']} of {result['aligned']} aligned ops matched before it")
    if first["tf2_only_inputs"]:
        message += f"; in TF2 it reads ops TF1 lacks: {_names(first['tf2_only_inputs'])}"
    if first.get("tf1_only_inputs"):
        message += f"; in TF1 it reads ops TF2 lacks: {_names(first['tf1_only_inputs'])}"
    message += "; shadow: " + _shadow(result["shadow"])
    earliest = result.get("earliest")
    if c["problem"] == "nonfinite":
        message += (". Hint: a comparison of non-finite values proves nothing; fix the overflow "
                    "or localize transferred_inference, which runs at real weights")
    elif earliest and earliest["op"] != first["op"]:
        message += (f". Hint: the earliest op that differs at all is {earliest['op']} "
                    f"({earliest['type']}, max abs diff {short(earliest['max_abs'])}, "
                    "within tolerance)")
    return message
