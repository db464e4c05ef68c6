"""Running pairs with stored TF1 records: `tf-equiv record` and `tf-equiv check --against`."""
from __future__ import annotations

import threading
from dataclasses import replace
from functools import partial
from typing import TypedDict

from tf_equiv import checks
from tf_equiv.errors import RecordsError
from tf_equiv.pair import problems_message
from tf_equiv.plan.discover import PlannedPair
from tf_equiv.protocol.relays import Relay
from tf_equiv.results import CaseResult, PairResult
from tf_equiv.run.protocol import Fatal, Inputs, PairSettings, Transfer
from tf_equiv.run.sides import SideRun, SideSpec, run_sides, transfer_message
from tf_equiv.run.store import Store, source_sha256


class StoredTF1(TypedDict):
    """A pair's stored TF1 side, ready to be compared with a TF2 side run now."""

    run: SideRun                        # the stored side, as if it had just run
    transfer: Relay                     # what the TF2 side is told of the TF1 values
    inputs: str                         # the SHA-256 of the inputs it was recorded with


def stored_tf1(planned: PlannedPair,
               store: Store) -> tuple[StoredTF1, None] | tuple[None, str]:
    """({"run": SideRun, "transfer": message, "inputs": sha256}, None) or (None, why not usable)."""
    try:
        found = store.find(planned.id)
        run = Store.side_run(found) if found is not None else None
    except RecordsError as e:
        return None, f"unusable stored TF1 records: {e}"
    if found is None or run is None:
        return None, (f"no stored TF1 records for {planned.id} in {store.root} "
                      "(record them with tf-equiv record --side tf1 --out DIR)")
    now = source_sha256(planned.module.path)
    if now != found.source_sha256:
        return None, (f"stale TF1 records: {planned.module.display} changed since it was recorded "
                      f"(source sha256 {found.source_sha256[:12]} recorded, {now[:12]} now); "
                      "record it again")
    transfer = run.find(Transfer) or Transfer(error="the stored TF1 side has no initial values")
    message = transfer_message(transfer)
    return StoredTF1(run=run, transfer=message, inputs=found.inputs_sha256), None


def check_inputs(result: PairResult, stored: StoredTF1, tf2: SideRun) -> PairResult:
    """Stored records are only valid for the inputs they were computed from."""
    now = (tf2.find(Inputs) or Inputs()).sha256
    if not now or not stored["inputs"] or now == stored["inputs"]:
        return result
    message = (f"stale TF1 records: the inputs differ from the recorded ones (sha256 "
               f"{stored['inputs'][:12]} recorded, {now[:12]} now); record again")
    return replace(result, cases=tuple(replace(c, verdict="error", message=f"{c.check}: {message}",
                                                   words=message)
                                       for c in result.cases))


def record_pair(planned: PlannedPair, spec: SideSpec, store: Store, stop: threading.Event,
                parts: int = 1) -> tuple[PairResult, SideRun]:
    """Run the TF1 side only and store its records; each check is 'passed' once recorded.
    Returns the run too: its module's pairs that the source does not show are found in it."""
    folder = store.pair_folder(planned.id)
    spec = replace(spec, out_dir=folder)
    run = run_sides(spec, stop, ("tf1",), parts=parts)["tf1"]
    store.save(planned.id, folder, run, source_sha256(planned.module.path))
    fatal = run.find(Fatal)
    settings = run.find(PairSettings)
    problems = settings.settings.get("problems") if settings else None
    cases = []
    for check, reason in planned.checks:
        case = partial(CaseResult, planned.module.display, planned.declared.name, check,
                       file=planned.module.display, line=planned.declared.line)
        event = run.check(checks.tf1_source(check))
        if problems and not fatal:
            cases.append(case("error", problems_message(planned.declared.name, problems)))
        elif reason:
            cases.append(case("skipped", reason))
        elif checks.tf2_only(check):
            cases.append(case("skipped", f"{check}: TF2 only, nothing to record",
                              words="TF2 only, nothing to record"))
        elif fatal:
            cases.append(case("error", fatal.message, detail=fatal.detail))
        elif event is None:
            ended = run.how_it_ended()
            cases.append(case("error", f"{check}: {ended}", detail=run.log_tail(), words=ended))
        elif event.status != "ok":
            cases.append(case("error" if event.status == "error" else "skipped",
                              f"{check}: TF1 side: {event.message}", detail=event.detail,
                              words=f"TF1 side: {event.message}"))
        else:
            cases.append(case("passed", f"{check}: TF1 records stored", words="TF1 records stored"))
    return PairResult(planned.module.display, planned.declared.name, tuple(cases),
                      line=planned.declared.line), run
