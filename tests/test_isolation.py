"""Every pair starts from the state of a fresh process, though workers are forked from one that
has imported TensorFlow: a pair that changes global state (a module variable, the global seed,
tf.config options, op determinism, Keras's auto-generated names, floatx), raises in the middle of
its build, hangs or crashes changes no verdict or message of the pairs after it."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from conftest import ROOT, check

from tf_equiv.protocol.requests import RunOptions, SideRequest
from tf_equiv.run import zygote
from tf_equiv.run.sides import Worker, worker_args

pytestmark = pytest.mark.tensorflow

MODULE = os.path.join(ROOT, "tests", "fixtures_isolation", "equiv_isolation.py")
PREFIX = "tests/fixtures_isolation/equiv_isolation.py::"
KILLS_PARENT = os.path.join(ROOT, "tests", "fixtures_isolation", "equiv_kills_parent.py")
KILLS_PREFIX = "tests/fixtures_isolation/equiv_kills_parent.py::"
GOOD = os.path.join(ROOT, "tests", "fixtures", "equiv_good.py")


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
    busy = Worker(sys.executable, *worker_args(SideRequest(
                      MODULE, "hangs", "tf1", str(tmp_path), ("transferred_inference",),
                      options=RunOptions(threads=1))),
                  str(tmp_path / "busy.log"), os.path.dirname(MODULE))
    try:
        assert busy.proc.forked
        refused = Worker(sys.executable, "tf_equiv.worker.zygote", [],
                         str(tmp_path / "refused.log"), os.path.dirname(MODULE))
        assert not refused.proc.forked      # a process of its own
        refused.proc.wait(60)
        time.sleep(1.0)
        assert busy.proc.poll() is None, "the zygote's worker was killed with the refusal"
    finally:
        busy.kill()
        zygote.shutdown()


def test_a_module_that_kills_its_parent_errors_alone_and_the_run_goes_on(tmp_path):
    """`os.kill(os.getppid(), SIGKILL)` at import, beside a correct pair: the worker's parent is
    its own guardian, neither the zygote that serves the other pairs nor the checker."""
    started = time.monotonic()
    run = check(tmp_path, KILLS_PARENT, GOOD, "--timeout", "30")
    took = time.monotonic() - started
    assert run.returncode == 1, (run.stdout[-3000:], run.stderr[-3000:])
    assert run.verdicts("tests/fixtures/equiv_good.py::good") and all(
        v == "passed" for v in run.verdicts("tests/fixtures/equiv_good.py::good").values()), \
        run.stdout[-3000:]
    bad = {k: c for k, c in run.cases.items() if "equiv_kills_parent.py::" in k}
    assert set(bad) == {f"{KILLS_PREFIX}kills_parent::variables_match",
                        f"{KILLS_PREFIX}kills_parent::transferred_inference"}, sorted(run.cases)
    for case in bad.values():
        assert case.verdict == "error"
        assert "side was killed with its parent process, which was killed first: code in " \
               "equiv_kills_parent.py that signals its parent (os.kill(os.getppid(), ...))" \
               in case.message, case.message
    assert took < 30, f"the run took {took:.0f} s: a pair waited for a lost process"


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


def test_a_lost_zygote_is_replaced_and_its_workers_go_on(tmp_path):
    """The zygote killed while a worker it forked runs: that worker goes on, and the next worker
    is forked from a zygote started in its place (not started on its own)."""
    def side(pair: str, name: str) -> Worker:
        (tmp_path / name).mkdir()
        worker = Worker(sys.executable, *worker_args(SideRequest(
                            MODULE, pair, "tf1", str(tmp_path / name), ("transferred_inference",),
                            options=RunOptions(threads=1))),
                        str(tmp_path / f"{name}.log"), os.path.dirname(MODULE))
        worker.reader.start()
        return worker

    zygote.shutdown()
    busy = after = None
    try:
        busy = side("hangs", "busy")
        (lost,) = zygote._zygotes.values()
        os.kill(lost.proc.pid, signal.SIGKILL)
        lost.proc.wait(10)
        after = side("witness", "after")
        (started,) = zygote._zygotes.values()
        assert started is not lost and started.proc.poll() is None
        assert _parent(_parent(after.proc.pid)) == started.proc.pid     # worker < guardian < zygote
        assert after.proc.wait(120) == 0, open(tmp_path / "after.log").read()[-3000:]
        assert busy.proc.poll() is None, "the lost zygote's worker was killed with it"
    finally:
        for worker in (busy, after):
            if worker is not None:
                worker.kill()
        zygote.shutdown()
