"""Where the reports go. Before any worker starts, a report path is refused (exit 2, nothing run)
when writing it would destroy something the user owns, and proved writable.

The rule: a report may replace only a file that tf-equiv wrote (a JUnit report or an HTML page
carrying its mark);
never one of the modules being checked, an input of `merge`, or any other existing file.
"""
from __future__ import annotations

import os
import tempfile
from typing import Iterable, NamedTuple, Optional
from xml.etree import ElementTree

from tf_equiv.errors import UsageError
from tf_equiv.report import html
from tf_equiv.report.junit import MARK


def written_by_us(path: str) -> bool:
    """A report of tf-equiv: an HTML page with its generator mark near the top, or a JUnit report
    marked, or (written before the mark) a <testsuites> whose suites carry the environment
    properties or the empty suite tf-equiv writes."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if head.lstrip().lower().startswith(b"<!doctype html"):
        return html.MARK.encode() in head
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return False
    if root.tag != "testsuites":
        return False
    if root.get(MARK[0]) == MARK[1]:
        return True
    suites = root.findall("testsuite")
    return bool(suites) and all(
        s.get("name") == "tf-equiv"
        or s.find("properties/property[@name='environment.tensorflow']") is not None
        for s in suites)


def check_report_path(option: str, path: str, protected: Iterable[str] = (),
                      protected_what: str = "") -> None:
    """Refuse a report path that names a protected file or an existing file tf-equiv did not
    write, or that cannot be written; say which rule, and change nothing."""
    _not_protected(option, path, protected, protected_what, "the report would overwrite it")
    if os.path.lexists(path) and not written_by_us(os.path.realpath(path)):
        raise UsageError(f"{option} {path}: exists and is not a tf-equiv report; tf-equiv "
                         "replaces only reports it wrote. Remove it or choose another path")
    _writable(option, path)


def check_rewritten_file(option: str, path: str, protected: Iterable[str] = (),
                         protected_what: str = "") -> None:
    """Refuse a file tf-equiv reads and rewrites (`--timings`, `--margins`) that names a
    protected file or cannot be written; its content is the reader's to judge."""
    _not_protected(option, path, protected, protected_what, "it would be overwritten")
    _writable(option, path)


def _not_protected(option: str, path: str, protected: Iterable[str], protected_what: str,
                   overwritten: str) -> None:
    real = os.path.realpath(path)
    for other in protected:
        if os.path.realpath(other) == real:
            raise UsageError(f"{option} {path}: that is {protected_what} {other}; {overwritten}. "
                             "Choose another path")
    if os.path.isdir(real):
        raise UsageError(f"{option} {path}: is a folder")


def _writable(option: str, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tf-equiv-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
        if os.path.exists(path):
            # Opening to append changes nothing, and fails where the replace would (an
            # immutable or read-only file).
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot be written ({e.strerror or e}); nothing was "
                         "run") from None


class Output(NamedTuple):
    """One place a run writes: the option that names it, its path, whether it is a folder."""

    option: str
    path: Optional[str]
    folder: bool = False


def check_distinct(outputs: Iterable[Output]) -> None:
    """Refuse two outputs (those given a path) that would write the same place: each needs its
    own path, outside every output folder, or one write would replace or mix with the other."""
    given = [(o, os.path.realpath(o.path)) for o in outputs if o.path]
    for i, (first, first_real) in enumerate(given):
        for second, second_real in given[i + 1:]:
            if first_real == second_real:
                raise UsageError(f"{second.option} {second.path}: is also the {first.option} "
                                 "path; each output needs its own path")
            for (inner, inner_real), (outer, outer_real) in (
                    ((second, second_real), (first, first_real)),
                    ((first, first_real), (second, second_real))):
                if outer.folder and os.path.commonpath([inner_real, outer_real]) == outer_real:
                    raise UsageError(f"{inner.option} {inner.path}: is inside the "
                                     f"{outer.option} folder {outer.path}; put each output "
                                     "outside the other's folder")
