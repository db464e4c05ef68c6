"""--shard: a stable partition of pairs, balanced by a timings file when there is one."""
from __future__ import annotations

import hashlib
import json
import os
from typing import Mapping, Optional, Sequence

from tf_equiv.errors import UsageError
from tf_equiv.files import write_json
from tf_equiv.results import Report


def shard_of(pair_id: str, count: int) -> int:
    """A 1-based shard for a pair, stable across machines and Python versions."""
    digest = hashlib.sha256(pair_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def read_timings(path: Optional[str]) -> dict[str, float]:
    """{pair id: seconds} from a --timings file; a missing file is an empty one."""
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError(f"--timings {path}: not a JSON object of pair ids to seconds ({e})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--timings {path}: not a JSON object of pair ids to seconds")
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}


def write_timings(path: str, report: Report) -> None:
    """Add this run's pair durations to the timings file (other pairs' entries are kept)."""
    timings = read_timings(path)
    timings.update({f"{p.module}::{p.pair}": round(p.duration, 3) for p in report.pairs
                    if p.pair != "<module>" and p.duration > 0})
    write_json(path, dict(sorted(timings.items())), indent=1)


def assign_shards(pair_ids: Sequence[str], count: int,
                  timings: Mapping[str, float]) -> dict[str, int]:
    """{pair id: 1-based shard}, the same on every machine given the same pairs and timings.

    With timings: longest pairs first, each to the least loaded shard (pairs without a timing count
    as the median). Without: a stable hash of the pair id.
    """
    if not timings:
        return {p: shard_of(p, count) for p in pair_ids}
    known = sorted(timings.values())
    default = known[len(known) // 2]
    loads = [0.0] * count
    shards = {}
    for pair_id in sorted(pair_ids, key=lambda p: (-timings.get(p, default), p)):
        index = min(range(count), key=lambda i: (loads[i], i))
        loads[index] += timings.get(pair_id, default)
        shards[pair_id] = index + 1
    return shards
