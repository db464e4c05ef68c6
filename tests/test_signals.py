"""Any sequence of SIGINT and SIGTERM, at any moment of a run, stops it within a second or two,
leaves no worker behind, and writes a report that JUnit readers parse."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import GITHUB_VARIABLES, ROOT
from junitparser import JUnitXml

pytestmark = pytest.mark.tensorflow

SLOW = os.path.join(ROOT, "tests", "fixtures_truth", "equiv_slow.py")
TERM, INT = signal.SIGTERM, signal.SIGINT


def _workers() -> list:
    found = subprocess.run(["pgrep", "-f", f"--module {SLOW}"], capture_output=True, text=True)
    return found.stdout.split()


@pytest.mark.parametrize("delay, signals", [
    # The first moments (planning, once the interpreter is up): a small report, never a bare 143.
    (1.0, (TERM,)),
    (1.5, (TERM, INT)),
    (3.0, (INT, TERM)),
    (8.0, (TERM, INT)),         # workers importing TensorFlow or running the user's code
    (8.0, (INT, INT, TERM)),
])
def test_signals_stop_the_run_and_leave_a_report(tmp_path, delay, signals):
    report = tmp_path / "report.xml"
    env = {k: v for k, v in os.environ.items() if k not in GITHUB_VARIABLES}
    proc = subprocess.Popen([sys.executable, "-m", "tf_equiv", "check", SLOW, "--no-explain",
                             "--junit-xml", str(report)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    for sig in signals:
        proc.send_signal(sig)
        time.sleep(0.2)
    sent = time.monotonic()
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    assert proc.returncode == 1, (proc.returncode, out[-2000:], err[-2000:])
    assert took < 5, f"the run took {took:.1f} s to stop after the last signal"
    cases = [tc for suite in JUnitXml.fromfile(str(report)) for tc in suite]
    assert cases, "the report holds no case"
    assert all(tc.result and "interrupted" in (tc.result[0].message or "") for tc in cases), \
        [tc.result[0].message for tc in cases if tc.result]
    deadline = time.monotonic() + 5
    while _workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers() == []
