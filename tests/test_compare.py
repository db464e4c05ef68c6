"""compare.py: the statistics a user reads, on plain numpy arrays."""
from __future__ import annotations

import numpy as np
import pytest

from tf_equiv.verdict.compare import compare_arrays, compare_records


def tol(name):
    return (1e-6, 1e-5)


def test_equal_arrays_pass_with_zero_statistics():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    r = compare_arrays("outputs/x", a, a.copy(), 1e-6, 1e-5)
    assert r and r.max_abs == 0 and r.mismatched == 0 and r.total == 6 and not r.weak


def test_statistics_of_a_divergence():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b = a.copy()
    b[1, 0] += 0.03
    r = compare_arrays("outputs/x", a, b, 1e-6, 1e-5)
    assert not r
    assert r.mismatched == 1 and r.total == 4
    assert r.worst_index == (1, 0)
    assert abs(r.max_abs - 0.03) < 1e-6
    assert abs(r.max_rel - 0.01) < 1e-6
    # The tolerance that would have passed really passes, and a little less does not.
    assert compare_arrays("x", a, b, r.needed_rtol, 1e-5)
    assert not compare_arrays("x", a, b, r.needed_rtol * 0.99, 1e-5)
    assert compare_arrays("x", a, b, 1e-6, r.needed_atol)
    assert not compare_arrays("x", a, b, 1e-6, r.needed_atol * 0.99)
    assert "max abs diff 0.03, max rel diff 0.01 at index (1, 0); 1 of 4 elements mismatched" \
        in r.summary()


def test_nan_on_both_sides_never_passes():
    a = np.array([np.nan, 1.0])
    r = compare_arrays("outputs/x", a, a.copy(), 1, 1)
    assert not r and r.problem == "nonfinite"
    assert r.note == ("non-finite on both sides (TF1: NaN in 1 of 2 elements; "
                      "TF2: NaN in 1 of 2 elements)")


def test_inf_on_one_side():
    r = compare_arrays("x", np.ones(3), np.array([1.0, np.inf, 1.0]), 1e-6, 1e-5)
    assert not r
    assert r.note == "non-finite on TF2 only (inf in 1 of 3 elements); the other side is finite"


def test_all_equal_elements_pass_weakly():
    r = compare_arrays("outputs/p", np.full(5, 0.2), np.full(5, 0.2), 1e-6, 1e-5)
    assert r and r.weak


def test_shape_and_dtype_mismatch():
    assert compare_arrays("x", np.ones((2, 3)), np.ones(6), 1, 1).note == \
        "shape differs: TF1 (2, 3), TF2 (6,)"
    assert compare_arrays("x", np.ones(2, np.float32), np.ones(2, np.float64), 1, 1).note == \
        "dtype differs: TF1 float32, TF2 float64"


def test_first_divergence_follows_forward_order_not_dict_order():
    tf1 = {"outputs/b": np.ones(2), "outputs/a": np.ones(2)}
    tf2 = {"outputs/a": np.ones(2) * 2, "outputs/b": np.ones(2) * 3}
    out = compare_records("transferred_inference", tf1, tf2, tol, order=["outputs/a", "outputs/b"])
    assert out.verdict == "failed"
    assert "first divergence in forward order: outputs/a:" in out.message
    assert "(+1 more records differ)" in out.message


def test_vacuous_counts_the_records_before_it():
    tf1 = {"outputs/a": np.ones(2), "outputs/b": np.full(2, np.inf), "outputs/c": np.ones(2)}
    out = compare_records("constant_inference", tf1, dict(tf1), tol)
    assert out.verdict == "failed"
    assert out.message.startswith("constant_inference: vacuous: outputs/b is non-finite on both "
                                  "sides (TF1: inf in 2 of 2 elements; TF2: inf in 2 of 2 elements); "
                                  "1 of 3 records were finite and equal before it")


def test_structure_difference_names_paths():
    out = compare_records("c", {"outputs/a": np.ones(1)}, {"outputs/b": np.ones(1)}, tol)
    assert out.message == ("c: structure differs: 1 records only in TF1: outputs/a; "
                           "1 records only in TF2: outputs/b")


def test_weak_warning_ignores_constant_initializers():
    recs = {"initial/bias": np.zeros(3), "outputs/p": np.full(3, 0.5)}
    out = compare_records("c", recs, dict(recs), tol)
    assert out.verdict == "passed"
    assert out.warnings == ("weak comparison: 1 records have every element equal to one value on "
                            "both sides: outputs/p",)


def test_rename_inference_suggests_a_name_map():
    from tf_equiv.verdict.variables import infer_renames, suggest_name_map

    def spec(name, shape):
        return {"name": name, "shape": shape, "dtype": "float32", "trainable": True}

    tf1 = [spec("enc/dense/kernel", [3, 4]), spec("enc/dense/bias", [4]), spec("head/w", [4, 2])]
    tf2 = [spec("enc_v2/dense/kernel", [3, 4]), spec("enc_v2/dense/bias", [4]),
           spec("head/weights", [4, 2])]
    renames = infer_renames(tf1, tf2)
    assert renames == {"enc_v2/dense/kernel": "enc/dense/kernel",
                       "enc_v2/dense/bias": "enc/dense/bias", "head/weights": "head/w"}
    assert suggest_name_map(renames) == (
        "name_map=lambda name: {'enc_v2/dense/kernel:0': 'enc/dense/kernel', "
        "'enc_v2/dense/bias:0': 'enc/dense/bias', 'head/weights:0': 'head/w'}.get(name, name)")
    same = {k: v for k, v in renames.items() if k.startswith("enc_v2")}
    assert suggest_name_map(same) == "name_map=lambda name: name.replace('enc_v2/', 'enc/')"


def test_complex_differences_count_both_parts():
    a = np.array([1 + 1j, 2 + 0j], np.complex64)
    b = np.array([1 + 101j, 2 + 0j], np.complex64)
    out = compare_arrays("outputs", a, b, 1e-6, 1e-5)
    assert not out and out.max_abs == pytest.approx(100.0)


def test_large_integers_are_exact():
    a = np.array([2 ** 60, 1], np.int64)
    out = compare_arrays("outputs", a, a + np.array([1, 0]), 1.0, 1.0)
    assert not out and out.mismatched == 1 and "integers are compared exactly" in out.note


def test_narrow_float_formats_get_a_tolerance_of_their_precision():
    a = np.array([1.0, 2.0], np.float32)
    b = a * np.float32(1 + 2 ** -8)           # half a bfloat16 unit
    assert compare_arrays("outputs", a, b, 1e-6, 1e-5, dtypes=("bfloat16", "bfloat16"))
    assert not compare_arrays("outputs", a, b, 1e-6, 1e-5)
    assert not compare_arrays("outputs", a, b, 1e-6, 1e-5, dtypes=("bfloat16", "float16")).passed
