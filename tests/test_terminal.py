"""The terminal report: the error per endpoint of a failing check, first divergence marked."""
from __future__ import annotations

import io

import numpy as np

from tf_equiv.report import terminal
from tf_equiv.results import CaseResult, PairResult, Report
from tf_equiv.verdict.compare import compare_records


def test_error_per_endpoint_marks_the_first_divergence():
    tf1 = {f"outputs/{n}": np.ones(4, np.float32) for n in ("conv1", "block1", "block2", "logits")}
    tf2 = {**tf1, "outputs/block1": np.full(4, 1.01, np.float32),
           "outputs/logits": np.full(4, np.inf, np.float32)}
    outcome = compare_records("transferred_inference", tf1, tf2, lambda name: (1e-6, 1e-5))
    case = CaseResult("equiv_x.py", "p", "transferred_inference", "failed", outcome.message,
                      detail=outcome.detail, records=outcome.records)
    out = io.StringIO()
    terminal.final(Report((PairResult("equiv_x.py", "p", (case,)),), 1.0), out)
    table = out.getvalue().split("error per endpoint, in forward order (transferred_inference):\n")[1]
    assert table.splitlines()[:4] == [
        "      outputs/conv1   max rel 0         max abs 0",
        "      outputs/block1  max rel 0.01      max abs 0.01  <- first divergence",
        "      outputs/block2  max rel 0         max abs 0",
        "      outputs/logits  non-finite on TF2 only (inf in 4 of 4 elements); the other side "
        "is finite  x",
    ]
