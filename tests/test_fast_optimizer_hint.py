"""The hint of a failing optimizer check names where TF1's and Keras's optimizers part, from the
facts each side reported (worker/optimizer_facts.py). No TensorFlow."""
from __future__ import annotations

from tf_equiv.verdict.optimizers import optimizer_hint


def tf1(cls, kind, **facts):
    return {"api": "tf1", "class": cls, "kind": kind, "learning_rate": 0.01, **facts}


def keras(cls, kind, **facts):
    return {"api": "keras", "class": cls, "kind": kind, "learning_rate": 0.01, **facts}


def test_adagrad_names_the_accumulator_and_the_missing_epsilon():
    hint = optimizer_hint(tf1("AdagradOptimizer", "adagrad", epsilon=0.0, initial_accumulator=0.1),
                          keras("Adagrad", "adagrad", epsilon=1e-7, initial_accumulator=0.01))
    assert hint == (
        "the optimizers differ: TF1's AdagradOptimizer starts its accumulator at 0.1, Keras's "
        "Adagrad at 0.01 (initial_accumulator_value=0.1 matches); TF1's AdagradOptimizer divides "
        "by sqrt(accumulator) with no epsilon, Keras's Adagrad by sqrt(accumulator + epsilon) "
        "with epsilon=1e-07 (epsilon=0.0 matches)")


def test_rmsprop_names_the_accumulator_no_argument_changes_and_epsilon():
    hint = optimizer_hint(
        tf1("RMSPropOptimizer", "rmsprop", epsilon=1e-10, rho=0.9, momentum=0.0, centered=False,
            initial_accumulator=1.0),
        keras("RMSprop", "rmsprop", epsilon=1e-7, rho=0.9, momentum=0.0, centered=False,
              initial_accumulator=0.0))
    assert hint == (
        "the optimizers differ: TF1's RMSPropOptimizer starts its mean square (slot rms) at 1, "
        "Keras's RMSprop its velocity at 0, which no argument changes (assign 1 to the velocity "
        "slots after optimizer.build(variables)): the first steps differ most; epsilon 1e-10 in "
        "TF1's RMSPropOptimizer, 1e-07 in Keras's RMSprop (epsilon=1e-10 matches)")


def test_momentum_is_named_only_with_a_learning_rate_that_changes():
    constant = optimizer_hint(tf1("MomentumOptimizer", "momentum", momentum=0.9, nesterov=False),
                              keras("SGD", "momentum", momentum=0.9, nesterov=False))
    assert constant == ""
    decaying = optimizer_hint(
        {**tf1("MomentumOptimizer", "momentum", momentum=0.9, nesterov=False), "schedule": True,
         "learning_rate": None},
        {**keras("SGD", "momentum", momentum=0.9, nesterov=False), "schedule": True,
         "learning_rate": None})
    assert decaying == (
        "the optimizers differ: TF1's MomentumOptimizer multiplies its whole accumulator by the "
        "current learning rate, Keras's SGD (momentum) keeps each step's rate in its velocity: "
        "with a learning rate that changes (a schedule) the steps differ from the second on, "
        "with a constant one they agree")


def test_adam_epsilon_and_plain_differences():
    hint = optimizer_hint(tf1("AdamOptimizer", "adam", epsilon=1e-8, beta_1=0.9, beta_2=0.999),
                          keras("Adam", "adam", epsilon=1e-7, beta_1=0.8, beta_2=0.999,
                                learning_rate=0.02))
    assert hint == (
        "the optimizers differ: epsilon 1e-08 in TF1's AdamOptimizer, 1e-07 in Keras's Adam "
        "(epsilon=1e-08 matches); learning rate 0.01 in TF1's AdamOptimizer, 0.02 in Keras's "
        "Adam; beta1=0.9 in TF1's AdamOptimizer, beta_1=0.8 in Keras's Adam")


def test_float32_round_off_is_no_difference_and_unknown_facts_say_nothing():
    # A Keras config holds float32 values: 1e-8 reads back as 9.99999993922529e-09.
    assert optimizer_hint(tf1("AdamOptimizer", "adam", epsilon=1e-8),
                          keras("Adam", "adam", epsilon=9.99999993922529e-09)) == ""
    assert optimizer_hint({}, keras("Adam", "adam", epsilon=1e-7)) == ""
    assert optimizer_hint(tf1("AdamOptimizer", "adam", epsilon=1e-8), None) == ""
    assert optimizer_hint(tf1("AdagradOptimizer", "adagrad"), keras("Adam", "adam")) == (
        "the optimizers differ: TF1's AdagradOptimizer and Keras's Adam apply different update "
        "rules")
