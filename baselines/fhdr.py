"""FHDR (Khan, Khanna, Raman; GlobalSIP 2019): a feedback network iterating one dense block.

Re-implemented from the official code ``mukulkhanna/FHDR`` (``model.py``, ``train.py``, ``vgg.py``,
``util.py``, ``options.py``). Module names follow the official ones, so an official ``state_dict``
loads key for key (and then expects RGB ground truth: see the deviations in ``baselines/README.md``).

Conventions. The official network works on ``(x − 0.5) / 0.5`` scaled images and ends with ``tanh``;
this module does the conversion, so the network takes LDR ``(N, 3, H, W)`` display-referred [0, 1]
(any H, W ≥ 2) and returns linear HDR ``(N, 3, H, W)`` in [0, 1]: ``hdr = (tanh(y) + 1) / 2``.

Hidden states (the feedback block's and each dilated dense block's) start from the current input at
every forward (the paper's initialisation), not from the previous batch as in the official code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint as _checkpoint

from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe, Stage, recipes_key
from hdrbench.nn.vgg import IMAGENET_STD, VGGFeatures
from hdrbench.official import OfficialWeights, same_names

#: FHDR's μ-law constant (``util.mu_tonemap``).
MU = 5000.0
#: ``checkpoint="auto"`` recomputes activations in the backward pass from this many input pixels per batch
#: (N·H·W) on CUDA: 4 × 512², where batch 16 × 512² no longer fits on an 80 GB card without it.
CHECKPOINT_AUTO_PIXELS = 4 * 512 * 512
#: VGG19 layers and weights of FHDR's perceptual loss (``vgg.py``).
VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


class DenseLayer(nn.Module):
    """``cat(x, relu(conv3_dilation2(x)))``: ``cin`` → ``cin + growth`` channels (official ``make_dense``)."""

    def __init__(self, cin: int, growth: int = 32):
        super().__init__()
        self.conv = nn.Conv2d(cin, growth, 3, padding=2, dilation=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, F.relu(self.conv(x))), dim=1)


class DRDB(nn.Module):
    """Dilated residual dense block with its own hidden state (official ``DilatedResidualDenseBlock``).

    ``forward(x, hidden)`` returns the block output, which is also its next hidden state; no residual
    addition (as in the official code, despite the name). (N, nf, H, W) → (N, nf, H, W).
    """

    def __init__(self, nf: int = 64, layers: int = 4, growth: int = 32):
        super().__init__()
        self.compress = nn.Conv2d(2 * nf, nf, 1)
        self.dense_layers = nn.Sequential(*(DenseLayer(nf + i * growth, growth) for i in range(layers)))
        self.conv_1x1 = nn.Conv2d(nf + layers * growth, nf, 1, bias=False)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        return self.conv_1x1(self.dense_layers(self.compress(torch.cat((x, hidden), dim=1))))


def use_checkpoint(setting: bool | str, x: torch.Tensor) -> bool:
    """Whether to recompute activations for input ``x`` under ``setting`` (True, False or ``"auto"``)."""
    if not torch.is_grad_enabled():
        return False
    if setting == "auto":
        return x.is_cuda and x.shape[0] * x.shape[-2] * x.shape[-1] >= CHECKPOINT_AUTO_PIXELS
    return bool(setting)


def _call(module: nn.Module, recompute: bool, *args: torch.Tensor):
    """``module(*args)``, its activations recomputed in the backward pass when ``recompute``."""
    return _checkpoint(module, *args, use_reentrant=False) if recompute else module(*args)


class FeedbackBlock(nn.Module):
    """``relu(GFF(DRDB3(DRDB2(DRDB1(compress_in(cat(x, hidden)))))))``; each DRDB carries its own hidden.

    ``checkpoint`` (True, False, ``"auto"``): keep only each DRDB's inputs for the backward pass and recompute
    its dense layers there (same gradients, a fraction of the activation memory)."""

    def __init__(self, nf: int = 64, checkpoint: bool | str = False):
        super().__init__()
        self.checkpoint = checkpoint
        self.compress_in = nn.Conv2d(2 * nf, nf, 1)
        self.DRDB1, self.DRDB2, self.DRDB3 = DRDB(nf), DRDB(nf), DRDB(nf)
        self.GFF_3x3 = nn.Conv2d(nf, nf, 3, padding=1)

    def forward(self, x: torch.Tensor, hidden: list[torch.Tensor] | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One iteration. ``hidden``: [block, DRDB1, DRDB2, DRDB3] states, ``None`` at the first iteration
        (each state is then the input it meets). Returns the output and the next states."""
        h = hidden or [x, None, None, None]
        out = self.compress_in(torch.cat((x, h[0]), dim=1))
        states = []
        recompute = use_checkpoint(self.checkpoint, x)
        for drdb, hd in zip((self.DRDB1, self.DRDB2, self.DRDB3), h[1:]):
            out = _call(drdb, recompute, out, out if hd is None else hd)
            states.append(out)
        out = F.relu(self.GFF_3x3(out))
        return out, [out, *states]


class FHDRNet(nn.Module):
    """FHDR network; ``iterations`` feedback passes, one HDR estimate per pass.

    ``detach_hidden`` reproduces the official ``Variable(out.data)``: no gradient through the hidden states.
    ``checkpoint``: activation recomputation in the feedback block (see :class:`FeedbackBlock`).
    """

    def __init__(self, nf: int = 64, iterations: int = 4, detach_hidden: bool = False,
                 checkpoint: bool | str = False):
        super().__init__()
        self.iterations = iterations
        self.detach_hidden = detach_hidden
        self.feb1 = nn.Conv2d(3, nf, 3, padding=0)  # applied to a reflection-padded input
        self.feb2 = nn.Conv2d(nf, nf, 3, padding=1)
        self.feedback_block = FeedbackBlock(nf, checkpoint)
        self.hrb1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.hrb2 = nn.Conv2d(nf, 3, 3, padding=0)  # applied to a reflection-padded input

    def forward(self, ldr: torch.Tensor, return_all: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """``ldr`` (N, 3, H, W) [0, 1] → linear HDR (N, 3, H, W) in [0, 1] after the last iteration, or the
        list of all ``iterations`` estimates with ``return_all``."""
        x = (ldr - 0.5) / 0.5
        feb1 = F.relu(self.feb1(F.pad(x, (1, 1, 1, 1), mode="reflect")))
        feb2 = F.relu(self.feb2(feb1))
        hidden: list[torch.Tensor] | None = None
        outs = []
        for _ in range(self.iterations):
            fb_out, hidden = self.feedback_block(feb2, hidden)
            if self.detach_hidden:
                hidden = [h.detach() for h in hidden]
            y = self.hrb2(F.pad(F.relu(self.hrb1(fb_out + feb1)), (1, 1, 1, 1), mode="reflect"))
            outs.append((torch.tanh(y) + 1) / 2)
        return outs if return_all else outs[-1]


def mu_law(hdr: torch.Tensor, mu: float = MU) -> torch.Tensor:
    """FHDR's μ-law ``log(1 + μ·h) / log(1 + μ)`` of linear HDR ``h`` in [0, 1] (negatives clamped to 0).

    Equals the official ``mu_tonemap`` of the (h − 0.5)/0.5-scaled tensors it is applied to there.
    """
    return torch.log1p(mu * hdr.clamp_min(0)) / math.log1p(mu)


class FHDRLoss(nn.Module):
    """Mean over iterations of ``L1(T(out_t), T(gt)) + 10 · Σ_l w_l · L1(VGG_l(T(out_t)), VGG_l(T(gt)))``.

    ``T`` = :func:`mu_law`; VGG19 relu1_1…relu5_1 with weights 1/32…1, no ImageNet normalisation (as
    ``vgg.py``, which feeds ``T`` straight into torchvision's VGG19); offline weights via
    :class:`hdrbench.nn.vgg.VGGFeatures` (its ``substitution`` records a VGG19 → VGG16 fallback). With the
    original Caffe VGG19 of hdrbench's cache, ``T`` is read as the torchvision-standardised input it is in the
    official code and mapped to Caffe's convention (``VGGFeatures(normalize=None)``), where one input unit is
    ``255·σ̄`` units (σ̄ = ImageNet's mean std); the features are divided by that factor so that the official
    weight 10 keeps its scale (:attr:`feature_scale`). ``pred``: one (N, 3, H, W) estimate or the list of
    per-iteration estimates.
    ``checkpoint`` (True, False, ``"auto"``): recompute each VGG pass's activations in the backward pass.
    """

    def __init__(self, vgg_weight: float = 10.0, vgg_arch: str = "vgg19", checkpoint: bool | str = False):
        super().__init__()
        self.vgg_weight = vgg_weight
        self.checkpoint = checkpoint
        self.vgg = VGGFeatures(VGG_LAYERS, arch=vgg_arch, normalize=None)
        self.feature_scale = 1.0 if self.vgg.convention == "torchvision" else 3 / (255.0 * sum(IMAGENET_STD))

    def forward(self, pred: torch.Tensor | list[torch.Tensor], gt: torch.Tensor,
                ldr: torch.Tensor | None = None) -> torch.Tensor:
        preds = list(pred) if isinstance(pred, list | tuple) else [pred]
        t_gt = mu_law(gt)
        with torch.no_grad():
            f_gt = list(self.vgg(t_gt))
        total = gt.new_zeros(())
        recompute = use_checkpoint(self.checkpoint, gt)
        for p in preds:
            t = mu_law(p)
            feats = _call(self.vgg, recompute, t)
            perceptual = self.feature_scale * sum(w * F.l1_loss(f, g) for w, f, g in zip(VGG_WEIGHTS, feats, f_gt))
            total = total + F.l1_loss(t, t_gt) + self.vgg_weight * perceptual
        return total / len(preds)


class FHDR(Method):
    """FHDR as in ``mukulkhanna/FHDR``; options ``iterations`` (feedback passes, 4 = the paper's best),
    ``detach_hidden`` (official no-gradient-through-iterations behaviour), ``checkpoint`` (activation
    recomputation in the feedback block and the VGG loss: True, False, or ``"auto"``: on CUDA from 4 × 512²
    input pixels per batch). The ``paper`` protocol (batch 16 × 512²) accumulates 2 micro-batches of 8."""

    citation = ("Z. Khan, M. Khanna, S. Raman. FHDR: HDR Image Reconstruction from a Single LDR Image using "
                "Feedback Network. IEEE GlobalSIP 2019.")
    summary = "Feedback network (shared dilated dense block, 4 iterations); μ-law L1 + VGG loss; 0.57 M params"
    default_options = {"iterations": 4, "detach_hidden": False, "nf": 64, "checkpoint": "auto"}
    option_types = {"checkpoint": bool | str}  # true, false or "auto"
    # 200 epochs at batch 2 over the ~12k 256×256 training images of the README (6,000 iterations per
    # epoch); the learning rate decays linearly to 0 over the last 100 epochs (util.update_lr).
    recipe = Recipe(optimizer="adam", lr=2e-4, betas=(0.9, 0.999), scheduler="linear_decay", decay_start=600_000,
                    batch_size=2, patch_size=256, iterations=1_200_000, crop="random", augment=(),
                    source="mukulkhanna/FHDR options.py (+ train.py, util.update_lr, README: ~12k images; "
                           "data_loader.py: whole 256x256 images, no augmentation)")
    # mukulkhanna/FHDR model.FHDR: feb1 1,792 + feb2 36,928 + feedback block 493,888 (compress_in 8,256,
    # 3 DRDB × 149,568 — compress 8,256 + dense c3 (64+96+128+160)·32·9 = 129,024 + c1 192·64 = 12,288 —
    # GFF 36,928) + hrb1 36,928 + hrb2 1,731 → 571,267, independent of the iteration count.
    official_params = 571_267
    tiny_options = {"iterations": 2}
    pad_multiple = 1
    receptive_margin = 104  # receptive radius at 4 iterations (set per instance from `iterations`)
    output_convention = "linear HDR RGB in [0, 1] (tanh output rescaled), (N,3,H,W)"

    def __post_init__(self) -> None:
        super().__post_init__()
        it = self.options["iterations"]
        if isinstance(it, bool) or not isinstance(it, int) or it < 1:
            raise HDRBenchError(f"method 'fhdr': option iterations={it!r} must be an integer >= 1")
        self.receptive_margin = 4 + 25 * it  # feb1, feb2, hrb1, hrb2: 1 px each; each iteration: 25 px
        if self.options["checkpoint"] not in (True, False, "auto"):
            raise HDRBenchError(f"method 'fhdr': option checkpoint={self.options['checkpoint']!r} must be true, "
                                "false or 'auto'")

    @classmethod
    def convert_official_state_dict(cls, state: Mapping[str, Any]) -> OfficialWeights | None:
        """``mukulkhanna/FHDR``'s ``.ckpt``: the official names are ours (the iteration count is not in it)."""
        if "feb1.weight" not in state or "feedback_block.compress_in.weight" not in state:
            return None
        return same_names(cls, state, {"nf": int(state["feb1.weight"].shape[0])},
                          "FHDR official release (mukulkhanna/FHDR)",
                          "the file does not store the iteration count (the released models run 1 or 2: pass "
                          "iterations=1 or 2); they were trained against BGR-ordered ground truth, so their "
                          "output channels are B, G, R")

    def build_network(self) -> nn.Module:
        return FHDRNet(nf=int(self.options["nf"]), iterations=self.options["iterations"],
                       detach_hidden=bool(self.options["detach_hidden"]), checkpoint=self.options["checkpoint"])

    def build_loss(self) -> nn.Module:
        return FHDRLoss(checkpoint=self.options["checkpoint"])

    def recipe_for(self, recipes: str | None = None, recipe: Recipe | None = None) -> Recipe:
        """As :meth:`Method.recipe_for`; the ``paper`` protocol's batch of 16 runs as 2 accumulated halves
        (even with activation recomputation, one pass of batch 16 × 512² is too close to 80 GB)."""
        recipe = super().recipe_for(recipes, recipe)
        return recipe.replace(accumulate=2) if recipes_key(recipes) == "paper" else recipe

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor,
                      stage: Stage) -> tuple[torch.Tensor, dict[str, Any]]:
        """The loss averaged over every iteration's estimate (official ``train.py``)."""
        outs = net(ldr, return_all=True)
        value = loss(outs, hdr, ldr)
        return value, {"loss": value.detach()}
