"""Loss building blocks shared by several methods (perceptual VGG features)."""

from hdrbench.losses.perceptual import VGGFeatures, vgg_layer_names

__all__ = ["VGGFeatures", "vgg_layer_names"]
