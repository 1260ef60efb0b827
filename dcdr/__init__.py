"""DCDR-UNet (Kim et al.): deformable-convolution detail restoration U-Net, and its ablations."""
