"""variables_match's rename suggestions: one rule when one explains every name, a global
assignment otherwise, and ties listed instead of guessed."""
from __future__ import annotations

from tf_equiv.verdict.variables import variables_match


def spec(name, shape):
    return {"name": name, "shape": list(shape), "dtype": "float32", "trainable": True,
            "tf2_name": f"{name}:0"}


def suggested(tf1, tf2):
    outcome = variables_match(tf1, tf2)
    assert outcome.verdict == "failed"
    return outcome


def test_checkpoint_guide_prefix_is_one_rule_not_a_swap():
    # migrating_checkpoints: every variable gains `new_scope/`; `a` and `scoped/c` share a shape.
    tf1 = [spec("a", (2, 2)), spec("b", (3,)), spec("scoped/c", (2, 2))]
    tf2 = [spec("new_scope/a", (2, 2)), spec("new_scope/b", (3,)),
           spec("new_scope/scoped/c", (2, 2))]
    out = suggested(tf1, tf2)
    assert "Hint: 3 look renamed; pass name_map=lambda name: name.removeprefix('new_scope/')" \
        in out.message
    assert "{'a': 'new_scope/a', 'b': 'new_scope/b', 'scoped/c': 'new_scope/scoped/c'}" \
        in out.detail


def test_a_removed_prefix_is_added_back():
    tf1 = [spec("model/a", (3,)), spec("model/b", (3,))]
    tf2 = [spec("a", (3,)), spec("b", (3,))]
    assert "pass name_map=lambda name: 'model/' + name" in suggested(tf1, tf2).message


def test_a_renamed_middle_scope_is_one_replace():
    tf1 = [spec("net/enc/dense/kernel", (3, 4)), spec("net/enc/dense/bias", (4,)),
           spec("net/head/kernel", (4, 2))]
    tf2 = [spec("net/encoder/dense/kernel", (3, 4)), spec("net/encoder/dense/bias", (4,)),
           spec("net/head/kernel", (4, 2))]
    out = suggested(tf1, tf2)
    assert "Hint: 2 look renamed; pass name_map=lambda name: name.replace('encoder/', 'enc/')" \
        in out.message
    # The rule was checked on the matched names too: net/head/kernel stays itself.
    mapped = eval(out.message.split("name_map=", 1)[1])
    assert mapped("net/head/kernel:0") == "net/head/kernel:0"


def test_same_shape_twins_are_listed_not_swapped():
    tf1 = [spec("layer1/kernel", (4, 4)), spec("layer2/kernel", (4, 4))]
    tf2 = [spec("model/dense/kernel", (4, 4)), spec("model/dense_1/kernel", (4, 4))]
    out = suggested(tf1, tf2)
    assert "name_map=" not in out.message
    assert "several same-shape candidates: not guessed" in out.message
    assert "model/dense/kernel -> layer" in out.detail and " or " in out.detail


def test_siblings_follow_the_scope_their_shapes_decide():
    tf1 = [spec("block/conv1/weights", (3, 3, 3, 8)), spec("block/conv1/biases", (8,)),
           spec("block/conv2/weights", (3, 3, 8, 8)), spec("block/conv2/biases", (8,))]
    tf2 = [spec("conv2d/kernel", (3, 3, 3, 8)), spec("conv2d/bias", (8,)),
           spec("conv2d_1/kernel", (3, 3, 8, 8)), spec("conv2d_1/bias", (8,))]
    out = suggested(tf1, tf2)
    assert "'conv2d/bias:0': 'block/conv1/biases'" in out.message
    assert "'conv2d_1/bias:0': 'block/conv2/biases'" in out.message


def test_never_a_differently_shaped_name():
    tf1 = [spec("a", (2,)), spec("b", (3,))]
    tf2 = [spec("x/a", (3,)), spec("x/b", (2,))]
    out = suggested(tf1, tf2)
    assert "removeprefix" not in out.message
    assert "'x/a:0': 'b'" in out.message and "'x/b:0': 'a'" in out.message
