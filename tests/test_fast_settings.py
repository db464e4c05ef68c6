"""A pair's settings: one typed shape from the worker to the verdict and the plan, with its
defaults written once. No TensorFlow."""
from __future__ import annotations

import ast
import json
import pathlib

import pytest

from tf_equiv import Pair, Train
from tf_equiv.protocol.settings import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    PairSettings,
    SettingsError,
    TrainSettings,
)
from tf_equiv.worker.session import read_settings

CHECKER = pathlib.Path(__file__).resolve().parents[1] / "checker" / "tf_equiv"


def test_settings_survive_the_json_of_an_event():
    settings = PairSettings(rtol=1e-3, atol=0, tolerances={"grad*": (1e-2, 1e-3)},
                            checks=(("gradients", None), ("tf_function", "needs tf.function")),
                            skip=None, xfail="known drift", timeout=60, line=12,
                            problems=("rtol: expected a number",),
                            train=TrainSettings(steps=40, every=5, training=False))
    wire = json.loads(json.dumps(settings.to_json()))
    assert PairSettings.from_json(wire) == settings
    assert PairSettings.of(wire) == settings and PairSettings.of(settings) is settings


def test_a_key_left_out_takes_its_default_and_an_unknown_key_is_an_error():
    assert PairSettings.from_json({"line": 7}) == PairSettings(line=7)
    assert PairSettings.from_json({"train": {}}).train == TrainSettings()
    with pytest.raises(SettingsError, match=r"^pair settings with unknown keys: planned, tol$"):
        PairSettings.from_json({"rtol": 1e-6, "tol": 1, "planned": []})
    with pytest.raises(SettingsError, match=r"^train with unknown keys: step$"):
        PairSettings.from_json({"train": {"step": 3}})
    with pytest.raises(SettingsError, match=r"^pair settings: train\.every must be an integer, "
                                            r"got '10'$"):
        PairSettings.from_json({"train": {"every": "10"}})
    with pytest.raises(SettingsError, match=r"^pair settings: rtol must be a number, got True$"):
        PairSettings.from_json({"rtol": True})


def test_the_worker_sends_what_the_pair_declares_and_defaults_for_its_bad_fields():
    def forward(x, training):
        return x

    good = read_settings(Pair(forward, object, [1.0], rtol=1e-4, timeout=30, xfail="drift",
                              tolerances={"out*": [1e-3, 0]}, optimizers=(object, object),
                              train=Train(steps=20)))
    assert (good.rtol, good.atol, good.timeout, good.xfail) == (1e-4, DEFAULT_ATOL, 30, "drift")
    assert good.tolerances == {"out*": (1e-3, 0)} and good.train == TrainSettings(steps=20)
    bad = read_settings(Pair(forward, object, [1.0], rtol="tight", skip="later"))
    assert bad.problems == ("rtol: expected a non-negative number, got 'tight'",)
    assert (bad.rtol, bad.skip) == (DEFAULT_RTOL, "later")
    assert PairSettings.from_json(json.loads(json.dumps(bad.to_json()))) == bad


def _literal_defaults(path: pathlib.Path) -> list[str]:
    """Where a module writes 1e-6 or 1e-5 as a number of its own."""
    tree = ast.parse(path.read_text(), str(path))
    return [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in (DEFAULT_RTOL, DEFAULT_ATOL)
            and not isinstance(node.value, bool)]


def test_the_default_tolerances_are_written_once():
    found = [where for folder in ("verdict", "worker", "plan", "run", "diagnose")
             for path in sorted((CHECKER / folder).glob("*.py"))
             for where in _literal_defaults(path)]
    found += _literal_defaults(CHECKER / "pair.py")
    assert found == []
