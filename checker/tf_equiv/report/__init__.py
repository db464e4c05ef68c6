"""Reporters format a finished Report (or PairResult); they compute nothing."""
