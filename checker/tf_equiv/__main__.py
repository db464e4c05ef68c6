"""The `tf-equiv` command's entry point, and `python -m tf_equiv`: the same program.

SIGINT and SIGTERM are set to the run's stop event before the command (click, the engine) is
imported, so that a signal in the first moments of `check` also ends in a report. The command is
imported here, below nothing: no module imports this one, so the lazy import makes no cycle."""
from __future__ import annotations

from tf_equiv import stopping


def main() -> None:
    """The `tf-equiv` console script."""
    stopping.install()
    from tf_equiv.cli import run

    run()


if __name__ == "__main__":
    main()
