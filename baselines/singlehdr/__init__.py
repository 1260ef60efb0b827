"""SingleHDR (Liu et al., CVPR 2020): reverse the camera pipeline with three (four) networks.

Modules: :mod:`.dequantization` (Dequantization/Refinement U-Net), :mod:`.emor` (inverse EMoR basis, shipped in
``data/``), :mod:`.linearization` (inverse-CRF prediction), :mod:`.hallucination` (VGG16 auto-encoder),
:mod:`.method` (the registered method ``singlehdr``, its loss and recipe).
"""

from baselines.singlehdr.method import SingleHDR, SingleHDRLoss, SingleHDRNet

__all__ = ["SingleHDR", "SingleHDRLoss", "SingleHDRNet"]
