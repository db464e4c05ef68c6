"""The text of the equivalence module `tf-equiv init` writes: one template per kind of source
(a function, a function that makes its placeholders, an Estimator model_fn, a SavedModel), each
a module that runs as it is. No TensorFlow here."""
from __future__ import annotations

import os
from typing import Sequence

from tf_equiv.protocol.introspection import Introspection
from tf_equiv.protocol.requests import InputSpec
from tf_equiv.scaffold.source import module_name, saved_model_name

#: The fields a user wants next, as comments in the Pair (the docs hold the details).
NEXT_FIELDS = {
    "name_map": "# name_map=lambda tf2_name: tf2_name,  # a variable renamed on purpose -> its "
                "TF1 name",
    "loss": "# loss=lambda outputs: ...,            # the objective of `gradients` (default: "
            "sum of outputs)",
    "optimizers": "# optimizers=(lambda: tf.compat.v1.train.AdamOptimizer(1e-3),\n"
                  "    #             lambda: tf.keras.optimizers.Adam(1e-3, epsilon=1e-8)),  "
                  "# optimizer_steps",
    "model_fn_optimizers": "# optimizers=(None, lambda: tf.keras.optimizers.Adagrad(0.05)),  # "
                           "the TF1 step: spec.train_op",
    "train": "# train=tf_equiv.Train(steps=100, batches=...),  # a training run "
             "(docs/training.md)",
    "tolerances": "# tolerances={\"gradients/*\": (1e-4, 1e-5)},      # looser, with its reason "
                  "(docs/checks.md)",
}


def _next(*fields: str) -> str:
    return ("    # Next, as the migration goes on (see tf-equiv's docs/pairs.md):\n"
            + "".join(f"    {NEXT_FIELDS[f]}\n" for f in fields))


def pair_name(found: Introspection) -> str:
    """The pair is named for its module (or SavedModel); never the name of the function it
    imports, nor of the generated code's own names."""
    if found.source_kind == "saved_model":
        return module_name(saved_model_name(found.file))
    name = module_name(found.module.split(".")[-1] if found.module else found.name)
    return f"{name}_pair" if name in (found.name, "tf1_side", "inputs", "loss") else name


def class_name(name: str) -> str:
    """The TF2 model's class: the pair's name in CamelCase, then Model."""
    return "".join(part.capitalize() for part in name.split("_") if part) + "Model"


def _array(spec: InputSpec) -> str:
    shape = repr(tuple(spec.shape))
    if spec.dtype.startswith("float"):
        return f"rng.normal(size={shape}).astype(np.{spec.dtype})"
    if spec.dtype == "bool":
        return f"rng.random({shape}) < 0.5"
    # Ids and indices: small values fit any vocabulary or class count.
    return f"rng.integers(0, 2, size={shape}).astype(np.{spec.dtype})"


def _inputs_function(specs: Sequence[InputSpec], as_dict: bool, unknown: str, where: str,
                     what: str = "inputs") -> str:
    """`def inputs()`: random arrays of the known shapes, or, where a shape is not known, a body
    that fails `check` with an error naming the field to fill in."""
    if unknown:
        return (f'def {what}():\n'
                f'    """TO FILL IN: tf-equiv init could not know them ({unknown})."""\n'
                f'    raise NotImplementedError(\n'
                f'        "{what}: fill in {what}() in {where} (tf-equiv init could not know the '
                f'shapes)")\n')
    if as_dict:
        items = "".join(f"        {s.name!r}: {_array(s)},\n" for s in specs)
        body = "{\n" + items + "    }"
    else:
        body = _array(specs[0])
    return (f'def {what}():\n'
            f'    """Random {what} of the shapes and dtypes tf-equiv init found; put a real '
            f'batch here."""\n'
            f'    rng = np.random.default_rng(0)\n'
            f'    return {body}\n')


def _modules(found: Introspection, out: str, builder: bool = False) -> list[str]:
    """The standard modules the generated code needs."""
    apart = os.path.abspath(found.root) != os.path.dirname(os.path.abspath(out))
    return (["os", "sys"] if apart else []) + (["unittest.mock"] if builder else [])


def _import(found: Introspection, out: str, names: Sequence[str]) -> str:
    """The import of the source's function(s), with its folder on sys.path when it is not the
    module's own folder (the worker puts that one first)."""
    line = f"\nfrom {found.module} import {', '.join(names)}\n"
    folder = os.path.dirname(os.path.abspath(out))
    if os.path.abspath(found.root) == folder:
        return line
    rel = os.path.relpath(found.root, folder)
    return ("\n# The source's folder, relative to this file, is where its module imports from.\n"
            f"sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "
            f"{rel!r}))\n" + line)


def _header(found: Introspection, source: str, out: str, sides: str,
            modules: Sequence[str] = ()) -> str:
    """The docstring (what each side is, the command that checks it) and the imports."""
    first = "".join(f"import {m}\n" for m in sorted(modules))
    return (f'"""tf-equiv: {source} and its migration, written by `tf-equiv init`.\n'
            f'\n{sides}\n\n'
            f'    tf-equiv check {out}\n"""\n'
            + (first + "\n" if first else "")
            + "import numpy as np\nimport tensorflow as tf\n\nimport tf_equiv\n")


SHIM = ("The TF1 side is the code as it is. The TF2 side is the migration guide's first step: "
        "the same\nTF1 code inside the modeling shim (track_tf1_style_variables), which passes "
        "every check; then\nmigrate it layer by layer, checking after each step:")


def function_module(found: Introspection, source: str, out: str) -> str:
    """A function of tensors, or one that makes its placeholders: TF1 as it is, TF2 the shim."""
    name = pair_name(found)
    cls = class_name(name)
    training = f", {found.training}=training" if found.training else ""
    if found.source_kind == "builder":
        body = (f'    """{found.name}() with its placeholders taking `inputs`, in the order it '
                f'makes them."""\n'
                f'    leaves = iter(inputs.values())\n\n'
                f'    def placeholder(dtype, shape=None, name=None):\n'
                f'        return tf.cast(next(leaves), dtype)\n\n'
                f'    with unittest.mock.patch.object(tf.compat.v1, "placeholder", placeholder):\n'
                f'        return {found.name}({training[2:]})\n')
    elif len(found.parameters) == 1:
        body = f'    """The TF1 side: {found.name} as it is, in the graph tf-equiv builds."""\n'
        body += f"    return {found.name}(inputs{training})\n"
    else:
        body = f'    """The TF1 side: {found.name} as it is, its tensors by name."""\n'
        body += f"    return {found.name}(**inputs{training})\n"
    as_dict = found.source_kind == "builder" or len(found.parameters) > 1
    return (_header(found, source, out, SHIM, _modules(found, out, builder=as_dict and
                                                        found.source_kind == "builder"))
            + _import(found, out, [found.name]) + "\n\n"
            + "def tf1_side(inputs, training):\n" + body + "\n\n"
            + f"class {cls}(tf.keras.layers.Layer):\n"
            + '    """The TF2 side: the same TF1 code inside the modeling shim."""\n\n'
            + "    @tf.compat.v1.keras.utils.track_tf1_style_variables\n"
            + "    def call(self, inputs, training=None):\n"
            + "        return tf1_side(inputs, bool(training))\n\n\n"
            + _inputs_function(found.inputs, as_dict, found.unknown, os.path.basename(out))
            + f"\n\n{name} = tf_equiv.Pair(\n    tf1=tf1_side,\n    tf2={cls},\n"
            + "    inputs=inputs,\n" + _next(*NEXT_FIELDS) + ")\n")


MODEL_FN_SIDES = (
    "The TF1 side is the Estimator model_fn as it is (tf_equiv.ModelFn: PREDICT for the "
    "inference checks).\nThe TF2 side is the migration's first step: the same model_fn's "
    "PREDICT body inside the modeling\nshim; the inference checks compare them. tf.estimator "
    "exists only in TensorFlow <= 2.15: run the\nTF1 side there (--tf1-python PY, or "
    "[tool.tf-equiv] tf1-python in pyproject.toml), and\nthe TF2 side runs the model_fn with a "
    "stand-in for the two names it reads (below). Then\nrewrite the TF2 side in Keras, checking "
    "after each step:")

ESTIMATOR_STAND_IN = '''\
class PredictSpec:
    """What the TF2 side reads of an EstimatorSpec: its predictions."""

    def __init__(self, mode, predictions=None, **unused):
        self.mode, self.predictions = mode, predictions


@contextlib.contextmanager
def estimator_stand_in():
    """TensorFlow 2.16+ has no tf.estimator: while the TF2 side still runs the model_fn, its
    ModeKeys and EstimatorSpec are stood in for (a TensorFlow that has them keeps its own)."""
    try:
        present = tf.compat.v1.estimator.ModeKeys is not None
    except (AttributeError, ImportError):
        present = False
    if present:
        yield
        return
    modes = types.SimpleNamespace(TRAIN="train", EVAL="eval", PREDICT="infer")
    tf.compat.v1.estimator = types.SimpleNamespace(ModeKeys=modes, EstimatorSpec=PredictSpec)
    try:
        yield
    finally:
        del tf.compat.v1.estimator
'''

#: What the shim can compare of a model_fn: its PREDICT graph. The training checks need the
#: TF2 loss and optimizer, which only the migration can say.
MODEL_FN_CHECKS = ('["variables_*", "constant_inference", "transferred_inference",\n'
                   '            "random_inference*", "tf_function"]')


def model_fn_module(found: Introspection, source: str, out: str) -> str:
    name = pair_name(found)
    cls = class_name(name)
    given = {"labels": "None", "mode": '"infer"', "params": "{}", "config": "None"}
    kwargs = ", ".join(f"{a}={given[a]}" for a in found.arguments[1:] if a in given)
    where = os.path.basename(out)
    if found.input_fn:
        data = ('def first_batch():\n'
                f'    """The {found.input_fn}\'s first (features, labels) batch, as numpy '
                'arrays."""\n'
                f'    features, labels = next(iter({found.input_fn}()))\n'
                '    return tf.nest.map_structure(lambda t: t.numpy(), (features, labels))\n')
        features, labels = "lambda: first_batch()[0]", "lambda: first_batch()[1]"
    else:
        data = (_inputs_function(found.inputs, len(found.inputs) > 1, found.unknown, where,
                                 "features") + "\n\n"
                + _inputs_function(found.labels, len(found.labels) > 1, found.unknown, where,
                                   "labels"))
        features, labels = "features", "labels"
    names = [found.name] + ([found.input_fn] if found.input_fn else [])
    return (_header(found, source, out, MODEL_FN_SIDES,
                    ["contextlib", "types", *_modules(found, out)])
            + _import(found, out, names) + "\n\n" + ESTIMATOR_STAND_IN + "\n\n"
            + f"class {cls}(tf.keras.layers.Layer):\n"
            + '    """The TF2 side: the model_fn\'s PREDICT body inside the modeling shim."""\n\n'
            + "    @tf.compat.v1.keras.utils.track_tf1_style_variables\n"
            + "    def call(self, features, training=None):\n"
            + "        with estimator_stand_in():\n"
            + f"            return {found.name}(features, {kwargs}).predictions\n\n\n"
            + data + "\n\n"
            + "def loss(labels, outputs):\n"
            + '    """TO FILL IN for the training checks: the TF2 twin of the model_fn\'s '
            + 'spec.loss."""\n'
            + f'    raise NotImplementedError("loss: fill in loss() in {where} with the TF2 twin '
            + 'of spec.loss")\n\n\n'
            + f"{name} = tf_equiv.Pair(\n"
            + f"    tf1=tf_equiv.ModelFn({found.name}, labels={labels}),\n"
            + f"    tf2={cls},\n    inputs={features},\n    loss=loss,\n"
            + "    # The shim runs PREDICT only: the training checks (random_training, gradients,\n"
            + "    # optimizer_steps with optimizers=(None, keras_factory)) come with the Keras\n"
            + "    # model and loss() (see tf-equiv's docs/pairs.md, ModelFn).\n"
            + f"    checks={MODEL_FN_CHECKS},\n"
            + _next("name_map", "model_fn_optimizers", "tolerances")
            + ")\n")


SAVED_MODEL_SIDES = (
    "The TF1 side is the SavedModel as TensorFlow's TF1 loader loads it (its signature's "
    "outputs, its\nvariables). The TF2 side is yours to write: tf2_model() below says what it "
    "takes and returns.\nUntil then the pair is skipped with that reason; then remove `skip` "
    "and check:")


def saved_model_module(found: Introspection, source: str, out: str, signature: str,
                       tags: Sequence[str]) -> str:
    name = pair_name(found)
    where = os.path.basename(out)
    path = os.path.relpath(found.file, os.path.dirname(os.path.abspath(out)))
    keys = ", ".join(repr(k) for k in found.outputs)
    keyed = ", ".join(repr(s.name) for s in found.inputs)
    return (_header(found, source, out, SAVED_MODEL_SIDES)
            + f"\n#: The SavedModel, relative to this file's folder.\nSAVED_MODEL = {path!r}\n\n\n"
            + "def tf2_model():\n"
            + '    """TO FILL IN: the TF2 model that replaces the SavedModel, a factory () -> '
            + "model.\n\n"
            + f"    model(inputs, training=...) takes the dict of {keyed} (inputs() below)\n"
            + f"    and returns a dict of the signature's outputs {keys}.\n"
            + "    transferred_inference copies the SavedModel's variables into it by name\n"
            + "    (name_map=... for renames).\n"
            + '    """\n'
            + '    raise NotImplementedError(\n'
            + f'        "tf2: fill in tf2_model() in {where}: the TF2 model that replaces the '
            + 'SavedModel")\n\n\n'
            + _inputs_function(found.inputs, True, found.unknown, where) + "\n\n"
            + f"{name} = tf_equiv.Pair(\n"
            + f"    tf1=tf_equiv.SavedModel(SAVED_MODEL, signature={signature!r}, "
            + f"tags={tuple(tags)!r}),\n"
            + "    tf2=tf2_model,\n    inputs=inputs,\n"
            + f'    skip="tf2 is a stub: write tf2_model() in {where}, then remove this skip",\n'
            + _next("name_map", "tolerances")
            + ")\n")
