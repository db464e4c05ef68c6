"""`tf-equiv init` on real TF1 code, each source read by a real worker: the examples' forward
function (as file:function), a package's function (as module:function), a tf_slim net, a function
that makes its own placeholders, the Estimator example's model_fn and a SavedModel exported here.
The modules it writes are checked unedited by the real command."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import EXAMPLES, ROOT, check, tf_equiv
from test_modelfn import LEGACY_PYTHON, _legacy_has_estimator, cross_version

pytestmark = pytest.mark.tensorflow
FIXTURES = os.path.join(ROOT, "tests", "fixtures_init")
#: Sources are read with this interpreter, whatever a project file says.
ENV = {"TF_EQUIV_TF1_PYTHON": ""}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Each source's `tf-equiv init` run (at once, as they are independent): {name: process}."""
    tmp = tmp_path_factory.mktemp("init")
    shutil.copytree(FIXTURES, tmp / "src")
    subprocess.run([sys.executable, os.path.join(FIXTURES, "export_saved_model.py"),
                    str(tmp / "export" / "1")], check=True, capture_output=True)
    runs = {
        "mlp": (f"{EXAMPLES}/equiv_mlp.py:tf1_forward", "--inputs", "x=8x20:float32",
                "--out", str(tmp / "equiv_mlp_shim.py")),
        "package": ("nets.mlp:forward", "--inputs", "features=4x5:float32"),
        "slim": ("src/slim_resnet.py:resnet_tiny", "--inputs", "images=1x32x32x3:float32"),
        "builder": ("src/builder.py:build",),
        "unknown": ("src/builder.py:build_unknown", "--out", str(tmp / "equiv_unknown.py")),
        "estimator": (f"{EXAMPLES}/equiv_estimator.py:model_fn", "--out",
                      str(tmp / "equiv_estimator_shim.py")),
        "saved_model": ("export/1",),
    }
    cwd = {"package": str(tmp / "src")}

    def run(name: str):
        return name, tf_equiv("init", *runs[name], cwd=cwd.get(name, str(tmp)), env=ENV,
                              timeout=600)

    with ThreadPoolExecutor(2) as pool:
        procs = dict(pool.map(run, runs))
    return tmp, procs


def _written(made, name: str) -> str:
    proc = made[1][name]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("wrote "), proc.stdout
    path = first.split(" ")[1]
    assert f"Check it: tf-equiv check {path}" in proc.stdout
    assert f"$ tf-equiv list {path}" in proc.stdout
    return path


def test_each_start_writes_where_it_says(made):
    tmp = made[0]
    assert _written(made, "package") == str(tmp / "src" / "nets" / "equiv_mlp.py")
    assert _written(made, "slim") == str(tmp / "src" / "equiv_slim_resnet.py")
    assert _written(made, "builder") == str(tmp / "src" / "equiv_builder.py")
    assert _written(made, "saved_model") == str(tmp / "export" / "equiv_export.py")
    with open(_written(made, "builder"), encoding="utf-8") as f:
        text = f.read()
    # The placeholders' shapes (batch 1) and dtypes, in the order build() makes them.
    assert ("    return {\n        'features': rng.normal(size=(1, 6)).astype(np.float32),\n"
            "        'scale': rng.normal(size=(1, 1)).astype(np.float32),\n    }") in text


def test_the_shim_modules_pass_check_unedited(made, tmp_path):
    paths = [_written(made, n) for n in ("mlp", "package", "slim", "builder", "unknown")]
    run = check(tmp_path, *paths, "--jobs", "2", env=ENV)
    for path in paths[:4]:
        pair = next(k.rsplit("::", 1)[0] for k in run.cases if k.startswith(path + "::"))
        verdicts = run.verdicts(pair)
        assert set(verdicts.values()) == {"passed"} and len(verdicts) == 11, (pair, verdicts)
    # Shapes init could not know: the module says so, and check fails naming the field.
    assert "fill in: its inputs are marked TO FILL IN (placeholders of unknown shape: tokens " \
           "(None, None); pass --inputs tokens=SHAPE:DTYPE)" in made[1]["unknown"].stdout
    case = run.case(f"{paths[4]}::builder::variables_match")
    assert case.verdict == "error"
    assert case.message.startswith("inputs() raised NotImplementedError: "
                                   "inputs: fill in inputs() in equiv_unknown.py (tf-equiv init "
                                   "could not know the shapes)"), case.message
    assert run.returncode == 1


def test_a_model_fn_module_runs_its_predict_body_in_the_shim(made, tmp_path):
    path = _written(made, "estimator")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "tf1=tf_equiv.ModelFn(model_fn, labels=lambda: first_batch()[1])," in text
    assert "return model_fn(features, labels=None, mode=\"infer\").predictions" in text
    # Under a TensorFlow without tf.estimator, every check of the TF1 side says why it skipped.
    run = check(tmp_path, path, env=ENV)
    assert run.returncode == 0, run.stdout[-3000:]
    case = run.case(f"{path}::estimator::variables_match")
    assert case.verdict == "skipped" and "tf.estimator is not in TensorFlow 2." in case.message


@cross_version[0]
@cross_version[1]
def test_a_model_fn_module_passes_across_versions(made, tmp_path):
    _legacy_has_estimator()
    path = _written(made, "estimator")
    run = check(tmp_path, path, "--tf1-python", LEGACY_PYTHON, env=ENV)
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = run.verdicts(f"{path}::estimator")
    assert set(verdicts.values()) == {"passed"} and len(verdicts) == 7, verdicts


def test_a_saved_model_module_keys_inputs_by_the_signature(made, tmp_path):
    path = _written(made, "saved_model")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "SAVED_MODEL = '1'" in text
    assert "tf1=tf_equiv.SavedModel(SAVED_MODEL, signature='serving_default', " \
           "tags=('serve',))" in text
    # The signature's inputs, the unknown batch as 1; its outputs named for the TF2 stub.
    assert ("        'features': rng.normal(size=(1, 4)).astype(np.float32),\n"
            "        'ids': rng.integers(0, 2, size=(1,)).astype(np.int64),\n") in text
    assert "returns a dict of the signature's outputs 'logits', 'probabilities'." in text
    assert "fill in: tf2_model(), the TF2 model that replaces the SavedModel; the pair is " \
           "skipped until then" in made[1]["saved_model"].stdout
    run = check(tmp_path, path, env=ENV)
    assert run.returncode == 0, run.stdout[-3000:]
    case = run.case(f"{path}::export::variables_match")
    assert case.verdict == "skipped" and "tf2 is a stub: write tf2_model() in " \
        "equiv_export.py, then remove this skip" in case.message


def test_a_saved_model_module_filled_in_as_it_says_passes(made, tmp_path):
    """The user's next step, as the module's comments say it: write tf2_model(), remove the
    skip, uncomment name_map. Every check that applies to a SavedModel passes; the others are
    skipped with the reason."""
    text = open(_written(made, "saved_model"), encoding="utf-8").read()
    stub = text[text.index("def tf2_model():"):text.index("def inputs():")]
    text = text.replace(stub, SERVED).replace(
        "    # name_map=lambda tf2_name: tf2_name,",
        "    name_map=lambda name: name.removeprefix('served/'),  #")
    text = "".join(line for line in text.splitlines(True)
                   if not line.lstrip().startswith('skip="tf2 is a stub'))
    folder = tmp_path / "export"
    shutil.copytree(made[0] / "export" / "1", folder / "1")
    (folder / "equiv_export.py").write_text(text, encoding="utf-8")
    run = check(tmp_path, str(folder / "equiv_export.py"), env=ENV)
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = run.verdicts(f"{folder / 'equiv_export.py'}::export")
    assert {c for c, v in verdicts.items() if v == "passed"} == {
        "variables_created_once", "variables_match", "constant_inference",
        "transferred_inference", "gradients", "tf_function"}, verdicts
    skipped = [c for c, v in verdicts.items() if v == "skipped"]
    assert len(skipped) == 5 and all(c.startswith(("random_", "functional_")) for c in skipped)
    case = run.case(f"{folder / 'equiv_export.py'}::export::random_inference[constant]")
    assert "tf1 is a SavedModel: its variables hold trained values" in case.message


#: A TF2 model for the exported SavedModel: the dense layer over `features`, both outputs.
SERVED = '''class Served(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = tf.keras.layers.Dense(3, name="logits")

    def call(self, inputs, training=False):
        logits = self.dense(inputs["features"])
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


def tf2_model():
    return Served()


'''


@pytest.mark.parametrize("args, words", [
    (("src/builder.py:nope",), "SOURCE src/builder.py:nope: "),
    (("nets.mlp:forward", "--inputs", "x=2x5:float32", "--inputs", "y=2:int32"),
     "SOURCE nets.mlp:forward: --inputs: forward takes the tensors features; missing features; "
     "not a parameter: x, y"),
    (("export/1", "--inputs", "images=1x2:float32"),
     "SOURCE export/1: --inputs: the signature 'serving_default' has no input images; its "
     "inputs: features, ids"),
])
def test_a_source_the_worker_cannot_read_is_refused(made, args, words):
    tmp = made[0]
    cwd = str(tmp / "src") if args[0].startswith("nets") else str(tmp)
    out = str(tmp / "equiv_refused.py")   # the default paths hold the modules made above
    proc = tf_equiv("init", *args, "--out", out, cwd=cwd, env=ENV, timeout=600)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert not os.path.exists(out)
    assert proc.stderr.startswith(f"tf-equiv: error: {words}"), proc.stderr
    if args[0].endswith(":nope"):
        assert "no attribute 'nope'; its functions: build, build_unknown" in proc.stderr
