"""Evaluation: :func:`evaluate` scores a benchmark's methods into the SQLite :class:`ResultStore`."""

from hdrbench.evaluate.runner import EvalSummary, evaluate, open_source, trained_checkpoint
from hdrbench.evaluate.store import ResultStore, Score

__all__ = ["EvalSummary", "ResultStore", "Score", "evaluate", "open_source", "trained_checkpoint"]
