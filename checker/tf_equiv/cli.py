"""The `tf-equiv` command: a thin click layer that builds a Config, plans (plan/) and calls the
engine."""
from __future__ import annotations

import math
import os
import sys
from typing import Optional

import click

from tf_equiv import __version__, engine, stopping
from tf_equiv.checks import GRAPPLER_PASSES
from tf_equiv.errors import TfEquivError, UsageError
from tf_equiv.pair import problems_message
from tf_equiv.plan import interpreters
from tf_equiv.plan.destinations import Output, check_distinct, check_report_path
from tf_equiv.plan.planner import Config, make_plan
from tf_equiv.protocol.requests import Numerics, RunOptions
from tf_equiv.report import github, html, junit, merge, terminal
from tf_equiv.results import Report
from tf_equiv.scaffold import init as scaffold
from tf_equiv.scaffold.source import parse_inputs

USAGE_ERROR = 2


def _on_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


github_option = click.option(
    "--github/--no-github", "on_github", default=_on_github,
    show_default="on when GITHUB_ACTIONS=true",
    help="Workflow annotations, a grouped log, the job summary and the step outputs.")


def _shard(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[tuple]:
    if value is None:
        return None
    try:
        index, count = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"expected I/N such as 1/4, got {value!r}") from None
    if not 1 <= index <= count:
        raise click.BadParameter(f"shard {index} of {count}: I must be between 1 and N")
    return index, count


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    # FloatRange lets nan (no comparison is true) and inf through: either would turn it off.
    if not math.isfinite(value):
        raise click.BadParameter(f"expected a finite number of seconds, got {value}")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tf-equiv")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Prove that TF1.x code migrated to TF2 computes the same numbers."""
    if ctx.invoked_subcommand not in ("check", "record"):
        stopping.release()      # nothing to stop cleanly: signals act as usual


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--junit-xml", "junit_xml", type=click.Path(dir_okay=False),
              help="Write a JUnit XML report to FILE.")
@click.option("--select", multiple=True, metavar="GLOB",
              help="Only pairs/checks whose id matches (repeatable).")
@click.option("--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="number of cores", help="Pairs run in parallel.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=900.0,
              callback=_finite,
              show_default=True, help="Seconds per side.")
@click.option("--shard", callback=_shard, metavar="I/N", help="Run only shard I of N (1-based).")
@click.option("--compat-fixes/--no-compat-fixes", default=True, show_default=True,
              help="Apply the named fixes for known TF 2.16+ incompatibilities.")
@click.option("--allow-empty", is_flag=True, help="Exit 0 when no equiv_*.py module is found.")
@click.option("--against", type=click.Path(file_okay=False), metavar="DIR",
              help="Compare the TF2 side with TF1 records stored by `tf-equiv record`.")
@click.option("--timings", type=click.Path(dir_okay=False), metavar="FILE",
              help="Balance --shard by the pair durations in FILE; add this run's to it.")
@click.option("--html", "html_report", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a self-contained HTML report to FILE (opens offline).")
@click.option("--margins", type=click.Path(dir_okay=False), metavar="FILE",
              help="Keep each passing check's margin in FILE and warn when one shrank more than "
                   "10x since the last run.")
@click.option("--explain/--no-explain", default=True, show_default=True,
              help="Re-run failed checks with oneDNN off (and grappler passes off where graphs "
                   "are optimized) to say why they differ (bounded by the timeout).")
@click.option("--grappler-off", "grappler_off", multiple=True, metavar="PASS",
              type=click.Choice(GRAPPLER_PASSES),
              help="Turn a grappler pass off wherever graphs are optimized: tf_function on both "
                   "sides, and every TF1 check with --tf1-optimized (repeatable).")
@click.option("--tf1-optimized", is_flag=True,
              help="Run the TF1 graph with its default grappler optimizations in every check, as "
                   "a TF1 program did (default: only in tf_function; the other checks compare "
                   "the eager TF2 side with an unoptimized TF1 graph, like with like).")
@click.option("--artifacts", type=click.Path(), metavar="DIR",
              help="Save both sides' arrays of each failing check's first divergent record, the "
                   "inputs, a JSON index and a re-run command (at most 256 MiB of arrays).")
@click.option("--tf1-python", "tf1_python", metavar="PY",
              show_default=f"${interpreters.VARIABLE}, else [tool.tf-equiv] tf1-python in the "
                           "nearest pyproject.toml, else this interpreter",
              help="Run every TF1-side worker with the interpreter PY (an environment with the "
                   "TensorFlow the TF1 code runs on, such as 2.15 for tf.estimator); the TF2 "
                   "side runs with this one.")
@github_option
def check(paths: tuple, junit_xml: Optional[str], select: tuple, jobs: int, timeout: float,
          shard: Optional[tuple], compat_fixes: bool, allow_empty: bool, against: Optional[str],
          timings: Optional[str], html_report: Optional[str], margins: Optional[str],
          explain: bool, grappler_off: tuple, tf1_optimized: bool, artifacts: Optional[str],
          tf1_python: Optional[str], on_github: bool) -> None:
    """Run every pair found under PATHS (default: .)."""
    options = RunOptions(Numerics(tuple(dict.fromkeys(grappler_off)), tf1_optimized),
                         compat_fixes)
    legacy = None
    try:
        if against and tf1_python is not None:
            raise UsageError("--tf1-python with --against: the TF1 side is read from the "
                               "stored records, not run")
        if not against:     # no TF1 worker runs: a setting of the project is not needed
            legacy = interpreters.tf1_python(tf1_python, paths or (".",))
    except TfEquivError as e:
        _usage_error(str(e), on_github)
    config = Config(paths=paths or (".",), junit_xml=junit_xml, select=select, jobs=jobs,
                    timeout=timeout, shard=shard, options=options,
                    allow_empty=allow_empty, against=against, timings=timings,
                    margins=margins, html=html_report, explain=explain, artifacts=artifacts,
                    tf1_python=legacy)
    _run(config, on_github)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--side", type=click.Choice(["tf1"]), required=True,
              help="The side to record (the TF1 reference).")
@click.option("--out", type=click.Path(file_okay=False), required=True, metavar="DIR",
              help="Records folder (created; a pair recorded again is replaced).")
@click.option("--python", "python", type=click.Path(dir_okay=False),
              show_default=f"${interpreters.VARIABLE}, else [tool.tf-equiv] tf1-python in the "
                           "nearest pyproject.toml, else this interpreter",
              help="Interpreter of the legacy environment whose TensorFlow records the side "
                   "(the project's TF1 interpreter, as for check --tf1-python, by default).")
@click.option("--select", multiple=True, metavar="GLOB")
@click.option("--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="number of cores")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=900.0,
              callback=_finite,
              show_default=True)
@click.option("--shard", callback=_shard, metavar="I/N")
@click.option("--compat-fixes/--no-compat-fixes", default=True, show_default=True)
@click.option("--junit-xml", "junit_xml", type=click.Path(dir_okay=False))
def record(paths: tuple, side: str, out: str, python: Optional[str], select: tuple, jobs: int,
           timeout: float, shard: Optional[tuple], compat_fixes: bool,
           junit_xml: Optional[str]) -> None:
    """Run one side only and store its records (for checks across TensorFlow versions)."""
    try:
        # The TF1 side records where `check` would run it: the project's setting, as a default.
        python = python or interpreters.tf1_python(None, paths or (".",))
    except TfEquivError as e:
        _usage_error(str(e), False)
    config = Config(paths=paths or (".",), junit_xml=junit_xml, select=select, jobs=jobs,
                    timeout=timeout, shard=shard, options=RunOptions(compat_fixes=compat_fixes),
                    record_out=out, python=python or sys.executable)
    _run(config, False)


def _run(config: Config, on_github: bool) -> None:
    # A signal stops the run and still writes the report, however early it comes (the entry
    # point installed the handlers first); they stay until the process exits, so that a second
    # signal cannot cut the writing short.
    stop = stopping.STOP
    stopping.install(stop)
    try:
        plan = make_plan(config)
    except TfEquivError as e:
        _usage_error(str(e), on_github)
    fence = github.Fence(sys.stdout) if on_github else None
    if fence:
        fence.stop()    # progress lines carry module paths and pair names

    count = sum(len(p.checks) for p in plan.pairs)
    more = f" (+{len(plan.to_collect)} modules whose pairs are found on import)" \
        if plan.to_collect else ""
    click.echo(f"tf-equiv {__version__}: {len(plan.modules)} modules, {len(plan.pairs)} pairs, "
               f"{count} checks{more}")
    # A live line on a terminal; in a CI log (GitHub's included) plain lines for long pairs.
    running = terminal.Running(sys.stdout, live=False if fence else None)
    try:
        report = engine.run(config, plan, running.done, stop=stop, on_tick=running.tick)
    finally:
        running.clear()
    _finish(report, config.junit_xml, fence, config.html)


def _finish(report: Report, junit_xml: Optional[str], fence: Optional[github.Fence],
            html_path: Optional[str] = None) -> None:
    """Write the reports, then exit with the report's status (1 when a report could not be
    written: the summary is still printed, with one line saying why)."""
    failed = []
    written = {}
    for option, path, writer in (("--junit-xml", junit_xml, junit.write),
                                 ("--html", html_path, html.write)):
        if not path:
            continue
        try:
            writer(report, path)
            written[option] = path
        except OSError as e:
            failed.append(f"{option} {path}: the report could not be written: {e.strerror or e}")
    junit_xml, html_path = written.get("--junit-xml"), written.get("--html")
    if fence:
        fence.resume()
        github.log(report, sys.stdout, fence)
        github.write_files(report, junit_xml, html_path)
    else:
        terminal.final(report, sys.stdout)
        if html_path:
            click.echo(f"HTML report: {html_path}")
    errors = [*report.errors, *failed]
    for error in errors:
        click.echo(f"tf-equiv: error: {error}", err=True)
    stopping.ignore()
    sys.exit(report.return_code or (1 if errors else 0))


@main.command(name="list")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="GLOB")
@click.option("--shard", callback=_shard, metavar="I/N")
@click.option("--allow-empty", is_flag=True)
@click.option("--timings", type=click.Path(dir_okay=False), metavar="FILE")
def list_(paths: tuple, select: tuple, shard: Optional[tuple], allow_empty: bool,
          timings: Optional[str]) -> None:
    """The pairs and checks that `check` would run, without running TensorFlow."""
    config = Config(paths=paths or (".",), select=select, shard=shard,
                    allow_empty=allow_empty, timings=timings, listing=True)
    try:
        plan = make_plan(config)
    except TfEquivError as e:
        _usage_error(str(e))
    for broken in plan.broken:
        click.echo(f"{broken.module}: error: {broken.cases[0].message}")
    for module in plan.to_collect:
        click.echo(f"{module.display}: no `name = Pair(...)` in the source; its pairs are found "
                   "when `check` imports it")
    for p in plan.pairs:
        if p.problems:
            click.echo(f"{p.id}: error: {problems_message(p.declared.name, p.problems)}")
        for check_id, reason in p.checks:
            click.echo(f"{p.id}::{check_id}" + (f"  (skipped: {reason})" if reason else ""))
    count = sum(len(p.checks) for p in plan.pairs)
    click.echo(f"{len(plan.pairs)} pairs, {count} checks in {len(plan.modules)} modules")
    sys.exit(1 if plan.broken or any(p.problems for p in plan.pairs) else 0)


@main.command(name="init")
@click.argument("source")
@click.option("--inputs", multiple=True, metavar="NAME=SHAPE:DTYPE",
              help="An input's shape and dtype, such as images=1x299x299x3:float32 (repeatable); "
                   "for a model_fn, labels=SHAPE:DTYPE names the labels.")
@click.option("--out", metavar="FILE",
              help="Where to write the module (default: equiv_<name>.py beside SOURCE); never "
                   "over a file.")
@click.option("--tf1-python", "tf1_python", metavar="PY",
              help="Read SOURCE with the interpreter PY (default: as `check` runs the TF1 side).")
def init_(source: str, inputs: tuple, out: Optional[str], tf1_python: Optional[str]) -> None:
    """Write an equiv_*.py module from SOURCE: path/to/model.py:function,
    package.module:function (a forward function or an Estimator model_fn) or a SavedModel
    folder."""
    try:
        specs = parse_inputs(inputs)
        where = source.rpartition(":")[0] if ":" in source else source
        python = interpreters.tf1_python(tf1_python, (where or ".",)) or sys.executable
        written = scaffold.init(source, specs, out, python)
    except TfEquivError as e:
        _usage_error(str(e))
    click.echo(scaffold.summary(written))


@main.command(name="merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False),
                metavar="REPORT.xml...")
@click.option("--junit-xml", "junit_xml", type=click.Path(dir_okay=False),
              help="Write the merged JUnit XML report to FILE.")
@click.option("--html", "html_report", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the merged report as a self-contained HTML page to FILE.")
@github_option
def merge_(reports: tuple, junit_xml: Optional[str], html_report: Optional[str],
           on_github: bool) -> None:
    """Merge the JUnit reports of shards (`check --shard I/N`) into one, with one summary."""
    try:
        check_distinct((Output("--junit-xml", junit_xml), Output("--html", html_report)))
        if junit_xml:
            check_report_path("--junit-xml", junit_xml, reports, "the input report")
        if html_report:
            check_report_path("--html", html_report, [*reports, *filter(None, [junit_xml])],
                              "the input or output report")
        report = merge.merge(reports)
    except TfEquivError as e:
        _usage_error(str(e), on_github)
    _finish(report, junit_xml, github.Fence(sys.stdout) if on_github else None, html_report)


def _usage_error(message: str, on_github: bool = False) -> None:
    click.echo(f"tf-equiv: error: {message}", err=True)
    if on_github:
        github.usage_error(message, sys.stdout)
    sys.exit(USAGE_ERROR)


def run() -> None:
    """The console entry point: click's own usage errors (a malformed --shard, say) also become a
    workflow annotation when the run is on GitHub."""
    try:
        code = main.main(standalone_mode=False)
    except click.UsageError as e:
        e.show()
        argv = sys.argv[1:]
        if "--github" in argv or (_on_github() and "--no-github" not in argv):
            github.usage_error(e.format_message(), sys.stdout)
        sys.exit(USAGE_ERROR)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)

