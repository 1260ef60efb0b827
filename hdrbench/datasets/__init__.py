"""Datasets: registered readers of public layouts (filled by the datasets module)."""
