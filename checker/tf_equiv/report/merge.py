"""`tf-equiv merge`: the JUnit reports of several shards combined into one Report."""
from __future__ import annotations

import os
from typing import Sequence

from tf_equiv.errors import UsageError
from tf_equiv.report.read_junit import read_junit
from tf_equiv.results import MODULE_CASE, PairResult, Report


def merge(paths: Sequence[str]) -> Report:
    """One Report of the pairs of every report, modules in the order first seen; UsageError when
    a file is missing or foreign, or a pair appears in two files. A case whose charts cannot be
    read is merged without them, and said in the Report's errors (the run then exits 1).

    Its duration is the sum of the reports' wall times: what the shards cost in CI minutes, not
    how long the slowest one took.
    """
    if not paths:
        raise UsageError("no reports to merge")
    seen_paths: dict[str, str] = {}  # real path -> the path as given
    for path in paths:
        real = os.path.realpath(path)
        if real in seen_paths:
            same = seen_paths[real]
            raise UsageError(f"{path}: given twice" if same == path
                             else f"{same} and {path} are the same file")
        seen_paths[real] = path
    reports = [(path, read_junit(path)) for path in paths]
    modules: dict[str, list[PairResult]] = {}  # module -> its pairs, in the order first seen
    found_in: dict[tuple[str, str], str] = {}  # (module, pair) -> the path it came from
    for path, report in reports:
        for pair in report.pairs:
            key = (pair.module, pair.pair)
            if key in found_in:
                # Every shard that imports a broken module reports it: one module, one error.
                if pair.pair == MODULE_CASE:
                    continue
                raise UsageError(f"{pair.module}::{pair.pair} appears in both {found_in[key]} and "
                                 f"{path}. Hint: merge the reports of one sharded run "
                                 "(--shard 1/N ... N/N), each once")
            found_in[key] = path
            modules.setdefault(pair.module, []).append(pair)
    pairs = tuple(p for found in modules.values() for p in found)
    return Report(pairs, sum(r.duration for _, r in reports),
                  interrupted=any(r.interrupted for _, r in reports),
                  note=f"summed over {len(reports)} reports" if len(reports) > 1 else "",
                  errors=tuple(e for _, r in reports for e in r.errors))
