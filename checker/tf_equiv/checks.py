"""The check vocabulary (docs/checks.md) and which checks apply to a pair. No TensorFlow here."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable, Literal, Optional, Sequence, get_args

CheckId = Literal[
    "variables_created_once",
    "variables_match",
    "constant_inference",
    "transferred_inference",
    "random_inference[num_random_ops]",
    "random_inference[constant]",
    "random_training[num_random_ops]",
    "random_training[constant]",
    "functional_training[constant]",
    "gradients",
    "optimizer_steps",
    "checkpoint_inference",
    "tf_function",
    "eval_metrics",
    "training_run",
]

Side = Literal["tf1", "tf2"]
SIDES: tuple[Side, ...] = ("tf1", "tf2")

#: How a check's records are compared (verdict/outcome.py holds one function per name):
#: "records" record by record within tolerances; "slots" the same, leaving out optimizer slots
#: one optimizer keeps and the other does not; "created_once" the variables a second call made;
#: "variables" the two sides' variable specs; "training" against the run's own noise band.
Comparison = Literal["records", "slots", "created_once", "variables", "training"]
#: How localization sets the weights before it re-runs the forward pass.
Weights = Literal["constant", "transferred", "checkpoint"]
WEIGHTS: tuple[Weights, ...] = get_args(Weights)
#: The check whose failure is told by the step where the sides part (verdict/training.py).
TRAINING_RUN: CheckId = "training_run"


@dataclass(frozen=True)
class Role:
    """What one side's worker does for a check: the `stage` whose function computes it (the worker
    registers one function per check and stage, in the order they run), and the `part`, 0 or 1,
    of the side's two processes that runs it when a side is split."""

    stage: str
    part: int = 0


@dataclass(frozen=True)
class CheckSpec:
    """Everything the checker knows about one check; every other module derives from this table.

    - `tf1`: the TF1 side's role, or None when only the TF2 side runs it.
    - `tf1_record`: the TF1 check whose records it is compared with, when not its own.
    - `field`: the Pair field it needs to apply (it is skipped, with the reason, without it).
    - `transfer`: the TF2 side needs the TF1 side's variable values (sent as they are read).
    - `regime`: (training, DeterministicRandomTestTool mode) of a random regime.
    - `explain`: a failure is about numbers, so numeric variations can tell why.
    - `compare`: how its records are compared (Comparison).
    - `weights`: how localization sets the weights to re-run its forward pass, or None.
    - `localize_order`: among failing checks, lower is localized first (the check whose weights
      are closest to the TF1 side's own: transferred values before a constant or a checkpoint).
    - `tf1_optimized_twin`: under --tf1-optimized, this check is re-run with the TF2 model in
      tf.function to tell whether TF1's graph optimizations explain its failure.
    - `graph_optimized`: the TF2 side's graph is optimized too (grappler's numeric passes can
      explain a failure even without --tf1-optimized).
    - `substance`: (record prefix, what, hint) it must compare at least one record of, or it is
      vacuous; the default is the forward pass's outputs.
    - `tolerance`: its default tolerance class (TOLERANCES): "forward" (the pair's rtol and
      atol), "backward" and "steps" (looser defaults for its records), "exact" (names, shapes,
      creation: no tolerance applies).
    """

    id: CheckId
    tf2: Role
    tf1: Optional[Role] = None
    tf1_record: Optional[str] = None
    field: Optional[str] = None
    transfer: bool = False
    regime: Optional[tuple[bool, str]] = None
    explain: bool = True
    compare: Comparison = "records"
    weights: Optional[Weights] = None
    localize_order: int = 99
    tf1_optimized_twin: bool = False
    graph_optimized: bool = False
    substance: Optional[tuple[str, str, str]] = None
    tolerance: Literal["forward", "backward", "steps", "training", "exact"] = "forward"

    @property
    def sides(self) -> tuple[Side, ...]:
        """The sides whose records it compares (TF1's may be another check's)."""
        return SIDES if self.tf1 or self.tf1_record else ("tf2",)

    @property
    def tf1_source(self) -> str:
        """The TF1 check whose records this check's TF2 records are compared with."""
        return self.tf1_record or self.id

    def role(self, side: str) -> Optional[Role]:
        return self.tf1 if side == "tf1" else self.tf2


#: Default (rtol, atol) of a tolerance class's records, never stricter than the pair's own; None:
#: the pair's rtol and atol. Records computed through a backward pass sum many more terms, in an
#: order the two sides choose differently: looser than the forward values' rtol=1e-6, atol=1e-5.
#: A training run's floor (verdict/training.py) is looser again: optimizers compute their
#: constants in other precisions (TF1's Adam takes 1 - beta2 in float32, 1.3e-5 off 0.001; Keras
#: in double), a steady relative difference of about 2e-5 in a slot no round-off noise shows.
TOLERANCES: dict[str, Optional[tuple[float, float]]] = {
    "forward": None, "exact": None, "backward": (1e-4, 1e-5), "steps": (1e-5, 1e-5),
    "training": (1e-4, 1e-5)}
OUTPUTS = ("outputs", "outputs", "the forward pass returned no tensor (None, or an empty "
           "structure): return the model's outputs from tf1 and from the TF2 model's call")
_NO_TRAINABLE = "leave {} out with Pair(checks=[...])"
#: TF1 stages: "inference" (one graph, one session at TF1's own values), "random" (a graph per
#: regime under DeterministicRandomTestTool). TF2 stages: "built" (the model built and called
#: twice), "random", "functional" (the layer in a functional tf.keras.Model), "transfer" (the
#: built model at the TF1 values). A split side runs the TF1 inference graph (which makes the
#: values the TF2 side waits for) apart from its random regimes, and the TF2 model with its
#: inference regimes apart from the training regimes (on inception_v3 about 14 s each).
#: The inference graph and the built model are built as INFERENCE_REGIME builds its own (a fresh
#: tool, training off, the first call): they give that regime's records too, one build for both.
INFERENCE, RANDOM = Role("inference"), Role("random", 1)
INFERENCE_REGIME = "random_inference[num_random_ops]"
TABLE: tuple[CheckSpec, ...] = (
    CheckSpec("variables_created_once", tf2=Role("built"), explain=False, tolerance="exact",
              compare="created_once"),
    CheckSpec("variables_match", tf1=INFERENCE, tf2=Role("built"), explain=False,
              tolerance="exact", compare="variables"),
    CheckSpec("constant_inference", tf1=INFERENCE, tf2=Role("built"), weights="constant",
              localize_order=1),
    CheckSpec("transferred_inference", tf1=INFERENCE, tf2=Role("transfer"), transfer=True,
              weights="transferred", localize_order=0, tf1_optimized_twin=True),
    CheckSpec("random_inference[num_random_ops]", tf1=INFERENCE, tf2=Role("built"),
              regime=(False, "num_random_ops")),
    CheckSpec("random_inference[constant]", tf1=RANDOM, tf2=Role("random"),
              regime=(False, "constant")),
    CheckSpec("random_training[num_random_ops]", tf1=RANDOM, tf2=Role("random", 1),
              regime=(True, "num_random_ops")),
    CheckSpec("random_training[constant]", tf1=RANDOM, tf2=Role("random", 1),
              regime=(True, "constant")),
    CheckSpec("functional_training[constant]", tf2=Role("functional", 1),
              tf1_record="random_training[constant]", regime=(True, "constant")),
    CheckSpec("gradients", tf1=INFERENCE, tf2=Role("transfer"), transfer=True,
              weights="transferred", tolerance="backward", localize_order=4,
              substance=("gradients/", "gradients of trainable variables",
                         "the model has no trainable variable with a gradient; "
                         + _NO_TRAINABLE.format("gradients"))),
    CheckSpec("optimizer_steps", tf1=INFERENCE, tf2=Role("transfer"), transfer=True,
              field="optimizers", weights="transferred", tolerance="steps", compare="slots",
              localize_order=5,
              substance=("optimizer_steps/", "variables after an optimizer step",
                         "the model has no trainable variable; "
                         + _NO_TRAINABLE.format("optimizer_steps"))),
    CheckSpec("checkpoint_inference", tf1=INFERENCE, tf2=Role("built"), field="checkpoint",
              weights="checkpoint", localize_order=2),
    CheckSpec("tf_function", tf1=INFERENCE, tf2=Role("transfer"), transfer=True,
              weights="transferred", localize_order=3, graph_optimized=True),
    # A model_fn's EVAL metrics against Keras metrics (worker/eval_mode.py): a metric's value
    # sums a whole evaluation into one number, which no op-by-op localization or numeric
    # variation can take apart.
    CheckSpec("eval_metrics", tf1=INFERENCE, tf2=Role("transfer"), transfer=True,
              field="metrics", explain=False,
              substance=("eval_metrics/", "metric values",
                         "the model_fn's EVAL spec has no eval_metric_ops; give it "
                         "eval_metric_ops or leave metrics out")),
    # Compared against the noise of its own run (verdict/training.py), not by tolerances alone;
    # a failure is told by the step where the sides part, not by numeric variations.
    CheckSpec(TRAINING_RUN, tf1=INFERENCE, tf2=Role("transfer"), transfer=True, field="train",
              explain=False, tolerance="training", compare="training",
              substance=("training_run/", "steps of a training run",
                         "the model has no trainable variable; "
                         + _NO_TRAINABLE.format("training_run"))),
)
SPECS: dict[str, CheckSpec] = {spec.id: spec for spec in TABLE}

#: Every check id, in the order checks are reported.
ALL_CHECKS: tuple[str, ...] = get_args(CheckId)
assert tuple(SPECS) == ALL_CHECKS, "the table lists every check once, in report order"


def spec(check: str) -> CheckSpec:
    return SPECS[check]


def tf1_source(check: str) -> str:
    """The TF1 check whose records `check` is compared with (a stored or fresh TF1 run)."""
    return SPECS[check].tf1_source if check in SPECS else check


def tf2_only(check: str) -> bool:
    return check in SPECS and SPECS[check].sides == ("tf2",)


def stage_checks(side: str, stage: str, wanted: Iterable[str]) -> list[str]:
    """The wanted checks a side computes in one stage (a TF1 run also computes the records other
    checks are compared with: functional_training's random_training[constant])."""
    need = set(wanted)
    if side == "tf1":
        need |= {SPECS[c].tf1_source for c in wanted if c in SPECS}
    return [s.id for s in TABLE if s.id in need and (r := s.role(side)) and r.stage == stage]


def default_tolerances() -> dict[str, tuple[float, float]]:
    """{record glob: (rtol, atol)}: each check's records by the defaults of its tolerance class."""
    return {f"{s.substance[0]}*": default for s in TABLE
            if s.substance and (default := TOLERANCES[s.tolerance]) is not None}


def needs_transfer(wanted: Iterable[str]) -> bool:
    return any(SPECS[c].transfer for c in wanted if c in SPECS)


def expand(patterns: Iterable[str]) -> tuple[list[str], list[str]]:
    """Expand check ids or globs into check ids (report order); also return patterns matching none."""
    patterns = list(patterns)
    chosen = [c for c in ALL_CHECKS if any(_match(c, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(_match(c, p) for c in ALL_CHECKS)]
    return chosen, unmatched


def _match(check: str, pattern: str) -> bool:
    # Check ids contain brackets, which fnmatch reads as character classes: try the literal first.
    return check == pattern or fnmatch.fnmatchcase(check, pattern.replace("[", "[[]"))


def plan(selected: Sequence[str] | None, present_fields: Iterable[str],
         tf1_loaded: bool = False) -> list[tuple[str, str | None]]:
    """The checks a pair runs, each with a skip reason or None.

    Without a selection: every check whose required field is set. A check named explicitly that
    cannot run here is kept, skipped with the reason, so the user sees why it did not run.
    `tf1_loaded`: the TF1 side is a loaded graph (tf_equiv.SavedModel), not code that builds it.
    """
    present = set(present_fields)
    if selected is None:
        chosen = [s.id for s in TABLE if s.field is None or s.field in present]
        return [(c, unloadable(c) if tf1_loaded else None) for c in chosen]
    return [(c, f"needs Pair({field}=...)" if (field := SPECS[c].field) and field not in present
             else unloadable(c) if tf1_loaded else None) for c in expand(selected)[0]]


def unloadable(check: str) -> str | None:
    """Why a check cannot run with a loaded TF1 graph (a SavedModel), or None: the random regimes
    compare the TF1 code's own random initialization and `training_run` its training-mode graph,
    which only the code that builds the graph can make."""
    spec = SPECS[check]
    if spec.regime is not None:
        return ("tf1 is a SavedModel: its variables hold trained values, and this check compares "
                "the random initial values the TF1 code draws when it builds the graph "
                "(DeterministicRandomTestTool); transferred_inference compares the trained ones")
    if spec.compare == "training":
        return ("tf1 is a SavedModel: its signature is an inference graph, and training_run trains "
                "the TF1 code's training-mode graph; optimizer_steps compares training steps "
                "from the SavedModel's values")
    return None


#: The grappler passes `--grappler-off` accepts (their RewriterConfig field names).
GRAPPLER_PASSES = ("arithmetic_optimization", "constant_folding", "remapping", "layout_optimizer",
                   "dependency_optimization", "loop_optimization", "shape_optimization",
                   "function_optimization", "debug_stripper")
