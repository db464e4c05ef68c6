"""--margins FILE: each passing check's margin, kept from run to run, so that a margin that shrank
by more than SHRINK since the last run is said before it becomes a failure (a TensorFlow upgrade,
a oneDNN or CPU change)."""
from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from typing import Optional

from tf_equiv.errors import UsageError
from tf_equiv.files import write_json
from tf_equiv.results import Report

#: A margin this many times smaller than the last run's is warned about.
SHRINK = 10.0


def read_margins(path: Optional[str]) -> dict[str, float]:
    """{case id: margin} from a --margins file; a missing file is an empty one."""
    if not path or not os.path.exists(path):
        return {}
    problem = "not a JSON object of check ids to margins (numbers or \"inf\")"
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return {str(k): float(v) for k, v in data.items()}
    except RecursionError:
        # json's decoder recurses once per nesting level: no margins file is nested at all.
        raise UsageError(f"--margins {path}: {problem} (nested too deeply)") from None
    except (OSError, ValueError, TypeError) as e:
        raise UsageError(f"--margins {path}: {problem} ({e})") from None


def warn_shrunk(report: Report, previous: dict[str, float]) -> Report:
    """The report with a warning on every passing check whose margin shrank more than SHRINK
    times since `previous`."""
    pairs = []
    for pair in report.pairs:
        cases = []
        for case in pair.cases:
            before = previous.get(case.id)
            now = case.margin
            if case.verdict == "passed" and before is not None and now is not None \
                    and now > 0 and before / now > SHRINK:
                then = "every record equal or within atol" if math.isinf(before) \
                    else f"{_x(before)}x"
                case = replace(case, warnings=case.warnings + (
                    f"margin shrank {'from' if math.isinf(before) else _x(before / now) + 'x, from'}"
                    f" {then} at the last run to {_x(now)}x: still passing, but the numbers moved "
                    "(a TensorFlow, oneDNN or machine change?)",))
            cases.append(case)
        pairs.append(replace(pair, cases=tuple(cases)))
    return replace(report, pairs=tuple(pairs))


def write_margins(path: str, report: Report, previous: dict[str, float]) -> None:
    """This run's margins over the previous ones (checks not run keep theirs)."""
    margins = dict(previous)
    margins.update({c.id: c.margin for c in report.cases
                    if c.verdict == "passed" and c.margin is not None})
    write_json(path, {k: ("inf" if math.isinf(v) else round(v, 4))
                      for k, v in sorted(margins.items())}, indent=1)


def _x(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"
