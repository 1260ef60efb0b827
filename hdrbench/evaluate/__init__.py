"""Evaluation: :func:`evaluate` scores a plan's methods into the SQLite :class:`ResultStore`."""

from hdrbench.evaluate.runner import EvalSummary, evaluate, open_source
from hdrbench.evaluate.store import ResultStore, Score

__all__ = ["EvalSummary", "ResultStore", "Score", "evaluate", "open_source"]
