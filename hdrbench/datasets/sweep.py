"""The exposure sweep of virtual-camera datasets: the same test scenes photographed 0, 1, 2, … stops brighter.

Option ``exposures`` (a list of EV offsets, default ``None`` = no sweep) of every
:class:`~hdrbench.datasets.synth.SynthesizedPairs` dataset replaces each test set ``T`` by one test set per
offset ``k``, named ``T@{k:+g}EV`` (``test@+0EV``, ``test@+1EV``, ``test@+0.5EV``, ``test@-1EV``), in the order
given. Per scene the dataset's own exposure rule first picks the gain ``s`` (``exposure="clip"`` with
``clip_fraction``, or ``exposure="ev"`` with ``ev``/``ev_anchor``); the LDR is then taken at ``s · 2**k``
while the ground truth stays the exposed image at ``s`` (same files, same units for every ``k``). So
``T@+0EV`` is ``T`` exactly, and at ``+k`` the LDR saturates at ground truth ``saturation / 2**k``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from hdrbench.errors import HDRBenchError

#: Separates a test set's name from its exposure offset: ``test@+1EV``.
SEPARATOR = "@"
#: The largest offset accepted (stops): far beyond the ~8 stops an 8-bit LDR shows, every pixel is white or black.
MAX_OFFSET = 24.0

_EXAMPLE = "e.g. exposures = [0, 1, 2, 3] (stops above the dataset's own exposure), or leave it unset for no sweep"


def check_exposures(value: Any) -> tuple[float, ...] | None:
    """``exposures`` as a tuple of distinct finite floats (``-0.0`` read as 0), or ``None``; one-line error
    naming the option otherwise (not a list, a non-number, a duplicate, an empty list, |k| > 24)."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise HDRBenchError(f"dataset option exposures={value!r} must be a list of numbers; {_EXAMPLE}")
    if not value:
        raise HDRBenchError(f"dataset option exposures=[] lists no exposure; {_EXAMPLE}")
    out: list[float] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise HDRBenchError(f"dataset option exposures={list(value)!r}: {item!r} is not a finite number of "
                                f"stops; {_EXAMPLE}")
        if abs(item) > MAX_OFFSET:
            raise HDRBenchError(f"dataset option exposures={list(value)!r}: {item!r} stops is beyond ±{MAX_OFFSET:g} "
                                f"(every pixel white or black); {_EXAMPLE}")
        ev = float(item) + 0.0  # -0.0 -> 0.0
        if ev in out or offset_label(ev) in map(offset_label, out):
            raise HDRBenchError(f"dataset option exposures={list(value)!r} lists {item!r} twice; give each "
                                "exposure once")
        out.append(ev)
    return tuple(out)


def offset_label(ev: float) -> str:
    """``+0EV``, ``+1EV``, ``+0.5EV``, ``-1EV``: the readable, stable suffix of an offset."""
    return f"{float(ev) + 0.0:+g}EV"


def sweep_name(test_set: str, ev: float) -> str:
    """The name of ``test_set`` photographed ``ev`` stops brighter: ``test@+1EV``."""
    return f"{test_set}{SEPARATOR}{offset_label(ev)}"


def sweep_sets(test_sets: Iterable[str], exposures: tuple[float, ...] | None) -> dict[str, tuple[str, float]]:
    """``{sweep test set: (base test set, offset in stops)}`` in order (each base set, then each offset);
    empty without a sweep."""
    if not exposures:
        return {}
    return {sweep_name(ts, ev): (ts, ev) for ts in test_sets for ev in exposures}
