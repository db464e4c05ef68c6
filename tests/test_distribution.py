"""The moments test that tells unalignable draws of one initializer from a changed initializer."""

import numpy as np

from tf_equiv.verdict.randomness import same_distribution


def test_two_draws_of_one_initializer_are_one_distribution():
    # Glorot-uniform kernels of the corpus's sizes, and normal ones: a correct migration whose
    # draws cannot be aligned must never be called a changed initializer by chance.
    rng = np.random.default_rng(0)
    for size in (30, 135, 270, 4096):
        for draw in (lambda n=size: rng.uniform(-0.29, 0.29, n), lambda n=size: rng.normal(0, 0.1, n)):
            assert all(same_distribution(draw(), draw()) for _ in range(2000))


def test_a_changed_initializer_is_another_distribution():
    rng = np.random.default_rng(1)
    glorot = rng.uniform(-0.52, 0.52, (6, 16))
    truncated = np.clip(rng.normal(0, 0.1, (6, 16)), -0.2, 0.2)
    assert not same_distribution(glorot, truncated)
    assert not same_distribution(glorot, glorot + 0.5)  # a shifted mean
    assert not same_distribution(glorot, np.zeros_like(glorot))
    assert same_distribution(np.zeros(5), np.zeros(5))
