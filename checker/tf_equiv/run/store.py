"""Stored TF1 records: what `tf-equiv record` writes and `tf-equiv check --against` reads.

Layout (format 1), portable across machines and TensorFlow versions:

    DIR/manifest.json                   format, versions, device, and one entry per pair
    DIR/<pair folder>/events.json       the TF1 side's events, record files named relative to it
    DIR/<pair folder>/tf1-*.npz         the records (numpy .npz, no pickles)

A pair's entry holds the SHA-256 of its module's source and of its inputs: a store whose hashes no
longer match is reported as stale, never silently used.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from typing import Optional

from tf_equiv.errors import RecordsError, UsageError
from tf_equiv.files import write_json
from tf_equiv.run import protocol
from tf_equiv.run.protocol import Environment, Inputs, ProtocolError
from tf_equiv.run.sides import SideRun

FORMAT = "tf-equiv-records"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def source_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def folder_name(pair_id: str) -> str:
    """A folder name for a pair id: one path component, a short hash of the whole id (distinct
    ids never share a folder) and a legible tail."""
    legible = re.sub(r"[^A-Za-z0-9_.-]+", "_", pair_id)[-80:].lstrip(".")
    return f"{hashlib.sha256(pair_id.encode()).hexdigest()[:10]}-{legible}"


@dataclass(frozen=True)
class StoredPair:
    pair_id: str
    folder: str                 # absolute
    source_sha256: str
    inputs_sha256: str
    environment: dict


class Store:
    """A records folder; safe to fill from several pair threads at once."""

    def __init__(self, root: str, create: bool = False) -> None:
        self.root = os.path.abspath(root)
        self._lock = threading.Lock()
        path = os.path.join(self.root, MANIFEST)
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    self.manifest = json.load(f)
            except RecursionError:
                raise UsageError(f"{path}: not a tf-equiv records manifest (nested too "
                                 "deeply)") from None
            except (OSError, ValueError) as e:
                raise UsageError(f"{path}: not a tf-equiv records manifest ({e})") from None
            _check_manifest(path, self.manifest)
        elif create:
            os.makedirs(self.root, exist_ok=True)
            self.manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "pairs": {}}
        else:
            raise UsageError(f"no records in {root}: {MANIFEST} not found "
                             "(write them with tf-equiv record --side tf1 --out DIR)")

    def pair_folder(self, pair_id: str) -> str:
        """An empty folder for a pair's records (a previous recording of it is replaced)."""
        folder = os.path.join(self.root, folder_name(pair_id))
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        return folder

    def save(self, pair_id: str, folder: str, run: SideRun, source: str) -> None:
        """Store one pair's TF1 run: its events (paths made relative) and its manifest entry."""
        events = []
        for _, event in run.events:
            data = protocol.to_json(event)
            for key in FILE_FIELDS:
                if data.get(key):
                    data[key] = os.path.relpath(data[key], folder)
            events.append(data)
        write_json(os.path.join(folder, "events.json"), events, indent=1, sort_keys=True)
        env = run.find(Environment) or Environment()
        inputs = run.find(Inputs) or Inputs()
        with self._lock:
            self.manifest.setdefault("environment", env.environment)
            self.manifest["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
            self.manifest["pairs"][pair_id] = {
                "folder": os.path.basename(folder), "source_sha256": source,
                "inputs_sha256": inputs.sha256, "finished": run.finished,
                "environment": env.environment, "compat_fixes": list(env.compat_fixes),
            }
            write_json(os.path.join(self.root, MANIFEST), self.manifest, indent=1, sort_keys=True)

    def find(self, pair_id: str) -> Optional[StoredPair]:
        """The pair's stored records; RecordsError when its folder would leave the store."""
        entry = self.manifest["pairs"].get(pair_id)
        if entry is None:
            return None
        folder = inside(self.root, entry.get("folder"), f"the manifest's folder of {pair_id}")
        return StoredPair(pair_id, folder, entry["source_sha256"],
                          entry.get("inputs_sha256", ""), entry.get("environment", {}))

    @staticmethod
    def side_run(stored: StoredPair) -> SideRun:
        """The stored TF1 side, as if it had just run; every file it names stays in its folder."""
        # A link may point elsewhere in the folder, never out of it (as every record file).
        path = inside(stored.folder, "events.json", f"the events of {stored.pair_id}")
        try:
            with open(path, encoding="utf-8") as f:
                events = json.load(f)
        except RecursionError:
            raise RecordsError(f"{stored.folder}/events.json: cannot be read (nested too "
                               "deeply)") from None
        except (OSError, ValueError) as e:
            raise RecordsError(f"{stored.folder}/events.json: cannot be read ({e})") from None
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise RecordsError(f"{stored.folder}/events.json: not a list of events")
        for event in events:
            for key in FILE_FIELDS:
                if event.get(key):
                    event[key] = inside(stored.folder, event[key],
                                        f"a record file of {stored.pair_id}")
        try:
            decoded = [protocol.from_json(e) for e in events]
        except (ProtocolError, TypeError) as e:
            raise RecordsError(f"{stored.folder}/events.json: {e} (recorded by another version "
                               "of tf-equiv? record again)") from None
        return SideRun("tf1", events=[(0.0, e) for e in decoded], returncode=0)


def _kind(value: object) -> str:
    """What a JSON value is, in the words of JSON."""
    for kind, words in ((bool, "true or false"), (dict, "an object"), (list, "a list"),
                        (str, "a string"), ((int, float), "a number")):
        if isinstance(value, kind):
            return words
    return "null"


def _check_manifest(path: str, manifest: object) -> None:
    """UsageError, naming the file and the field, unless `manifest` is one that this tf-equiv
    wrote: every field that find() and the checks read has the type they read."""
    if not isinstance(manifest, dict):
        raise UsageError(f"{path}: not a tf-equiv records manifest ({_kind(manifest)}, not an "
                         "object)")
    if manifest.get("format") != FORMAT:
        raise UsageError(f"{path}: not a tf-equiv records manifest (no format field)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"{path}: records format {manifest.get('format_version')}, "
                         f"this tf-equiv reads format {FORMAT_VERSION}; record again")
    pairs = manifest.get("pairs")
    if not isinstance(pairs, dict):
        raise UsageError(f'{path}: field "pairs" is {_kind(pairs)}, not an object of pair ids '
                         "to their records; record again")
    for pair_id, entry in pairs.items():
        where = f"{path}: field pairs[{json.dumps(pair_id)}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where} is {_kind(entry)}, not an object; record again")
        for key, kind, required in (("source_sha256", str, True), ("inputs_sha256", str, False),
                                    ("environment", dict, False)):
            if key not in entry and not required:
                continue
            if key not in entry:
                raise UsageError(f"{where} has no field {key}; record again")
            if not isinstance(entry[key], kind):
                raise UsageError(f"{where}.{key} is {_kind(entry[key])}, not "
                                 f"{'a string' if kind is str else 'an object'}; record again")


#: The fields of an event that name a file in the pair's folder (a check's records, the TF1
#: values and a training run's batches of a transfer).
FILE_FIELDS = ("file", "batches")


def inside(root: str, relative: object, what: str) -> str:
    """`root/relative`, refused (RecordsError) unless it is a plain relative path that stays
    inside `root` once links are resolved: a store is data, never a way to read elsewhere."""
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        raise RecordsError(f"{what} in {root} is not a relative path: {relative!r}")
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([real_root, path]) != real_root or path == real_root:
        raise RecordsError(f"{what} in {root} leaves the store: {relative!r}")
    return path
