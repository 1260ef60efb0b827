"""Metrics: one interface, registered by name (filled by the metrics engine)."""
