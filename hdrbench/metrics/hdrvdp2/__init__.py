"""HDR-VDP 2.2.x (Mantiuk et al. 2011; Narwaria et al. 2015) ported to torch, plus an Octave backend.

``hdrvdp2(test, reference, ...)`` returns Q (2.2.1+ scale, 100 = identical), P_det, P_map and C_max;
registered as the metric ``hdrvdp2`` in ``pyproject.toml``.
"""

from hdrbench.metrics.hdrvdp2.metric import HDRVDP2, HDRVDP2Result, hdrvdp2
from hdrbench.metrics.hdrvdp2.params import HDRVDPParams

__all__ = ["HDRVDP2", "HDRVDP2Result", "HDRVDPParams", "hdrvdp2"]
