"""DCDR-UNet (Kim et al., CVPRW 2024): deformable-convolution detail restoration U-Net, and its ablations.

``dcdr.blocks`` (SFT, DCRB), ``dcdr.network`` (condition, tone and restoration nets), ``dcdr.loss``
(Tanh_L1 + VGG), ``dcdr.method`` (the methods, registered in ``pyproject.toml``), ``dcdr.ops``
(deformable convolution).
"""
