"""One side of one pair, in its own process: `python -m tf_equiv.worker --side tf1|tf2 ...`.

The only place where TensorFlow and user code are imported. Results go to the parent as JSON events
on the file descriptor named by TF_EQUIV_EVENT_FD; arrays go to .npz files in --out.
"""
from __future__ import annotations

import argparse
import os
import sys


def _parse(argv: list) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tf_equiv.worker")
    p.add_argument("--module", required=True)
    p.add_argument("--pair", required=True)
    p.add_argument("--side", choices=("tf1", "tf2"), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--checks", default="", help="comma-separated check ids to run")
    p.add_argument("--no-compat-fixes", action="store_true")
    p.add_argument("--any-check", action="store_true",
                   help="also run checks the pair's own `checks` leave out (explanations)")
    p.add_argument("--grappler-off", default="", help="comma-separated grappler passes to turn off")
    p.add_argument("--tf1-optimized", action="store_true",
                   help="the TF1 graph keeps its default grappler passes in every check")
    return p.parse_args(argv)


def private_event_fd() -> int:
    fd = int(os.environ["TF_EQUIV_EVENT_FD"])
    # Keep the event pipe away from user code: move it to a high descriptor and close the original.
    private = os.dup(fd)
    os.close(fd)
    return private


def main(argv: list | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    # Must precede the first TensorFlow import: the shim and DeterministicRandomTestTool live in
    # tf_keras (TF >= 2.16), which tf.keras only resolves to with this set.
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    from tf_equiv.worker.common import Channel
    channel = Channel(private_event_fd())
    from tf_equiv.worker import session
    return session.run_side(args, channel)


if __name__ == "__main__":
    sys.exit(main())
