"""Layers and losses that two or more methods share (methods import them from here, never from each other).

* :mod:`hdrbench.nn.unet`: the two-level U-Net shell of HDRUNet, KUNet and DCDR-UNet's restoration net;
* :mod:`hdrbench.nn.vgg`: the ImageNet VGG feature extractor of perceptual losses and its weight conventions
  (``IMAGENET_MEAN``/``IMAGENET_STD``, ``CAFFE_FEATURE_SCALE``);
* :mod:`hdrbench.nn.vgg_autoencoder`: the VGG16 skip auto-encoder of HDRCNN and SingleHDR;
* :mod:`hdrbench.nn.losses`: the tanh-L1 loss of HDRUNet and DCDR-UNet;
* :mod:`hdrbench.nn.masks`: the highlight mask of HDRCNN, HDRTV and SingleHDR;
* :mod:`hdrbench.nn.shapes`: building networks for their shapes only (parameter counts, no weights read).
"""
