"""What the parent tells its workers, typed: imported by both sides, so it imports no TensorFlow
and nothing of the parent's (`run/`) or the worker's (`worker/`)."""
