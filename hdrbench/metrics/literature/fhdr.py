"""FHDR (Khan, Khanna and Raman, GlobalSIP 2019): the PSNR and SSIM of its own ``test.py``.

Source: mukulkhanna/FHDR at commit 1a6cfb68ab8309e4db34c6cec991e0d862d50e8a (2022-04-30; ``test.py``, ``util.py``,
``data_loader.py`` last changed in 9dad5d53dc5e716fafa249bb2bf5ecbc96c35e03, 2020-10-08; ``requirements.txt`` in
c4e4991c0ff8286d0be1789526fe0b9b51d7f615, 2020-11-08).

* Data (``data_loader.py``): the ground truth is ``cv2.imread(path, -1)`` as float32, not normalised (FHDR's City
  Scene data is in [0, 1]), then ``Normalize(0.5, 0.5)``: ``2·H − 1``; the network ends in ``tanh``, so its
  output ``o`` is in (−1, 1) and the linear prediction is ``(o + 1)/2``.
* PSNR (``test.py`` + ``util.mu_tonemap``): ``log(1 + 5000·(x + 1)/2)/log(1 + 5000)`` of output and ground truth,
  i.e. the μ-law (μ = 5000) of the linear [0, 1] values with no normalisation; ``nn.MSELoss`` (mean over
  channels and pixels of one image); ``10·log10(1/mse)``.
* SSIM: ``skimage.measure.compare_ssim(generated, real, multichannel=True)`` on ``(o + 1)/2`` and ``(2H − 1 + 1)/2``:
  the **linear** values. ``requirements.txt`` pins scikit-image 0.15.0, whose ``compare_ssim`` (tag v0.15.0,
  825b95dd8c13fc8d34f94b7c2acac1515e3d8ddb, ``skimage/measure/_structural_similarity.py``) takes
  ``data_range = dtype_range[float32] = (−1, 1)`` → **2** when none is given, a 7×7 uniform window, sample
  covariance (N − 1), K1 = 0.01, K2 = 0.03, float64, each channel separately with a 3-pixel border cropped, then the
  mean of the channels. Today's call: ``structural_similarity(generated, real, channel_axis=-1, data_range=2.0)``.

The preparation keeps that data path: both images go through FHDR's float32 [−1, 1] round trip, ``(x − 0.5)/0.5``
then ``(y + 1)/2``. It is not an identity: it puts values on float32's grid near −1 (steps of 6e-8), and with
μ = 5000 the darkest pixels carry the PSNR; leaving it out moves PSNR-μ by up to 1.3e-4 dB on the demo data.

Not reproduced from saved files: ``util.write_hdr`` min-max normalises each image before writing its ``.hdr``, so
scores of FHDR's written outputs differ from ``test.py``'s, which scores the tensors. The ground truth is BGR and
the input RGB (cv2 vs PIL), which changes neither metric. The test code clips nothing; neither does this preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hdrbench.metrics.literature.base import LiteratureProtocol

SOURCE = ("mukulkhanna/FHDR test.py, util.py, data_loader.py, requirements.txt at "
          "1a6cfb68ab8309e4db34c6cec991e0d862d50e8a")


def fhdr_roundtrip(x: torch.Tensor) -> torch.Tensor:
    """FHDR's data path in float32: ``Normalize(0.5, 0.5)`` (``(x − 0.5)/0.5``, the range of its ``tanh`` output)
    and back, ``(y + 1)/2``, as ``test.py`` does before both metrics. ``x``: ``(N, 3, H, W)`` linear."""
    return ((x.float() - 0.5) / 0.5 + 1.0) / 2.0


@dataclass(frozen=True)
class FHDRProtocol(LiteratureProtocol):
    """Values as given (FHDR's data is linear [0, 1]) through FHDR's float32 [−1, 1] round trip
    (:func:`fhdr_roundtrip`); the metrics carry the rest of the definition."""

    def prepare(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pred, gt)`` ``(N, 3, H, W)`` float32, linear, after :func:`fhdr_roundtrip`."""
        return fhdr_roundtrip(pred), fhdr_roundtrip(gt)

    def rule(self) -> dict[str, Any]:
        return {"rule": "fhdr-float32-roundtrip", "mean": 0.5, "std": 0.5}

    def preparation_words(self) -> str:
        return "values as given, through FHDR's float32 [-1, 1] round trip (FHDR test.py)"


PROTOCOLS: dict[str, FHDRProtocol] = {
    "fhdr": FHDRProtocol(
        name="fhdr",
        summary="FHDR test.py: PSNR-μ (μ=5000, [0,1] as given, peak 1); SSIM on linear values, skimage 0.15 "
                "compare_ssim defaults (7×7 uniform, sample covariance, data_range 2)",
        metrics=("psnr-mu", "ssim"),
        params={
            "psnr-mu": {"mu": 5000.0, "norm": "none", "tanh": False},
            "ssim": {"domain": "linear", "norm": "none", "data_range": 2.0, "gaussian": False, "win_size": 7,
                     "use_sample_covariance": True},
        },
        assumes="linear HDR in [0, 1] (FHDR's City Scene data, read as it is stored)",
        peak=1.0,
        advice="FHDR's PSNR-μ and SSIM take [0, 1] values as they are; for other data use protocol scene "
               "('hdrbench score --protocol scene')",
        source=SOURCE,
    ),
}
