"""Every pair starts from the state of a fresh process, though workers are forked from one that
has imported TensorFlow: a pair that changes global state (a module variable, the global seed,
tf.config options, op determinism, Keras's auto-generated names, floatx), raises in the middle of
its build, hangs or crashes changes no verdict or message of the pairs after it."""
from __future__ import annotations

import os

import pytest
from conftest import ROOT, check

pytestmark = pytest.mark.tensorflow

MODULE = os.path.join(ROOT, "tests", "fixtures_isolation", "equiv_isolation.py")
PREFIX = "tests/fixtures_isolation/equiv_isolation.py::"


def _pair(run, pair: str) -> dict:
    return {k.split("::")[-1]: (c.verdict, c.message) for k, c in run.cases.items()
            if k.startswith(PREFIX + pair + "::")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    together = check(tmp_path_factory.mktemp("together"), MODULE, "--jobs", "1")
    alone = check(tmp_path_factory.mktemp("alone"), MODULE, "--jobs", "1", "--select", "witness")
    return together, alone


def test_the_polluters_did_what_they_meant(runs):
    together, _ = runs
    hangs, crashes, raises = (_pair(together, p) for p in ("hangs", "crashes", "raises"))
    assert "timed out after 8 s" in hangs["transferred_inference"][1], hangs
    assert "killed by SIGSEGV" in crashes["transferred_inference"][1], crashes
    assert "a failure in the middle of the build" in raises["transferred_inference"][1], raises
    # The control: the witness's own code in a process the polluter has changed fails.
    leaky = _pair(together, "leaky")
    assert leaky["transferred_inference"][0] == "failed", leaky


def test_the_pair_after_them_is_judged_as_if_alone(runs):
    together, alone = runs
    after, by_itself = _pair(together, "witness"), _pair(alone, "witness")
    assert by_itself and all(v == "passed" for v, _ in by_itself.values()), by_itself
    assert after == by_itself


def test_a_worker_the_zygote_refuses_runs_on_its_own_and_the_others_go_on(tmp_path):
    """A request the zygote refuses (a module it does not run) must not end the zygote: the
    workers it forked before run on (they used to be killed with it)."""
    import sys
    import time

    from tf_equiv.run import zygote
    from tf_equiv.run.sides import Worker

    busy = Worker(sys.executable, "tf_equiv.worker",
                  ["--module", MODULE, "--pair", "hangs", "--side", "tf1", "--out",
                   str(tmp_path), "--checks", "transferred_inference"],
                  str(tmp_path / "busy.log"), os.path.dirname(MODULE), 1)
    try:
        assert isinstance(busy.proc, zygote.Forked)
        refused = Worker(sys.executable, "tf_equiv.worker.zygote", [],
                         str(tmp_path / "refused.log"), os.path.dirname(MODULE), 1)
        assert not isinstance(refused.proc, zygote.Forked)      # a process of its own
        refused.proc.wait(60)
        time.sleep(1.0)
        assert busy.proc.poll() is None, "the zygote's worker was killed with the refusal"
    finally:
        busy.kill()
        zygote.shutdown()
