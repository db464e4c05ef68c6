"""tf-equiv: prove that migrated TensorFlow 2 code computes the same numbers as its TF1.x original.

User modules (`equiv_*.py`) import this package to declare pairs; it stays light on purpose:
nothing here imports TensorFlow.
"""
from __future__ import annotations

from tf_equiv.pair import ModelFn, Pair, SavedModel, Train

__all__ = ["ModelFn", "Pair", "SavedModel", "Train", "__version__"]
__version__ = "0.1.0"
