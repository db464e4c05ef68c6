"""The pytest plugin: `pytest --tf-equiv` runs the pairs as tests."""
