"""`tf-equiv init SOURCE`: the source read in a worker (the checker never imports TensorFlow or
user code), its module rendered and written where no file is, never over one. No TensorFlow
here."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

from tf_equiv.errors import UsageError
from tf_equiv.protocol import introspection
from tf_equiv.protocol.introspection import Introspection
from tf_equiv.protocol.requests import InputSpec, IntrospectRequest, RequestError
from tf_equiv.run import protocol
from tf_equiv.run.controller import PACKAGE_ROOT, Controller, exit_words, log_tail
from tf_equiv.scaffold import render
from tf_equiv.scaffold.source import (
    Source,
    check_out,
    create,
    module_name,
    parse_source,
    saved_model_name,
)

#: Seconds the worker may take to import TensorFlow and the source and build it once.
TIMEOUT = 600.0
SIGNATURE, TAGS = "serving_default", ("serve",)


@dataclass(frozen=True)
class Written:
    """The module written and what it was written from."""

    path: str
    found: Introspection


def init(text: str, inputs: Sequence[InputSpec], out: Optional[str], python: str,
         timeout: float = TIMEOUT) -> Written:
    """Write the equivalence module of the source `text`; UsageError (nothing written) for a bad
    source, a source that fails to import or build, or a path where a file is."""
    source = parse_source(text)
    if out:
        check_out(out, "--out")
    elif source.form != "module":
        check_out(default_path(source, None), None)
    found = introspect(source, inputs, python, timeout)
    path = out or default_path(source, found)
    if not out:
        check_out(path, None)
    stem = os.path.splitext(os.path.basename(path))[0]
    if found.module.split(".")[0] == stem:
        raise UsageError(f"{path}: would take the name of its source module {found.module!r} "
                         "when imported; give another with --out")
    create(path, _render(source, found, path, text))
    return Written(path, found)


def default_path(source: Source, found: Optional[Introspection]) -> str:
    """equiv_<module>.py beside the function's file, or equiv_<name>.py beside a SavedModel's
    folder."""
    if source.form == "saved_model":
        folder = os.path.dirname(os.path.abspath(source.where))
        return os.path.join(folder, f"equiv_{module_name(saved_model_name(source.where))}.py")
    file = found.file if found else source.where
    stem = os.path.splitext(os.path.basename(file))[0]
    if stem == "__init__":
        stem = os.path.basename(os.path.dirname(file))
    return os.path.join(os.path.dirname(os.path.abspath(file)), f"equiv_{module_name(stem)}.py")


def _render(source: Source, found: Introspection, path: str, text: str) -> str:
    shown = os.path.relpath(path) if not os.path.isabs(path) else path
    if found.source_kind == "saved_model":
        return render.saved_model_module(found, text, shown, SIGNATURE, TAGS)
    if found.source_kind == "model_fn":
        return render.model_fn_module(found, text, shown)
    return render.function_module(found, text, shown)


def introspect(source: Source, inputs: Sequence[InputSpec], python: str,
               timeout: float = TIMEOUT) -> Introspection:
    """What the introspection worker (under `python`) found; UsageError naming the source and
    the cause when it could not import, build or read it."""
    with tempfile.TemporaryDirectory(prefix="tf-equiv-init-") as tmp:
        out, log = os.path.join(tmp, "introspection.json"), os.path.join(tmp, "introspect.log")
        request = IntrospectRequest(source.request_source, out, tuple(inputs), SIGNATURE, TAGS)
        with Controller(threading.Event()) as controller:
            handle = controller.start("introspection", request, python, log, os.getcwd(),
                                      timeout=timeout)
            controller.wait()
        events = [event for _, event in handle.events]
        name = source.request_source if source.form == "module" else \
            source.where + (f":{source.function}" if source.function else "")
        fatal = next((e for e in events if isinstance(e, protocol.Fatal)), None)
        if fatal is not None:
            detail = f"\n{fatal.detail.rstrip()}" if fatal.detail else ""
            raise UsageError(f"SOURCE {name}: {fatal.message}{detail}")
        if not any(isinstance(e, protocol.Done) for e in events):
            how = f"passed its {timeout:g} s" if handle.timed_out else \
                exit_words(handle.returncode)
            raise UsageError(f"SOURCE {name}: reading it in a worker ({python}) {how}:\n"
                             + log_tail(log, 20))
        try:
            return introspection.read(out)
        except RequestError as e:
            raise UsageError(f"tf-equiv internal error: {e}") from None


def summary(written: Written) -> str:
    """What `init` says: what it wrote from what, what is left to fill in, then `tf-equiv list`
    of the new module and the command that checks it."""
    found, path = written.found, written.path
    kinds = {"function": "the function", "builder": "the function and its placeholders",
             "model_fn": "the Estimator model_fn", "saved_model": "the SavedModel"}
    lines = [f"wrote {path} from {kinds[found.source_kind]} {found.name} "
             f"(TensorFlow {found.tensorflow})"]
    if found.unknown:
        lines.append(f"fill in: its inputs are marked TO FILL IN ({found.unknown}); `check` "
                     "reports them as an error until then")
    if found.source_kind == "saved_model":
        lines.append("fill in: tf2_model(), the TF2 model that replaces the SavedModel; the pair "
                     "is skipped until then")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
    listing = subprocess.run([sys.executable, "-m", "tf_equiv", "list", path], env=env,
                             capture_output=True, text=True, check=False)
    lines += [f"$ tf-equiv list {path}", (listing.stdout + listing.stderr).rstrip(),
              f"Check it: tf-equiv check {path}"]
    return "\n".join(lines)
