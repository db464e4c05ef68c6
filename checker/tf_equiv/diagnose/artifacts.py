"""`--artifacts DIR`: the arrays of failing records, both sides, with the inputs, a JSON index and
a command that re-runs exactly that pair and check.

Small by default: per failing check, its first divergent record in forward order, and at most
MAX_BYTES of arrays over the run (records past the cap are listed in the index, not saved). A
folder that holds anything the index does not list is refused, so nothing of the user's is
overwritten or removed; a pair run again removes only the files the index lists for it, never
through a link, and each pair has its own folder (a legible name plus a hash of its whole id).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import threading
from typing import Any, Mapping, Optional

import numpy as np

from tf_equiv import checks
from tf_equiv.errors import UsageError
from tf_equiv.files import atomic_write, write_json
from tf_equiv.results import PairResult, RecordComparison
from tf_equiv.run.protocol import Inputs
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.run.sides import SideRun
from tf_equiv.run.store import folder_name

FORMAT = "tf-equiv-artifacts"
VERSION = 1
INDEX = "index.json"
MAX_BYTES = 256 * 1024 * 1024
_PAIR_ENTRY = "pair.json"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "_"


def _read_index(folder: str) -> Optional[dict]:
    try:
        with open(os.path.join(folder, INDEX), encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) and index.get("format") == FORMAT else None


def _listed(index: dict, pair_folder: Optional[str] = None) -> set[str]:
    """The files (relative paths) the index lists: every pair's, or one pair folder's."""
    files = set()
    for entry in index.get("failures", ()):
        if not isinstance(entry, dict) or not isinstance(entry.get("folder"), str):
            continue
        if pair_folder is not None and entry["folder"] != pair_folder:
            continue
        files.add(os.path.join(entry["folder"], _PAIR_ENTRY))
        files.update(f for f in [entry.get("inputs")] + [r.get("file") for r in
                                                         entry.get("records", ())
                                                         if isinstance(r, dict)]
                     if isinstance(f, str))
    return {os.path.normpath(f) for f in files}


def prepare(folder: str) -> None:
    """Create the folder, or check that an existing one holds only what its index lists."""
    if os.path.islink(folder) or (os.path.exists(folder) and not os.path.isdir(folder)):
        raise UsageError(f"--artifacts {folder}: exists and is not a folder")
    if os.path.isdir(folder) and os.listdir(folder):
        index = _read_index(folder)
        if index is None:
            raise UsageError(f"--artifacts {folder}: the folder is not empty and holds no "
                             f"tf-equiv {INDEX}; choose a new or empty folder (nothing in it "
                             "is overwritten)")
        ours = _listed(index) | {INDEX}
        for root, dirs, files in os.walk(folder):
            for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                path = os.path.relpath(os.path.join(root, name), folder)
                if path not in ours:
                    raise UsageError(f"--artifacts {folder}: holds {path}, which its {INDEX} "
                                     "does not list; tf-equiv writes only into a folder of its "
                                     "own artifacts. Move it, or choose a new or empty folder "
                                     "(nothing was changed)")
    try:
        os.makedirs(folder, exist_ok=True)
        _write_index(folder)
    except OSError as e:
        raise UsageError(f"--artifacts {folder}: cannot be written ({e.strerror or e}); nothing "
                         "was run") from None


def _no_link_above(folder: str, relative: str) -> bool:
    """Whether `relative` names a path inside `folder` reached through real folders only (a
    linked folder on the way would take an unlink elsewhere)."""
    parts = os.path.normpath(relative).split(os.sep)
    if os.path.isabs(relative) or ".." in parts:
        return False
    here = folder
    for part in parts[:-1]:
        here = os.path.join(here, part)
        if os.path.islink(here) or not os.path.isdir(here):
            return False
    return True


def _remove_previous(folder: str, pair_folder: str) -> None:
    """Remove the files the index lists for one pair folder (unlink never follows a link), then
    the folder if that left it empty."""
    index = _read_index(folder) or {}
    for relative in sorted(_listed(index, pair_folder)):
        path = os.path.join(folder, relative)
        if _no_link_above(folder, relative) and os.path.lexists(path) \
                and not os.path.isdir(path):
            os.unlink(path)
    pair_dir = os.path.join(folder, pair_folder)
    if os.path.islink(pair_dir):
        os.unlink(pair_dir)
    elif os.path.isdir(pair_dir) and not os.listdir(pair_dir):
        os.rmdir(pair_dir)


class Budget:
    """The bytes of arrays the run may still save, shared by the pairs running at once."""

    def __init__(self, limit: int = MAX_BYTES) -> None:
        self.left = limit
        self.limit = limit
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if size > self.left:
                return False
            self.left -= size
            return True


def _side_check(run: Optional[SideRun], check: str) -> Optional[SideCheck]:
    return run.check(check, ok=True) if run is not None else None


def rerun_command(module: str, pair: str, check: str, folder: str,
                  options: tuple[str, ...]) -> str:
    return " ".join(shlex.quote(a) for a in ("tf-equiv", "check", module, "--select",
                                             f"{pair}::{check}", *options, "--artifacts",
                                             folder))


def save_pair(folder: str, result: PairResult, module_path: str, runs: Mapping[str, SideRun],
              budget: Budget, options: tuple[str, ...] = ()) -> None:
    """Save the failing records of one pair (replacing what an earlier run saved for it)."""
    pair_folder = folder_name(f"{result.module}::{result.pair}")
    pair_dir = os.path.join(folder, pair_folder)
    _remove_previous(folder, pair_folder)
    failed = [c for c in result.cases if c.verdict in ("failed", "xfailed") and c.records]
    if not failed:
        return
    os.makedirs(pair_dir, exist_ok=True)
    inputs = _inputs(runs, pair_dir, folder)
    entries = []
    for case in failed:
        found = {"tf1": _side_check(runs.get("tf1"), checks.tf1_source(case.check)),
                 "tf2": _side_check(runs.get("tf2"), case.check)}
        first = next((r for r in case.records if not r), None)
        entry: dict[str, Any] = {
            "id": case.id, "folder": pair_folder, "module": result.module, "pair": result.pair,
            "check": case.check, "verdict": case.verdict, "message": case.message,
            "inputs": inputs,
            "rerun": rerun_command(module_path, result.pair, case.check, folder, options),
            "records": []}
        both = {side: event for side, event in found.items() if event is not None}
        if first is not None and len(both) == len(found):
            entry["records"].append(_save_record(pair_dir, case.check, first, both, budget,
                                                 folder))
        entries.append(entry)
    write_json(os.path.join(pair_dir, _PAIR_ENTRY), entries, indent=1)


def _inputs(runs: Mapping[str, SideRun], pair_dir: str, folder: str) -> Optional[str]:
    event = runs["tf2"].find(Inputs) if runs.get("tf2") else None
    source = event.file if event else None
    if not source or not os.path.exists(source):
        return None
    target = os.path.join(pair_dir, "inputs.npz")
    # A copy beside the target, then a rename: a link placed at the target is replaced, never
    # written through.
    with open(source, "rb") as src:
        atomic_write(target, lambda dst: shutil.copyfileobj(src, dst), binary=True)
    return os.path.relpath(target, folder)


def _save_record(pair_dir: str, check: str, record: RecordComparison,
                 found: Mapping[str, SideCheck], budget: Budget, folder: str) -> dict[str, Any]:
    arrays = {}
    for side in ("tf1", "tf2"):         # the one record, not the check's whole file
        with found[side].records() as records:
            arrays[side] = records.get(record.name)
    info: dict[str, Any] = {
        "name": record.name, "shape": list(record.shape), "max_abs": record.max_abs,
        "max_rel": record.max_rel, "worst_index": list(record.worst_index),
        "mismatched": record.mismatched, "total": record.total, "problem": record.problem}
    size = sum(int(np.asarray(a).nbytes) for a in arrays.values() if a is not None)
    if any(a is None for a in arrays.values()):
        info["saved"] = False
        info["note"] = "the record is missing on one side"
        return info
    if not budget.take(size):
        info["saved"] = False
        cap = f"{budget.limit >> 20} MiB" if budget.limit >= 1 << 20 else f"{budget.limit} bytes"
        info["note"] = f"not saved: the run's artifacts would exceed their cap of {cap} ({size} bytes)"
        return info
    path = os.path.join(pair_dir, f"{_safe(check)}.npz")
    save_arrays(path, {"tf1": arrays["tf1"], "tf2": arrays["tf2"]})
    info.update(saved=True, file=os.path.relpath(path, folder), keys=["tf1", "tf2"],
                bytes=size)
    return info


def _write_index(folder: str) -> None:
    entries = []
    for root, _, files in sorted(os.walk(folder)):
        path = os.path.join(root, _PAIR_ENTRY)
        if _PAIR_ENTRY in files and not os.path.islink(path):
            with open(path, encoding="utf-8") as f:
                entries += json.load(f)
    index = {"format": FORMAT, "version": VERSION, "max_bytes": MAX_BYTES,
             "note": "per failing check, the first divergent record in forward order; arrays "
                     "are .npz files with keys tf1 and tf2; `rerun` re-runs that pair and check",
             "failures": entries}
    write_json(os.path.join(folder, INDEX), index, indent=1)


def finish(folder: str) -> None:
    """Write the index of every pair's artifacts in the folder."""
    _write_index(folder)
