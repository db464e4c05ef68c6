"""The requests the parent sends its workers, without TensorFlow: each kind round-trips through
JSON, the decoder refuses what is not a request with a message naming what is wrong, and every
worker kind of a run (sides, noise run, localization, steps) is started under the run's numerics."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest
from conftest import ROOT

from tf_equiv.diagnose import explain
from tf_equiv.diagnose import localize as localize_mod
from tf_equiv.protocol import relays, requests
from tf_equiv.protocol.relays import CaptureRelay, ErrorRelay, TransferRelay
from tf_equiv.protocol.requests import (
    LocalizeRequest,
    NoiseRequest,
    Numerics,
    RequestError,
    RunOptions,
    SideRequest,
    StepsRequest,
)
from tf_equiv.results import CaseResult, RecordComparison
from tf_equiv.run import controller, kernels, protocol, sides
from tf_equiv.run.protocol import Environment, Transfer
from tf_equiv.run.sides import SideSpec

BLOCKS = os.path.join(ROOT, "tests", "fixtures_localize", "equiv_blocks.py")
OPTIONS = RunOptions(Numerics(("constant_folding", "remapping"), True), False, 2)
EVERY_KIND = [
    SideRequest("m.py", "net", "tf2", "/out", ("variables_match", "gradients"), True, OPTIONS),
    SideRequest("m.py", "", "tf2", "/out"),
    NoiseRequest("m.py", "net", "/out", OPTIONS),
    LocalizeRequest("m.py", "net", "tf1", "transferred", "/out", 512, OPTIONS),
    StepsRequest("m.py", "net", "r.npz", "b.npz", "t.npz", 1, 3, 1e-6, 10.0, 1e-5, OPTIONS),
]
GOOD = json.loads(requests.encode(EVERY_KIND[0]))


@pytest.mark.parametrize("request_", EVERY_KIND, ids=lambda r: r.kind)
def test_every_request_round_trips_through_json(request_):
    assert requests.decode(requests.encode(request_)) == request_
    assert requests.from_json(json.loads(json.dumps(requests.to_json(request_)))) == request_


@pytest.mark.parametrize("data, message", [
    ({**GOOD, "kind": "sides"}, "unknown request kind 'sides'; known: side, noise, localize, steps"),
    ({k: v for k, v in GOOD.items() if k != "kind"}, 'not a request (no "kind")'),
    ({**GOOD, "threads": 2}, "side request with unknown fields: threads"),
    ({k: v for k, v in GOOD.items() if k not in ("module", "out")},
     "side request without module, out"),
    ({**GOOD, "side": "tf3"}, "side request: side must be one of tf1, tf2, got 'tf3'"),
    ({**GOOD, "checks": "variables_match"}, "side request: checks must be a list, got str"),
    ({**GOOD, "checks": [1]}, "side request: checks must be str, got int"),
    ({**GOOD, "any_check": 1}, "side request: any_check must be bool, got int"),
    ({**GOOD, "options": {"threads": True}}, "side request: options: threads must be int, got bool"),
    ({**GOOD, "options": {"numerics": {"grappler": []}}},
     "side request: options: numerics with unknown fields: grappler"),
    ({**GOOD, "options": []}, "side request: options must be an object, got list"),
])
def test_the_decoder_refuses_what_is_no_request_and_says_why(data, message):
    with pytest.raises(RequestError) as e:
        requests.from_json(data)
    assert str(e.value).startswith(message), str(e.value)


def test_text_that_is_not_json_is_a_request_error():
    with pytest.raises(RequestError, match="not JSON"):
        requests.decode("--module m.py")


def test_json_numbers_are_the_fields_types():
    data = json.loads(requests.encode(EVERY_KIND[-1]))
    decoded = requests.from_json({**data, "factor": 10})
    assert decoded.factor == 10.0 and isinstance(decoded.factor, float)
    with pytest.raises(RequestError, match="steps request: first must be int, got float"):
        requests.from_json({**data, "first": 1.0})


def test_the_options_give_the_flags_that_rerun_them():
    assert OPTIONS.flags() == ("--grappler-off=constant_folding", "--grappler-off=remapping",
                               "--tf1-optimized", "--no-compat-fixes")
    assert RunOptions().flags() == ()


def test_a_worker_given_no_request_says_so_as_an_event(monkeypatch):
    from tf_equiv.worker.__main__ import main

    read, write = os.pipe()
    monkeypatch.setenv("TF_EQUIV_EVENT_FD", str(write))
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    assert main(["--module", "m.py"]) == 2
    with os.fdopen(read, encoding="utf-8") as f:
        events = [protocol.decode(line) for line in f]
    assert isinstance(events[0], protocol.Fatal) and isinstance(events[-1], protocol.Done)
    assert events[0].message.startswith("tf-equiv internal error: bad request: not JSON")


# --- the relays: what a running worker is told on its stdin ---------------------------------------

EVERY_RELAY = [
    TransferRelay("/out/tf1/transfer.npz", "/out/tf1/batches.npz"),
    TransferRelay("/out/tf1/transfer.npz", batches_error="train.batches raised"),
    CaptureRelay("/out/tf1/index.json"),
    ErrorRelay("TF1 side timed out after 30 s"),
    ErrorRelay("the TF1 localization worker exited with status 1 before finishing", "Traceback"),
]


@pytest.mark.parametrize("relay", EVERY_RELAY, ids=lambda r: r.kind)
def test_every_relay_round_trips_through_one_json_line(relay):
    line = relays.encode(relay)
    assert "\n" not in line
    assert relays.decode(line) == relay
    assert relays.from_json(json.loads(json.dumps(relays.to_json(relay)))) == relay


@pytest.mark.parametrize("data, message", [
    ({"kind": "index", "index": "i.json"}, "unknown relay kind 'index'; known: transfer, capture, error"),
    ({"file": "t.npz"}, 'not a relay (no "kind")'),
    ({"kind": "transfer", "file": "t.npz", "order": []}, "transfer relay with unknown fields: order"),
    ({"kind": "transfer"}, "transfer relay without file"),
    ({"kind": "capture", "index": 3}, "capture relay: index must be str, got int"),
    ({"kind": "error", "error": None}, "error relay: error must be str, got NoneType"),
])
def test_the_relay_decoder_refuses_what_is_no_relay_and_says_why(data, message):
    with pytest.raises(RequestError) as e:
        relays.from_json(data)
    assert str(e.value).startswith(message), str(e.value)


def test_a_worker_receives_the_relay_it_waits_for_or_why_there_is_none():
    import io

    told = relays.receive(io.StringIO(relays.encode(EVERY_RELAY[0]) + "\n"), TransferRelay, "-")
    assert told == EVERY_RELAY[0]
    assert relays.receive(io.StringIO(""), CaptureRelay, "the parent sent nothing") == \
        ErrorRelay("the parent sent nothing")
    assert relays.receive(io.StringIO(relays.encode(EVERY_RELAY[3])), CaptureRelay, "-") == \
        EVERY_RELAY[3]
    with pytest.raises(RequestError, match="expected a capture relay, got a transfer relay"):
        relays.receive(io.StringIO(relays.encode(EVERY_RELAY[0])), CaptureRelay, "-")
    with pytest.raises(RequestError, match="relay not JSON"):
        relays.receive(io.StringIO('{"file": '), TransferRelay, "-")


def test_the_tf2_side_is_told_of_the_tf1_values_as_a_relay():
    told = sides.transfer_message(Transfer(file="t.npz", order=["w"], batches="b.npz"))
    assert told == TransferRelay("t.npz", "b.npz")
    assert sides.transfer_message(Transfer(error="no graph")) == ErrorRelay("no graph")


def test_every_relay_has_its_row_in_the_protocol_section():
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## The worker protocol"):]
    for kind, cls in relays.RELAYS.items():
        assert f"| `{kind}` | `{cls.__name__}` |" in section, kind


# --- every worker kind runs under the run's numerics ----------------------------------------------

def numerics_of(args: list) -> Numerics:
    """The numerics a worker's arguments give it (the request, or the flags of an older parent)."""
    if args and args[0].startswith("{"):
        return requests.decode(args[0]).options.numerics
    off = [a.split("=", 1)[1] if "=" in a else args[i + 1]
           for i, a in enumerate(args) if a.startswith("--grappler-off")]
    return Numerics(tuple(p for a in off for p in a.split(",") if p), "--tf1-optimized" in args)


class _Proc:
    pid = 0
    returncode = 0
    parent_lost = False
    forked = False
    stdin = None

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


class _Reader:
    def __init__(self, events: list) -> None:
        self.events = events

    def start(self):
        for deliver in self.events:
            deliver()

    def join(self, timeout=None):
        pass


def spy_workers(monkeypatch, seen) -> None:
    """Replace the one place every worker is spawned by a spy: `seen(python, module, args)` is
    recorded and returns the Environment event the worker says at once before it ends."""

    class Spy:
        def __init__(self, python, module, args, *rest, **kw):
            said = seen(python, module, list(args))
            on_event = kw.get("on_event") or next((r for r in rest if callable(r)), None)
            self.reader = _Reader([lambda: on_event(said)] if on_event else [])
            self.proc, self.started = _Proc(), time.monotonic()
            self.log_path, self.protocol_errors = os.devnull, []

        def send(self, message):
            pass

        def kill(self):
            pass

    monkeypatch.setattr(controller, "Worker", Spy)    # every worker kind is spawned there
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)


@pytest.fixture
def spawned(monkeypatch):
    """Every worker the parent starts, as (module, args); each says at once the environment its
    request gives it, then ends."""
    started: list = []

    def seen(python, module, args):
        started.append((module, args))
        return Environment({"grappler": numerics_of(args).tf1_describe()})

    spy_workers(monkeypatch, seen)
    return started


@pytest.mark.parametrize("numerics", [Numerics(tf1_optimized=True),
                                      Numerics(grappler_off=("constant_folding",))],
                         ids=["tf1-optimized", "grappler-off"])
def test_every_worker_kind_runs_under_the_run_options(spawned, numerics, tmp_path):
    spec = SideSpec(BLOCKS, "wrong_block", ("transferred_inference", "training_run"),
                    str(tmp_path), 30, RunOptions(numerics, threads=1))
    stop = threading.Event()
    sides.run_sides(spec, stop)
    kernels.KernelRun(spec, ("tf1",), stop).close()
    failing = CaseResult(BLOCKS, "wrong_block", "transferred_inference", "failed", "differs",
                         records=(RecordComparison("outputs/0", False, 1e-6, 1e-5),))
    located = explain._localize(spec, [failing], ("transferred_inference",),
                                time.monotonic() + 30, str(tmp_path), stop)
    steps = kernels.run_steps(spec, "r.npz", Transfer(file="t.npz", batches="b.npz"), 1, 2, 1e-6,
                              10.0, 1e-5, stop, 30, str(tmp_path))

    assert len(spawned) == 2 + 1 + 2 + 1      # the sides, the noise run, localization, steps
    assert [numerics_of(args) for _, args in spawned] == [numerics] * len(spawned)
    # What the diagnosis workers ran on is kept with what they found.
    said = {"grappler": numerics.tf1_describe()}
    assert located["transferred_inference"].environment == said
    assert steps.environment == said


def test_the_requests_carry_the_rest_of_the_run(spawned, tmp_path):
    """Compatibility fixes, threads, the noise run's kind and the pair's own fields travel too."""
    spec = SideSpec(BLOCKS, "wrong_block", ("training_run",), str(tmp_path), 30,
                    RunOptions(compat_fixes=False, threads=3), any_check=True)
    sides.run_sides(spec, threading.Event())
    kernels.KernelRun(spec, ("tf1",), threading.Event()).close()
    localize_mod.localize(BLOCKS, "wrong_block", "constant_inference", str(tmp_path), 30,
                          spec.options)
    sent = [requests.decode(args[0]) for _, args in spawned]
    assert [type(r) for r in sent] == [SideRequest, SideRequest, NoiseRequest, LocalizeRequest,
                                       LocalizeRequest]
    assert [r.options for r in sent[:2]] == [RunOptions(Numerics(), False, 3)] * 2
    assert sent[2].options == RunOptions(Numerics(), False, 1)    # beside the sides: one core
    assert (sent[0].side, sent[0].checks, sent[0].any_check) == ("tf1", ("training_run",), True)
    assert (sent[3].side, sent[4].side, sent[3].weights) == ("tf1", "tf2", "constant")
    assert all(module == "tf_equiv.worker" for module, _ in spawned)
