"""hdrbench's version (recorded with every score, prediction file and sidecar)."""

__version__ = "0.1.0"
