"""Scoring presets transcribed from published methods' code and their authors' words, one module per source.

``singlehdr`` (SingleHDR, Liu et al. 2020), ``expandnet-display`` / ``expandnet-scene`` /
``expandnet-scene-percentiles`` (ExpandNet, Marnerides et al. 2018), ``hdrcnn`` / ``hdrcnn-p95`` (HDRCNN,
Eilertsen et al. 2017), ``fhdr`` (FHDR, Khan et al. 2019), ``hdrtv`` (HDRTV domain: PQ-coded BT.2020; HDRTVNet,
Deep SR-ITM). Each module's docstring quotes its source (repository,
path and commit, or issue thread) and says which reading it takes where the source is ambiguous; each preset is a
:class:`hdrbench.metrics.protocols.Protocol`, so :func:`hdrbench.score` and the evaluation use it like any other.
``docs/protocols-literature.md`` lists what each reproduces, what it cannot, and the measured agreement with the
sources' transcriptions (``tests/test_literature_protocols.py``).
"""

from __future__ import annotations

from hdrbench.metrics.literature import expandnet, fhdr, hdrcnn, hdrtv, singlehdr
from hdrbench.metrics.literature.base import LiteratureProtocol
from hdrbench.metrics.protocol import Protocol

PROTOCOLS: dict[str, Protocol] = {**singlehdr.PROTOCOLS, **expandnet.PROTOCOLS, **hdrcnn.PROTOCOLS,
                                  **fhdr.PROTOCOLS, **hdrtv.PROTOCOLS}

__all__ = ["PROTOCOLS", "LiteratureProtocol"]
