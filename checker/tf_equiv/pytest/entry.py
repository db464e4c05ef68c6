"""pytest entry point: adds the tf-equiv options; `--tf-equiv` loads the plugin that collects pairs.

pytest imports this module in every run once tf-equiv is installed, so it stays tiny and collects
nothing unless `--tf-equiv` is given (`-p tf_equiv.pytest.plugin` loads the plugin directly).
"""
from __future__ import annotations

import argparse
import math

import pytest

PLUGIN = "tf_equiv.pytest.plugin"


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value}")
    return seconds


def add_options(parser: pytest.Parser) -> None:
    """Add the tf-equiv options to pytest's parser; a second call adds nothing."""
    group = parser.getgroup("tf-equiv", "tf-equiv: TF1.x -> TF2 equivalence checks")
    options = (
        (("--tf-equiv",), {"action": "store_true", "dest": "tf_equiv",
                           "help": "collect equiv_*.py modules: one test per pair and check"}),
        (("--tf-equiv-timeout",), {"type": _seconds, "default": 900.0, "metavar": "SECONDS",
                                   "dest": "tf_equiv_timeout",
                                   "help": "seconds per side of a pair (default 900)"}),
        (("--tf-equiv-no-explain",), {"action": "store_false", "dest": "tf_equiv_explain",
                                      "help": "do not re-run failed checks to explain them"}),
        (("--tf-equiv-no-compat-fixes",), {"action": "store_false", "dest": "tf_equiv_compat_fixes",
                                           "help": "do not apply the compatibility fixes"}),
        (("--tf-equiv-tf1-python",), {"dest": "tf_equiv_tf1_python", "metavar": "PY",
                                      "help": "run every TF1-side worker with the interpreter PY "
                                              "(default: $TF_EQUIV_TF1_PYTHON, else "
                                              "[tool.tf-equiv] tf1-python in the nearest "
                                              "pyproject.toml, else this interpreter)"}),
    )
    for names, kwargs in options:
        try:
            group.addoption(*names, **kwargs)
        except ValueError:
            pass    # the plugin was loaded both by -p and by this entry point: already there


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("tf_equiv", False) and not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
