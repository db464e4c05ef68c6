"""A store of TF1 records is data: no path in it leads outside it, and no array in it is a pickle.
No TensorFlow here."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tf_equiv.errors import RecordsError
from tf_equiv.run.records import SideCheck
from tf_equiv.run.store import FORMAT, FORMAT_VERSION, MANIFEST, Store


def _store(tmp_path, folder: str, events: list) -> Store:
    root = tmp_path / "records"
    (root / "pair").mkdir(parents=True)
    (root / "pair" / "events.json").write_text(json.dumps(events))
    (root / MANIFEST).write_text(json.dumps({
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "pairs": {"equiv_m.py::p": {"folder": folder, "source_sha256": "0" * 64}}}))
    return Store(str(root))


@pytest.mark.parametrize("folder", ["../../../../etc", "/etc", "pair/../..", ""])
def test_a_manifest_folder_outside_the_store_is_refused(tmp_path, folder):
    store = _store(tmp_path, folder, [])
    with pytest.raises(RecordsError, match="the manifest's folder of equiv_m.py::p"):
        store.find("equiv_m.py::p")


def test_a_record_file_outside_the_store_is_refused(tmp_path):
    store = _store(tmp_path, "pair", [{"type": "check", "check": "transferred_inference",
                                       "file": "../../../etc/passwd"}])
    found = store.find("equiv_m.py::p")
    with pytest.raises(RecordsError, match="a record file of equiv_m.py::p .* leaves the store"):
        Store.side_run(found)


def test_a_link_out_of_the_store_is_refused(tmp_path):
    store = _store(tmp_path, "pair", [{"type": "check", "check": "c", "file": "tf1-c.npz"}])
    os.symlink("/etc/hostname", tmp_path / "records" / "pair" / "tf1-c.npz")
    with pytest.raises(RecordsError, match="leaves the store"):
        Store.side_run(store.find("equiv_m.py::p"))


def test_an_object_array_is_never_unpickled_and_names_its_record(tmp_path):
    path = tmp_path / "tf1-c.npz"
    np.savez(path, **{"outputs/label": np.array([b"a", None], dtype=object)})
    side = SideCheck("tf1", "transferred_inference", "ok", file=str(path))
    with pytest.raises(RecordsError, match="TF1 record 'outputs/label' of transferred_inference"):
        side.arrays()
