"""pytest plugin: each equiv_*.py module is a test file, each pair a group, each check a test.

Collection reads the modules as `tf-equiv list` does; a pair's first selected check runs its sides
in workers as `tf-equiv check` does, and its other checks read that result. Neither TensorFlow nor
the user's modules are imported in the pytest process (factory-made pairs are listed by a worker).
"""
from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import signal
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator, Optional, Union

import pytest

from tf_equiv import engine
from tf_equiv.errors import TfEquivError
from tf_equiv.plan import discover, interpreters, planner
from tf_equiv.plan.discover import PlannedPair, skipped_dir
from tf_equiv.protocol.requests import RunOptions
from tf_equiv.pytest.entry import add_options
from tf_equiv.results import MODULE_CASE, CaseResult, PairResult
from tf_equiv.verdict.judge import module_error

if TYPE_CHECKING:
    from _pytest._code.code import TracebackStyle  # the type of Node.repr_failure's `style`

#: What Item.reportinfo returns: (path, 0-based line or None, the test's name in reports).
_ReportInfo = tuple[Union[os.PathLike[str], str], Optional[int], str]


class CaseFailed(TfEquivError):
    """Raised by a test whose case failed or errored; pytest shows the case, not a traceback."""

    def __init__(self, case: CaseResult) -> None:
        super().__init__(case.message)
        self.case = case


class TfEquivWarning(UserWarning):
    """A warning of a case that passed, such as a weak comparison."""


@dataclass
class _Run:
    """What every pair of one pytest session shares: the engine config, a workdir, a stop flag."""

    config: planner.Config
    threads: int
    stop: threading.Event = field(default_factory=threading.Event)
    _workdir: Optional[str] = None

    def workdir(self) -> str:
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix="tf-equiv-pytest-")
        return self._workdir

    def close(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a thread, so that Ctrl-C or SIGTERM stop the sides before pytest ends."""
        # The sides run in their own sessions: signals reach pytest only, and the engine kills
        # them when `stop` is set. Leaving the executor's `with` waits until it has.
        with _stopped_by_sigterm(self.stop, self.close), ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(fn, *args)
            try:
                return future.result()
            except KeyboardInterrupt:
                self.stop.set()
                raise


@contextlib.contextmanager
def _stopped_by_sigterm(stop: threading.Event, cleanup: Callable[[], None]) -> Iterator[None]:
    """A SIGTERM meanwhile sets `stop`; on leaving, `cleanup` runs and the signal is delivered
    again to its former handler (pytest's own cleanup does not run on SIGTERM)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = threading.Event()

    def on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
        received.set()
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if received.is_set():
            cleanup()
            signal.raise_signal(signal.SIGTERM)


RUN = pytest.StashKey[_Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    # Tests run one at a time, so each side may use half the cores (less under pytest-xdist).
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    threads = max(1, (os.cpu_count() or 1) // (2 * max(1, processes)))
    run = _Run(planner.Config(jobs=1, timeout=config.getoption("tf_equiv_timeout", 900.0),
                              options=RunOptions(compat_fixes=config.getoption(
                                  "tf_equiv_compat_fixes", True)),
                              explain=config.getoption("tf_equiv_explain", True),
                              tf1_python=_tf1_python(config)),
               threads)
    config.stash[RUN] = run
    config.add_cleanup(run.close)


def _tf1_python(config: pytest.Config) -> Optional[str]:
    """The TF1 side's interpreter as `tf-equiv check` finds it, the project file looked for above
    the paths pytest was given (its root folder without any)."""
    paths = [arg.split("::")[0] for arg in config.args if not arg.startswith("-")] \
        or [str(config.rootpath)]
    try:
        return interpreters.tf1_python(config.getoption("tf_equiv_tf1_python", None), paths)
    except TfEquivError as e:
        raise pytest.UsageError(f"tf-equiv: {e}") from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.File]:
    if is_equiv_module(file_path, parent.session):
        return EquivModule.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path,
                                parent: pytest.Collector) -> Optional[pytest.File]:
    # pytest's Python collector asks for equiv modules named on the command line (or matched by
    # python_files): importing them here would import TensorFlow, so it gets an empty stand-in.
    if fnmatch.fnmatchcase(module_path.name, discover.PATTERN):
        return _NotImported.from_parent(parent, path=module_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo) -> Generator[None, Any, Any]:
    report = yield
    if not isinstance(item, CaseItem):
        return report
    # pytest.skip() locates a skip where it was raised, in this file; point at the Pair instead.
    if report.skipped and isinstance(report.longrepr, tuple) and not hasattr(report, "wasxfail"):
        report.longrepr = (os.fspath(item.path), (item.location[1] or 0) + 1, report.longrepr[2])
    # A non-strict xfail that passed: shown as pytest shows its own (XPASS), and still a pass.
    if call.when == "call" and report.passed and item.last_case is not None \
            and item.last_case.verdict == "xpassed":
        report.wasxfail = item.last_case.message
    return report


def is_equiv_module(path: Path, session: pytest.Session) -> bool:
    """`tf-equiv check`'s discovery: equiv_*.py outside hidden folders and environments."""
    if not fnmatch.fnmatchcase(path.name, discover.PATTERN):
        return False
    if session.isinitpath(path):
        return True
    for folder in path.parents:
        if session.isinitpath(folder):
            return True     # as in find_modules, the folder given is searched whatever its name
        if skipped_dir(str(folder)):
            return False
    return True


class _NotImported(pytest.File):
    """Stands in for pytest's Module of an equiv module; the EquivModule node holds its checks."""

    def collect(self) -> list[Union[pytest.Item, pytest.Collector]]:
        return []


class EquivModule(pytest.File):
    """One equiv_*.py module: a PairNode per pair, or one failing test when it cannot be read."""

    def collect(self) -> Iterator[Union[pytest.Item, pytest.Collector]]:
        run = self.config.stash[RUN]
        module = discover.read_module(str(self.path))
        if module.error:
            broken: Optional[PairResult] = module_error(module.display, module.error,
                                                        module.error_line)
        elif module.pairs and not module.hidden:
            broken, planned = None, planner.plan_module(run.config, module, module.pairs)
        else:
            # Pairs made at import time (by a factory, say): a worker imports the module to list
            # them all; a worker, not this process, so that TensorFlow stays out of pytest.
            broken, runs = run.call(engine.collect, module, run.config, run.workdir(), run.stop)
            planned = [] if broken else planner.discovered(run.config, module, runs)
            if broken is None:
                broken = planner.misnamed(module, runs)
                if broken is not None:
                    yield ModuleItem.from_parent(self, name=MODULE_CASE, case=broken.cases[0])
                    broken = None
        if broken is not None:
            yield ModuleItem.from_parent(self, name=MODULE_CASE, case=broken.cases[0])
            return
        for pair in planned:
            yield PairNode.from_parent(self, name=pair.declared.name, planned=pair)


class PairNode(pytest.Collector):
    """One pair: a CheckItem per planned check; the pair runs once, for all of them."""

    def __init__(self, *, planned: PlannedPair, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self._result: Optional[PairResult] = None

    def collect(self) -> list[CheckItem]:
        return [CheckItem.from_parent(self, name=check) for check, _ in self.planned.checks]

    def reportinfo(self) -> _ReportInfo:
        return self.path, max(self.planned.declared.line - 1, 0), self.name

    def result(self) -> PairResult:
        """The pair's result, running its sides on the first call."""
        if self._result is None:
            self._result = self._run()
        return self._result

    def _run(self) -> PairResult:
        run = self.config.stash[RUN]
        # Only the checks pytest kept (-k, node ids) are run: the others would cost worker time.
        kept = {item.name for item in self.session.items if item.parent is self}
        checks = tuple(c for c in self.planned.checks if c[0] in kept) or self.planned.checks
        planned = replace(self.planned, checks=checks)
        config = replace(run.config, select=tuple(f"{self.name}::{c}" for c, _ in checks))
        result, _ = run.call(engine.run_pair, planned, config, run.workdir(), run.threads, run.stop)
        return result

    def case(self, check: str) -> CaseResult:
        found = next((c for c in self.result().cases if c.check == check), None)
        if found is not None:
            return found
        # The worker's plan, read when it imports the module, can be narrower than the static one
        # (a `checks=` that is not a literal): the check is not part of this pair.
        return CaseResult(self.planned.module.display, self.name, check, "skipped",
                          f"{check}: not among the checks the pair plans when imported",
                          file=self.planned.module.display, line=self.planned.declared.line)


class CaseItem(pytest.Item):
    """One tf-equiv case as a pytest test: the case's verdict becomes the test's outcome."""

    last_case: Optional[CaseResult] = None    # of the last run, for the report hook

    def case(self) -> CaseResult:
        raise NotImplementedError

    def runtest(self) -> None:
        case = self.last_case = self.case()
        self.user_properties.append(("tf_equiv_verdict", case.verdict))
        for text in case.warnings:
            self.user_properties.append(("tf_equiv_warning", text))
            warnings.warn_explicit(text, TfEquivWarning,
                                   case.file or str(self.path), case.line or 1)
        if case.verdict in ("failed", "error"):
            raise CaseFailed(case)
        if case.verdict == "skipped":
            pytest.skip(case.message)
        if case.verdict == "xfailed":
            pytest.xfail(case.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Optional[TracebackStyle] = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return CaseRepr(excinfo.value.case)
        return super().repr_failure(excinfo, style=style)   # a bug of the plugin: its traceback


class CheckItem(CaseItem):
    """One check of a pair (`module.py::pair::check`)."""

    def case(self) -> CaseResult:
        assert isinstance(self.parent, PairNode)
        return self.parent.case(self.name)

    def reportinfo(self) -> _ReportInfo:
        assert isinstance(self.parent, PairNode)
        line = max(self.parent.planned.declared.line - 1, 0)
        return self.path, line, f"{self.parent.name}::{self.name}"


class ModuleItem(CaseItem):
    """A module that cannot be read or imported: one failing test with the reason."""

    def __init__(self, *, case: CaseResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._case = case

    def case(self) -> CaseResult:
        return self._case

    def reportinfo(self) -> _ReportInfo:
        return self.path, (self._case.line - 1 if self._case.line else None), self.name


@dataclass(frozen=True)
class _Crash:
    """The one-line summary pytest prints for a failure (`-ra`, `--tb=line`, JUnit message)."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


class CaseRepr:
    """A failed or errored case as pytest shows it: the message, the statistics, the location."""

    def __init__(self, case: CaseResult) -> None:
        self.case = case
        prefix = "error: " if case.verdict == "error" else ""
        self.reprcrash = _Crash(case.file, case.line, prefix + case.message)

    def lines(self) -> list[str]:
        detail = self.case.detail.rstrip()
        return [self.reprcrash.message, *("    " + line for line in detail.splitlines()),
                "", f"{self.case.file}:{self.case.line}: {self.case.verdict}"]

    def toterminal(self, tw: Any) -> None:
        message, *rest = self.lines()
        tw.line(message, red=True, bold=True)
        for line in rest:
            tw.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines())
