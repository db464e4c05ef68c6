"""What runs, before anything runs: the checks a selection names and a pair plans, the shards and
the timings file, and the modules and pairs discovery finds in a folder. No TensorFlow here."""
from __future__ import annotations

import json
import os

import pytest

from tf_equiv.checks import ALL_CHECKS, expand, plan
from tf_equiv.errors import UsageError
from tf_equiv.pair import Pair, Train
from tf_equiv.plan.discover import Module, find_modules, read_module
from tf_equiv.plan.planner import Config, discovered, make_plan, misnamed
from tf_equiv.plan.shards import assign_shards, read_timings, shard_of, write_timings
from tf_equiv.results import CaseResult, PairResult, Report
from tf_equiv.run.protocol import ModulePairs
from tf_equiv.run.sides import SideRun
from tf_equiv.worker.session import pair_settings

#: The checks a pair runs when it names no field: all but optimizer_steps (needs `optimizers`)
#: and checkpoint_inference (needs `checkpoint`), in report order.
DEFAULT = ["variables_created_once", "variables_match", "constant_inference",
           "transferred_inference", "random_inference[num_random_ops]",
           "random_inference[constant]", "random_training[num_random_ops]",
           "random_training[constant]", "functional_training[constant]", "gradients",
           "tf_function"]


# ---- --select and Pair(checks=...) -------------------------------------------------------------

def test_expand_gives_check_ids_in_report_order_once():
    chosen, unmatched = expand(["gradients", "random_*[constant]", "variables_*", "gradients"])
    assert chosen == ["variables_created_once", "variables_match", "random_inference[constant]",
                      "random_training[constant]", "gradients"]
    assert unmatched == []
    assert expand(["*"]) == (list(ALL_CHECKS), [])


def test_brackets_in_a_check_id_are_literal_not_a_character_class():
    assert expand(["random_inference[constant]"]) == (["random_inference[constant]"], [])
    assert expand(["*[num_random_ops]"])[0] == ["random_inference[num_random_ops]",
                                                "random_training[num_random_ops]"]
    # As an fnmatch class, [c] would match "random_inferencec"-like ids; here it names nothing.
    assert expand(["random_inference[c]"]) == ([], ["random_inference[c]"])


def test_patterns_that_match_no_check_are_returned_to_be_reported():
    chosen, unmatched = expand(["gradientz", "tf_function", "random_*", "nope*"])
    assert chosen == ["random_inference[num_random_ops]", "random_inference[constant]",
                      "random_training[num_random_ops]", "random_training[constant]",
                      "tf_function"]
    assert unmatched == ["gradientz", "nope*"]


def test_without_a_selection_a_pair_runs_every_check_its_fields_allow():
    assert plan(None, []) == [(c, None) for c in DEFAULT]
    assert plan(None, ["tf1", "tf2", "inputs", "rtol"]) == [(c, None) for c in DEFAULT]
    with_all = [c for c, _ in plan(None, ["optimizers", "checkpoint", "train", "metrics"])]
    assert with_all == list(ALL_CHECKS)
    assert [c for c, _ in plan(None, ["checkpoint"])] == [
        c for c in ALL_CHECKS if c not in ("optimizer_steps", "training_run", "eval_metrics")]


def test_a_check_named_without_its_field_is_kept_and_skipped_with_the_reason():
    assert plan(["checkpoint_inference", "optimizer_steps", "gradients"], ["optimizers"]) == [
        ("gradients", None), ("optimizer_steps", None),
        ("checkpoint_inference", "needs Pair(checkpoint=...)")]
    assert plan(["optimizer_steps"], []) == [("optimizer_steps", "needs Pair(optimizers=...)")]
    assert plan(["random_training*"], []) == [("random_training[num_random_ops]", None),
                                              ("random_training[constant]", None)]
    assert plan(["nope*"], []) == []


# ---- every pair is in the plan ------------------------------------------------------------------

PLAN_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures_plan")


def _planned(config: Config) -> dict:
    """{pair: (checks, problems)}, the checks first: a pair that is not planned is missing."""
    pairs = make_plan(config).pairs
    return {p.declared.name: (p.checks, getattr(p, "problems", None)) for p in pairs}


def test_a_checks_field_that_selects_nothing_plans_every_check_each_to_report_the_field():
    path = os.path.join(PLAN_FIXTURES, "equiv_literal_checks.py")
    planned = _planned(Config(paths=(path,), listing=True))
    assert list(planned) == ["good", "misspelt_check", "string_checks", "no_checks"]
    assert planned["good"] == ((("variables_match", None),), ())
    default = tuple((c, None) for c in DEFAULT)
    assert planned["misspelt_check"] == (default, (
        "checks: 'constant_inferense' matches no check id (did you mean 'constant_inference'?)",))
    assert planned["string_checks"] == (default, (
        "checks: expected a sequence of check ids or globs, got the string 'variables_match'; "
        "write checks=['variables_match']",))
    assert planned["no_checks"][0] == default
    assert planned["no_checks"][1][0].startswith("checks: expected at least one check id")


def test_select_may_narrow_a_pair_to_nothing_the_pairs_own_checks_may_not():
    path = os.path.join(PLAN_FIXTURES, "equiv_literal_checks.py")
    assert list(_planned(Config(paths=(path,), select=("good",), listing=True))) == ["good"]
    narrowed = _planned(Config(paths=(path,), select=("gradients",), listing=True))
    assert list(narrowed) == ["misspelt_check", "string_checks", "no_checks"]
    assert all(checks == (("gradients", None),) and problems
               for checks, problems in narrowed.values())


def test_a_bad_field_outranks_skip_so_the_worker_runs_to_report_it(tmp_path):
    (tmp_path / "equiv_m.py").write_text(
        "import tf_equiv\n"
        "later = tf_equiv.Pair(f, g, h, checks=[], skip='later')\n"
        "fine = tf_equiv.Pair(f, g, h, checks=['gradients'], skip='later')\n")
    plan = make_plan(Config(paths=(str(tmp_path),), listing=True))
    assert [p.declared.name for p in plan.pairs] == ["later", "fine"]
    later, fine = plan.pairs
    assert "skip" not in later.declared.literals and later.problems
    assert fine.declared.literals["skip"] == "later" and not fine.problems


def _module_pairs(**pairs) -> dict:
    """The side run of a worker that imported a module defining `pairs`, as the parent sees it."""
    event = ModulePairs([{"name": name, "line": 1, "settings": pair_settings(pair)}
                         for name, pair in pairs.items()])
    return {"tf2": SideRun("tf2", events=[(0.0, event)])}


def test_pairs_a_helper_function_builds_are_planned_with_their_errors(tmp_path):
    def forward(x, training):
        return x

    def P(**fields):
        return Pair(tf1=forward, tf2=object, inputs=[1.0], **fields)

    runs = _module_pairs(
        good=P(checks=["variables_match"]), bad_rtol=P(rtol="tight", checks=["variables_match"]),
        negative_steps=P(train=Train(steps=-1), checks=["variables_match"]),
        misspelt_field=P(tolerence={}, checks=["variables_match"]),
        bad_tolerances=P(tolerances="tight"), misspelt_check=P(checks=["constant_inferense"]),
        string_checks=P(checks="variables_match"), no_checks=P(checks=[]),
        **{"not-a-name": P()})
    module = Module(str(tmp_path / "equiv_m.py"), "equiv_m.py")
    planned = {p.declared.name: (p.checks, getattr(p, "problems", None))
               for p in discovered(Config(), module, runs)}
    only = (("variables_match", None),)
    default = tuple((c, None) for c in DEFAULT)
    assert planned == {
        "good": (only, ()),
        "bad_rtol": (only, ("rtol: expected a non-negative number, got 'tight'",)),
        "negative_steps": (only, ("train.steps: expected a positive integer, got -1",
                                  "train: training_run needs optimizers=(tf1_factory, "
                                  "tf2_factory) too")),
        "misspelt_field": (only, ("tolerence: not a Pair field (did you mean 'tolerances'?)",)),
        "bad_tolerances": (default, ("tolerances: expected a dict {glob: (rtol, atol)}, got "
                                     "'tight'",)),
        "misspelt_check": (default, ("checks: 'constant_inferense' matches no check id (did "
                                     "you mean 'constant_inference'?)",)),
        "string_checks": (default, ("checks: expected a sequence of check ids or globs, got "
                                    "the string 'variables_match'; write "
                                    "checks=['variables_match']",)),
        "no_checks": (default, ("checks: expected at least one check id or glob, got an empty "
                                "sequence, which runs nothing; leave checks out to run every "
                                "check that applies",)),
    }
    error = misnamed(module, runs)
    assert error is not None and error.cases[0].verdict == "error"
    assert "1 pairs have names that are not Python identifiers: 'not-a-name'" \
        in error.cases[0].message


# ---- --shard and --timings ---------------------------------------------------------------------

def test_a_pairs_shard_is_the_same_on_every_machine():
    # sha256 of the pair id: no per-process hash seed, no dependence on which pairs exist.
    assert [shard_of("equiv_a.py::p", n) for n in (1, 2, 3, 7)] == [1, 1, 2, 1]
    ids = [f"models/equiv_{i}.py::pair_{i}" for i in range(100)]
    alone = {p: assign_shards([p], 4, {})[p] for p in ids}
    assert assign_shards(ids, 4, {}) == alone


def test_every_pair_lands_in_exactly_one_shard():
    ids = [f"equiv_{i}.py::p" for i in range(30)]
    timings = {p: float(i % 7 + 1) for i, p in enumerate(ids[:20])}    # ten without a timing
    for count in (1, 2, 3, 5, 40):
        for known in ({}, timings):
            shards = assign_shards(ids, count, known)
            assert sorted(shards) == sorted(ids)
            assert set(shards.values()) <= set(range(1, count + 1))
    assert set(assign_shards(ids, 1, timings).values()) == {1}


def test_timings_balance_the_shards():
    timings = {f"equiv_{i}.py::p": float(t) for i, t in enumerate(
        [90, 75, 60, 44, 30, 28, 21, 13, 8, 5, 3, 2, 1, 1])}
    shards = assign_shards(list(timings), 3, timings)
    loads = [sum(t for p, t in timings.items() if shards[p] == s) for s in (1, 2, 3)]
    assert sum(loads) == sum(timings.values())
    # Longest first, each to the least loaded shard: no shard waits on another for longer than
    # one pair takes, and these 381 s split evenly.
    assert max(loads) - min(loads) <= max(timings.values())
    assert loads == [127.0, 127.0, 127.0]


def test_timings_file_missing_or_malformed(tmp_path):
    assert read_timings(None) == {} and read_timings(str(tmp_path / "none.json")) == {}
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(UsageError, match=r"--timings .*list\.json: not a JSON object of pair ids "
                                         r"to seconds"):
        read_timings(str(listed))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(UsageError, match=r"--timings .*broken\.json: not a JSON object"):
        read_timings(str(broken))
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"a::p": 3, "b::p": "slow", "c::p": None, "d::p": 1.5}))
    assert read_timings(str(mixed)) == {"a::p": 3.0, "d::p": 1.5}


def test_a_run_adds_its_pair_durations_and_keeps_the_others(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text(json.dumps({"kept.py::pair": 7.0, "equiv_a.py::p": 1.0}))

    def pair(module: str, name: str, duration: float) -> PairResult:
        return PairResult(module, name, (CaseResult(module, name, "gradients", "passed", "ok"),),
                          duration=duration)

    report = Report((pair("equiv_a.py", "p", 12.34567), pair("equiv_b.py", "q", 0.0),
                     pair("equiv_c.py", "<module>", 3.0)), 20.0)
    write_timings(str(path), report)
    # Rounded to the millisecond; a pair that never ran and a module error leave no entry.
    assert json.loads(path.read_text()) == {"equiv_a.py::p": 12.346, "kept.py::pair": 7.0}
    assert list(json.loads(path.read_text())) == ["equiv_a.py::p", "kept.py::pair"]   # sorted
    assert sorted(os.listdir(tmp_path)) == ["timings.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask     # readable like any file
    write_timings(str(tmp_path / "new.json"), report)
    assert json.loads((tmp_path / "new.json").read_text()) == {"equiv_a.py::p": 12.346}


# ---- discovery ---------------------------------------------------------------------------------

def tree(root, *paths: str, text: str = "") -> None:
    for rel in paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_find_modules_walks_folders_sorted_and_takes_files_as_given(tmp_path, monkeypatch):
    tree(tmp_path, "b/equiv_two.py", "a/equiv_one.py", "a/deep/equiv_three.py", "a/equiv_one.pyc",
         "a/Equiv_upper.py", "a/my_equiv_x.py", "a/__pycache__/equiv_cached.py",
         ".git/equiv_git.py", "env/pyvenv.cfg", "env/lib/equiv_env.py", "notes.txt")
    monkeypatch.chdir(tmp_path)
    found = [os.path.relpath(p) for p in find_modules(["b", "a", "a/equiv_one.py"])]
    assert found == ["a/deep/equiv_three.py", "a/equiv_one.py", "b/equiv_two.py"]
    # Hidden folders, caches and virtual environments below a named folder are left out.
    everything = find_modules(["."])
    assert [os.path.relpath(p) for p in everything] == [
        "a/deep/equiv_three.py", "a/equiv_one.py", "b/equiv_two.py"]
    assert all(os.path.isabs(p) for p in everything)
    # A file named on the command line is taken whatever its name, if it is Python.
    assert find_modules(["a/my_equiv_x.py"]) == [str(tmp_path / "a" / "my_equiv_x.py")]


def test_find_modules_refuses_what_is_not_there_or_not_python(tmp_path, monkeypatch):
    tree(tmp_path, "notes.txt")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="^path not found: nowhere$"):
        find_modules(["nowhere"])
    with pytest.raises(UsageError, match="^not a Python file: notes.txt$"):
        find_modules(["notes.txt"])


def test_only_top_level_pair_assignments_are_declarations(tmp_path):
    path = tmp_path / "equiv_m.py"
    path.write_text(
        "import tf_equiv as te\n"
        "from tf_equiv import Pair\n"
        "def factory():\n"
        "    inner = Pair(f, g, h)\n"
        "    return inner\n"
        "x, y = Pair(f, g, h), 1\n"
        "kw = te.Pair(tf1=f, **extra, rtol=1e-3, inputs=lambda: x, checks=('gradients',))\n"
        "other = te.Pairs(1)\n"
        "annotated_only: te.Pair\n"
        "last = Pair(f, g, h, skip=None)\n")
    module = read_module(str(path))
    assert module.error is None
    assert [(p.name, p.line) for p in module.pairs] == [("kw", 7), ("last", 10)]
    kw, last = module.pairs
    assert kw.literals == {"rtol": 1e-3, "checks": ("gradients",)}
    assert kw.fields == {"tf1", "rtol", "inputs", "checks"}
    assert last.literals == {"skip": None}


@pytest.mark.parametrize("source, error, line", [
    (b"x = (\n", "SyntaxError: '(' was never closed", 1),
    (b"pair = Pair(\n  f, g\n  h)\n", "SyntaxError: invalid syntax. Perhaps you forgot a comma?",
     2),
    (b"x = '\xff'\n", "SyntaxError: (unicode error) 'utf-8' codec can't decode byte 0xff", 1),
])
def test_a_module_that_does_not_parse_is_an_error_with_its_line(tmp_path, monkeypatch, source,
                                                               error, line):
    (tmp_path / "equiv_m.py").write_bytes(source)
    monkeypatch.chdir(tmp_path)
    module = read_module(str(tmp_path / "equiv_m.py"))
    assert module.pairs == () and module.error_line == line
    assert module.error.startswith(error), module.error
    assert f"(equiv_m.py, line {line}, column " in module.error


def test_a_module_is_shown_relative_to_the_working_folder_when_inside_it(tmp_path, monkeypatch):
    tree(tmp_path, "work/models/equiv_m.py", "elsewhere/equiv_o.py")
    monkeypatch.chdir(tmp_path / "work")
    inside = read_module(str(tmp_path / "work" / "models" / "equiv_m.py"))
    assert (inside.display, inside.path) == ("models/equiv_m.py",
                                             str(tmp_path / "work" / "models" / "equiv_m.py"))
    outside = str(tmp_path / "elsewhere" / "equiv_o.py")
    assert read_module(outside).display == outside
