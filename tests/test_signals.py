"""Any sequence of SIGINT and SIGTERM, at any moment of a run, stops it within a second or two,
leaves no worker behind, and writes a report that JUnit readers parse."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from conftest import GITHUB_VARIABLES, ROOT, processes_with
from junitparser import JUnitXml

pytestmark = pytest.mark.tensorflow

SLOW = os.path.join(ROOT, "tests", "fixtures_truth", "equiv_slow.py")
SLOW_EXPLAIN = os.path.join(ROOT, "tests", "fixtures_truth", "equiv_slow_explain.py")
TERM, INT = signal.SIGTERM, signal.SIGINT
#: One seed per session, printed with every failure: a failing sequence can be replayed.
SEED = int(os.environ.get("TF_EQUIV_SIGNAL_SEED", random.SystemRandom().randrange(10**6)))


def _workers(mark: str) -> list:
    """Every process started for this run (the zygote, forked and spawned workers, whatever user
    code started), found by the environment variable the run was started with."""
    return processes_with(mark, "environ")


def _run(module: str, tmp_path, delay: float, signals: list, extra: tuple = (),
         at_least: int = 0) -> None:
    report = tmp_path / "report.xml"
    mark = f"TF_EQUIV_SIGNAL_TEST={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k not in GITHUB_VARIABLES}
    env.update([mark.split("=", 1)])
    proc = subprocess.Popen([sys.executable, "-m", "tf_equiv", "check", module, *extra,
                             "--junit-xml", str(report)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    # On a loaded machine the workers may start later than `delay`: the moment the test means is
    # the one they are there, so it waits for them (a minute at most) before signalling.
    waited = time.monotonic() + 60
    while len(_workers(mark)) < at_least and time.monotonic() < waited and proc.poll() is None:
        time.sleep(0.1)
    running = len(_workers(mark))       # the run itself, and what it started
    for sig, gap in signals:
        proc.send_signal(sig)
        time.sleep(gap)
    sent = time.monotonic()
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    said = f"seed {SEED}, after {delay:.2f} s ({running} processes): {signals}"
    assert proc.returncode == 1, (said, proc.returncode, out[-2000:], err[-2000:])
    # A second for the run to stop, kill its workers and write its report; the rest is the
    # interpreter's own exit on a loaded machine.
    assert took < 1.5, f"{said}: the run took {took:.1f} s to stop after the last signal"
    cases = [tc for suite in JUnitXml.fromfile(str(report)) for tc in suite]
    assert cases, f"{said}: the report holds no case"
    deadline = time.monotonic() + 5
    while _workers(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers(mark) == [], f"{said}: workers left behind"
    return cases, running


@pytest.mark.parametrize("delay, signals", [
    # The first moments (planning, once the interpreter is up): a small report, never a bare 143.
    (1.0, ((TERM, 0.2),)),
    (1.5, ((TERM, 0.2), (INT, 0.2))),
    (3.0, ((INT, 0.2), (TERM, 0.2))),
    (8.0, ((TERM, 0.2), (INT, 0.2))),   # workers importing TensorFlow or running the user's code
    (8.0, ((INT, 0.2), (INT, 0.2), (TERM, 0.2))),
])
def test_signals_stop_the_run_and_leave_a_report(tmp_path, delay, signals):
    cases, running = _run(SLOW, tmp_path, delay, list(signals), ("--no-explain",),
                          at_least=4 if delay >= 8 else 0)
    if delay >= 8:      # the run, the zygote and both sides' workers were there to be stopped
        assert running >= 4, running
    assert all(tc.result and "interrupted" in (tc.result[0].message or "") for tc in cases), \
        [tc.result[0].message for tc in cases if tc.result]


@pytest.mark.parametrize("draw", range(4))
def test_a_random_sequence_of_signals_at_a_random_moment(tmp_path, draw):
    rng = random.Random(SEED * 10 + draw)
    delay = rng.uniform(0.5, 10.0)
    signals = [(rng.choice((TERM, INT)), rng.uniform(0.0, 0.5)) for _ in range(rng.randint(1, 4))]
    _run(SLOW, tmp_path, delay, signals, ("--no-explain",))


def test_a_signal_while_a_failure_is_explained(tmp_path):
    """The pair fails at once; its explanation (oneDNN off) hangs until a signal stops it."""
    cases, running = _run(SLOW_EXPLAIN, tmp_path, 12.0, [(TERM, 0.2)])
    assert running >= 3, running      # the run and the explanation's workers
    failed = {tc.name: tc.result[0].message or "" for tc in cases if tc.result}
    assert "transferred_inference" in " ".join(failed), failed
    assert any("not explained: interrupted" in m or "interrupted" in m for m in failed.values()), \
        failed


def _zygotes(mark: str) -> list:
    """The run's zygote processes (and anything forked from them before they forked a worker)."""
    found = []
    for pid in _workers(mark):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"tf_equiv.worker.zygote" in argv and b"--guard" not in argv:
            found.append(pid)
    return found


@pytest.mark.parametrize("sig", [TERM, INT])
def test_the_zygote_ends_with_a_run_stopped_while_it_imports_tensorflow(tmp_path, sig):
    mark = f"TF_EQUIV_SIGNAL_TEST={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k not in GITHUB_VARIABLES}
    env.update([mark.split("=", 1)])
    proc = subprocess.Popen([sys.executable, "-m", "tf_equiv", "check", SLOW, "--no-explain",
                             "--junit-xml", str(tmp_path / "report.xml")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _zygotes(mark) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert _zygotes(mark), "no zygote was started"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 1, (out[-2000:], err[-2000:])
    deadline = time.monotonic() + 1.0
    while _zygotes(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _zygotes(mark) == [], "the zygote outlived the run"
