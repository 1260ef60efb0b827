"""``python -m hdrbench`` runs the CLI."""

from hdrbench.cli import entry

entry()
