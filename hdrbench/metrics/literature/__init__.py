"""Scoring protocols of published papers, one module per literature family, each exposing ``PROTOCOLS``."""
