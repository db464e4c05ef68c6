"""The lock around `ast`: what the checker's threads (pairs run side by side, their comparisons,
a training run's oneDNN-off run) must not do at the same time. No TensorFlow here."""
from __future__ import annotations

import threading

#: Held by every use of `ast` in the checker's own process, numpy's reading of an .npy header
#: included (it parses the header with ast.literal_eval). CPython 3.11 keeps the depth of the AST
#: objects it builds in one counter per interpreter, and two threads building at once corrupt it:
#: "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905), which made a
#: pair an internal error when two pairs' records were read at once.
AST_LOCK = threading.RLock()


def format_exc() -> str:
    """traceback.format_exc() under AST_LOCK: Python 3.11 parses each line of a traceback with
    `ast` to place its carets."""
    import traceback

    with AST_LOCK:
        return traceback.format_exc()
