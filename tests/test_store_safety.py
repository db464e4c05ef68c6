"""A store of TF1 records is data: no path in it leads outside it, and no array in it is a pickle.
No TensorFlow here."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import tf_equiv

from tf_equiv.errors import RecordsError, UsageError
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


def test_a_linked_events_file_out_of_the_store_is_refused(tmp_path):
    """As a linked record file: the events a store holds are its own, never a file elsewhere."""
    store = _store(tmp_path, "pair", [])
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps([{"type": "check", "check": "c", "status": "ok"}]))
    events = tmp_path / "records" / "pair" / "events.json"
    events.unlink()
    os.symlink(elsewhere, events)
    with pytest.raises(RecordsError, match=r"the events of equiv_m.py::p in .*pair leaves the "
                                           r"store: 'events.json'"):
        Store.side_run(store.find("equiv_m.py::p"))


MANIFEST_HEAD = {"format": FORMAT, "format_version": FORMAT_VERSION}


@pytest.mark.parametrize("manifest, problem", [
    ([1, 2], "not a tf-equiv records manifest (a list, not an object)"),
    ({**MANIFEST_HEAD, "pairs": None},
     'field "pairs" is null, not an object of pair ids to their records; record again'),
    ({**MANIFEST_HEAD, "pairs": {"equiv_m.py::p": "pair"}},
     'field pairs["equiv_m.py::p"] is a string, not an object; record again'),
    ({**MANIFEST_HEAD, "pairs": {"equiv_m.py::p": {"folder": "pair"}}},
     'field pairs["equiv_m.py::p"] has no field source_sha256; record again'),
    ({**MANIFEST_HEAD, "pairs": {"equiv_m.py::p": {"folder": "pair", "source_sha256": "0",
                                                   "environment": []}}},
     'field pairs["equiv_m.py::p"].environment is a list, not an object; record again'),
])
def test_a_manifest_of_another_shape_is_a_usage_error_naming_the_field(tmp_path, manifest,
                                                                        problem):
    root = tmp_path / "records"
    root.mkdir()
    (root / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(UsageError) as e:
        Store(str(root))
    assert str(e.value) == f"{root / MANIFEST}: {problem}"


@pytest.mark.parametrize("manifest", [[], {**MANIFEST_HEAD, "pairs": None}])
def test_check_against_a_manifest_of_another_shape_exits_2(tmp_path, manifest):
    """Refused before any side runs: no TensorFlow here."""
    (tmp_path / "equiv_m.py").write_text(
        "import numpy as np\nimport tf_equiv\n\n\ndef tf1(inputs, training):\n    return inputs\n\n\n"
        "p = tf_equiv.Pair(tf1=tf1, tf2=lambda: tf1, inputs=lambda: np.ones(2, np.float32))\n")
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / MANIFEST).write_text(json.dumps(manifest))
    proc = tf_equiv("check", str(tmp_path), "--against", str(tmp_path / "records"),
                    "--no-github", cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"tf-equiv: error: {tmp_path / 'records' / MANIFEST}: ")
    assert "Traceback" not in proc.stderr
