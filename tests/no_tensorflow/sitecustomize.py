"""Make TensorFlow unimportable, as on a machine without it (.ci/fast puts this folder first on
PYTHONPATH, so it is this interpreter's and every subprocess's `sitecustomize`).

`import tensorflow` (or tf_keras, tf_slim, keras, or any submodule of them) raises
ModuleNotFoundError, whether or not the packages are installed: a test left out of the
`tensorflow` marker that still reaches TensorFlow fails instead of passing slowly.
"""
from __future__ import annotations

import sys

BLOCKED = ("tensorflow", "tf_keras", "tf_slim", "keras")


class NoTensorFlow:
    """A meta path finder that refuses the blocked packages before any other finder sees them."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {name!r} (TensorFlow is blocked by "
                f"tests/no_tensorflow/sitecustomize.py: mark the test @pytest.mark.tensorflow)",
                name=name)
        return None

    @staticmethod
    def invalidate_caches():
        pass


if not any(isinstance(f, NoTensorFlow) for f in sys.meta_path):
    sys.meta_path.insert(0, NoTensorFlow())
