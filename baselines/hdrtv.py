"""HDRTVNet (Chen et al., ICCV 2021, "A New Journey from SDRTV to HDRTV"): AGCM → LE → HG, trained in stages.

Re-implemented from the official PyTorch code (``chxy95/HDRTVNet``, ``codes/models/modules``):

* **AGCM** (adaptive global colour mapping, ``Condition_arch.py``): a condition net on the input
  down-sampled ×4 (bicubic) gives a 6-d vector; three 1×1 convs 3→64→64→3 are each modulated
  ``out·(1 + s) + t`` with ``s, t`` from linear layers, ReLU after the first two;
* **LE** (local enhancement, ``Base_arch.py``): a modified SRResNet — 3×3 stride-2 conv, 16 residual blocks
  (no BN, init ×0.1), conv + PixelShuffle ×2, 3×3 HR conv, 3×3 output conv;
* **HG** (highlight generation, ``Hallucination_arch.py``): a BN+ReLU U-Net (5 max-pools, PixelShuffle
  up-blocks, 1×1 fusions) whose output is ``mask·conv_last([u; img]) + img``, mask
  ``clip((max_c(LDR) − 0.95)/0.05, 0, 1)`` from the input LDR (the official ``generate_mask.py``).

Option ``pipeline="official"`` runs the official *test-time* cascade instead (:func:`official_cascade`), so
that the authors' released weights give the authors' results: the condition image is MATLAB-style bicubic
×1/4 (``imresize_np``), no padding, each stage's output goes through the 16-bit PNG the official scripts
write and read back, HG's input and mask are resized (bilinear, OpenCV) to multiples of 32. The default
``pipeline="project"`` is the one the project trains with.

The official code trains the stages one after the other, each on the saved outputs of the frozen previous
stage. Here :meth:`HDRTV.stages` declares the three stages in that order, each with its official recipe and
only its own sub-network trained; earlier stages run frozen (eval mode, no gradient). The option ``stage``
(``all`` by default, or ``agcm``, ``le``, ``hg``) restricts training to one stage and inference to the
cascade up to it.

Tensors: input ``(N, 3, H, W)`` display-referred RGB in [0, 1] (``H, W`` multiples of 32 inside the network;
:meth:`Method.predict` pads); output ``(N, 3, H, W)`` in the units of the training target (linear HDR here;
HDR10/PQ in the original paper).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from baselines.hdrtv_official import OFFICIAL_RENAMES, cv2_resize, official_cascade, png16
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe, Stage
from hdrbench.nn.masks import highlight_mask
from hdrbench.official import OfficialWeights, count_indexed, rename

STAGES = ("agcm", "le", "hg")
#: Smallest condition-image side: its 4 InstanceNorm layers follow 4 stride-2 pools and need > 1 pixel.
MIN_CONDITION_SIZE = 32
PIPELINES = ("project", "official")
# -- AGCM ---------------------------------------------------------------------------------------------
def _color_block(c_in: int, c_out: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 1), nn.AvgPool2d(3, stride=2, padding=1), nn.LeakyReLU(0.2)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
    return layers


class ColorCondition(nn.Module):
    """Condition net: 5 [1×1 conv, avg-pool s2, LeakyReLU(0.2) (+ InstanceNorm)] → dropout → 1×1 → global mean."""

    def __init__(self, cond_c: int = 6):
        super().__init__()
        widths = (3, 16, 32, 64, 128, 128)
        layers: list[nn.Module] = []
        for i in range(5):
            layers += _color_block(widths[i], widths[i + 1], norm=i < 4)
        self.body = nn.Sequential(*layers, nn.Dropout(0.5), nn.Conv2d(128, cond_c, 1), nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


class AGCM(nn.Module):
    """Adaptive global colour mapping: pixel-wise 1×1 convs modulated by a global condition vector."""

    def __init__(self, nf: int = 64, cond_c: int = 6):
        super().__init__()
        self.condition = ColorCondition(cond_c)
        self.convs = nn.ModuleList([nn.Conv2d(3, nf, 1), nn.Conv2d(nf, nf, 1), nn.Conv2d(nf, 3, 1)])
        self.scales = nn.ModuleList([nn.Linear(cond_c, nf), nn.Linear(cond_c, nf), nn.Linear(cond_c, 3)])
        self.shifts = nn.ModuleList([nn.Linear(cond_c, nf), nn.Linear(cond_c, nf), nn.Linear(cond_c, 3)])

    def forward(self, x: torch.Tensor, cond_image: torch.Tensor) -> torch.Tensor:
        cond = self.condition(cond_image)
        out = x
        for i, (conv, scale, shift) in enumerate(zip(self.convs, self.scales, self.shifts)):
            out = conv(out)
            out = out * (1 + scale(cond)[..., None, None]) + shift(cond)[..., None, None]
            if i < 2:
                out = F.relu(out)
        return out


# -- LE -----------------------------------------------------------------------------------------------
def _kaiming_scaled(modules: list[nn.Module], scale: float) -> None:
    """The official ``initialize_weights``: Kaiming-normal (fan-in) × ``scale``, zero bias."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
                m.weight.data.mul_(scale)
                if m.bias is not None:
                    m.bias.data.zero_()


class ResidualBlockNoBN(nn.Module):
    """conv-ReLU-conv + identity, init ×0.1."""

    def __init__(self, nf: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv2 = nn.Conv2d(nf, nf, 3, padding=1)
        _kaiming_scaled([self.conv1, self.conv2], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class LocalEnhancement(nn.Module):
    """The modified SRResNet: stride-2 stem, ``nb`` residual blocks, PixelShuffle ×2 back to full size."""

    def __init__(self, nf: int = 64, nb: int = 16):
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, stride=2, padding=1)
        self.trunk = nn.Sequential(*(ResidualBlockNoBN(nf) for _ in range(nb)))
        self.upconv = nn.Conv2d(nf, nf * 4, 3, padding=1)
        self.hr_conv = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, 3, 3, padding=1)
        _kaiming_scaled([self.conv_first, self.upconv, self.hr_conv, self.conv_last], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = F.relu(self.conv_first(x))
        out = F.relu(F.pixel_shuffle(self.upconv(self.trunk(fea)), 2))
        return self.conv_last(F.relu(self.hr_conv(out)))


# -- HG -----------------------------------------------------------------------------------------------
def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())


class HighlightGeneration(nn.Module):
    """The HG U-Net; ``forward(img, mask)`` returns ``mask·conv_last([u; img]) + img``."""

    def __init__(self, nf: int = 64):
        super().__init__()
        self.conv1, self.conv2 = _conv_bn_relu(3, nf), _conv_bn_relu(nf, 2 * nf)
        self.conv3_1, self.conv3_2 = _conv_bn_relu(2 * nf, 4 * nf), _conv_bn_relu(4 * nf, 4 * nf)
        self.conv4_1, self.conv4_2 = _conv_bn_relu(4 * nf, 8 * nf), _conv_bn_relu(8 * nf, 8 * nf)
        self.conv5_1, self.conv5_2 = _conv_bn_relu(8 * nf, 8 * nf), _conv_bn_relu(8 * nf, 8 * nf)
        self.code1, self.code2 = _conv_bn_relu(8 * nf, 8 * nf), _conv_bn_relu(8 * nf, 8 * nf)
        self.up1, self.fuse1 = _up(8 * nf, 8 * nf), nn.Conv2d(16 * nf, 8 * nf, 1)
        self.up2, self.fuse2 = _up(8 * nf, 8 * nf), nn.Conv2d(16 * nf, 4 * nf, 1)
        self.up3, self.fuse3 = _up(4 * nf, 4 * nf), nn.Conv2d(8 * nf, 2 * nf, 1)
        self.up4, self.fuse4 = _up(2 * nf, 2 * nf), nn.Conv2d(4 * nf, nf, 1)
        self.up5, self.fuse5 = _up(nf, nf), nn.Conv2d(2 * nf, 3, 1)
        self.conv_last = nn.Conv2d(6, 3, 1)
        for m in self.modules():  # the official weights_init_kaiming
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d
        c1 = self.conv1(img)
        c2 = self.conv2(pool(c1, 2))
        c3 = self.conv3_2(pool(self.conv3_1(c2), 2))
        c4 = self.conv4_2(pool(self.conv4_1(c3), 2))
        c5 = self.conv5_2(pool(self.conv5_1(c4), 2))
        code = self.code2(pool(self.code1(c5), 2))
        u = self.fuse1(torch.cat([self.up1(code), c5], 1))
        u = self.fuse2(torch.cat([self.up2(u), c4], 1))
        u = self.fuse3(torch.cat([self.up3(u), c3], 1))
        u = self.fuse4(torch.cat([self.up4(u), c2], 1))
        u = self.fuse5(torch.cat([self.up5(u), c1], 1))
        return mask * self.conv_last(torch.cat([u, img], 1)) + img


class HDRTVNet(nn.Module):
    """The three stages in one module; ``forward(ldr, upto)`` runs AGCM, then LE, then HG (up to ``upto``)."""

    def __init__(self, nf: int = 64, nb: int = 16, cond_c: int = 6, mask_threshold: float = 0.95,
                 hg_nf: int | None = None):
        super().__init__()
        self.agcm = AGCM(nf, cond_c)
        self.le = LocalEnhancement(nf, nb)
        self.hg = HighlightGeneration(hg_nf or nf)
        self.mask_threshold = mask_threshold

    def stage_inputs(self, ldr: torch.Tensor, stage: str) -> tuple[torch.Tensor, ...]:
        """Inputs of ``stage``: ``(ldr, cond)`` for AGCM, ``(agcm_out,)`` for LE, ``(le_out, mask)`` for HG."""
        if stage == "agcm":  # the official condition image: MATLAB bicubic ×1/4 (anti-aliased)
            cond = F.interpolate(ldr, scale_factor=0.25, mode="bicubic", antialias=True, align_corners=False)
            if min(cond.shape[-2:]) < MIN_CONDITION_SIZE:  # InstanceNorm needs > 1 pixel after 4 pools
                scale = MIN_CONDITION_SIZE / min(cond.shape[-2:])
                size = [max(MIN_CONDITION_SIZE, round(s * scale)) for s in cond.shape[-2:]]
                cond = F.interpolate(cond, size=size, mode="bilinear", align_corners=False)
            return ldr, cond
        if stage == "le":
            return (self.agcm(*self.stage_inputs(ldr, "agcm")),)
        if stage == "hg":
            return self.le(*self.stage_inputs(ldr, "le")), highlight_mask(ldr, self.mask_threshold)
        raise HDRBenchError(f"unknown HDRTV stage '{stage}' (known: {', '.join(STAGES)})")

    def forward(self, ldr: torch.Tensor, upto: str = "hg", mode: str = "infer") -> torch.Tensor:
        """Run the cascade on ``ldr`` ``(N, 3, H, W)`` in [0, 1] (``H, W`` multiples of 32).

        ``mode="infer"``: the output of stage ``upto``. ``"stage"``: the same, but the stages before
        ``upto`` run frozen (eval mode, no gradient), as the official offline cascade trains ``upto``.
        Training goes through this ``forward`` so that a DDP wrapper sees it.
        """
        if ldr.shape[-1] % 32 or ldr.shape[-2] % 32:
            raise HDRBenchError(f"HDRTV needs H and W multiples of 32, got {tuple(ldr.shape[-2:])}; "
                                "use Method.predict, which pads")
        if mode == "stage":
            earlier = [getattr(self, name) for name in STAGES[: STAGES.index(upto)]]
            modes = [m.training for m in earlier]
            try:
                for m in earlier:
                    m.eval()
                with torch.no_grad():
                    inputs = self.stage_inputs(ldr, upto)
            finally:
                for m, was_training in zip(earlier, modes):
                    m.train(was_training)
            return getattr(self, upto)(*inputs)
        if mode != "infer":
            raise HDRBenchError(f"HDRTVNet: unknown mode '{mode}' (infer, stage)")
        return getattr(self, upto)(*self.stage_inputs(ldr, upto))


class StageL1(nn.Module):
    """The official pixel criterion of every stage: L1 (weight 1) between the stage output and the target."""

    def forward(self, pred: torch.Tensor, hdr: torch.Tensor, ldr: torch.Tensor | None = None) -> torch.Tensor:
        return F.l1_loss(pred, hdr)


_MILESTONES = (200_000, 400_000, 600_000, 800_000)
STAGE_RECIPES: dict[str, Recipe] = {
    "agcm": Recipe(lr=5e-4, betas=(0.9, 0.99), scheduler="multistep", milestones=_MILESTONES, gamma=0.5,
                   batch_size=4, patch_size=480, iterations=1_000_000, crop="random", augment=(),
                   source="chxy95/HDRTVNet codes/options/train/train_AGCM.yml (use_flip, use_rot: false)"),
    "le": Recipe(lr=2e-4, betas=(0.9, 0.99), scheduler="multistep", milestones=_MILESTONES, gamma=0.5,
                 batch_size=16, patch_size=160, iterations=1_000_000, crop="random", augment=(),
                 source="chxy95/HDRTVNet codes/options/train/train_LE.yml (use_flip, use_rot: false)"),
    # lr_steps [200000, 300000, 40000] in the yml: MultiStepLR counts 40000 too, so it is the first decay.
    "hg": Recipe(lr=2e-4, betas=(0.9, 0.99), scheduler="multistep", milestones=(40_000, 200_000, 300_000),
                 gamma=0.5, batch_size=16, patch_size=160, iterations=500_000, crop="random", augment=(),
                 source="chxy95/HDRTVNet codes/options/train/train_HG_Generator.yml (L1 pre-training of HG; "
                        "use_flip, use_rot: false)"),
}


class HDRTV(Method):
    """HDRTVNet: AGCM (global colour mapping) → LE (local enhancement) → HG (highlight generation above 0.95)."""

    citation = ("X. Chen, Z. Zhang, J. S. Ren, L. Tian, Y. Qiao, C. Dong. A New Journey from SDRTV to HDRTV. "
                "ICCV 2021")
    summary = "3-stage cascade: AGCM colour mapping, SRResNet local enhancement, U-Net highlight generation"
    default_options = {"stage": "all", "nf": 64, "nb": 16, "cond_c": 6, "mask_threshold": 0.95, "hg_nf": None,
                       "pipeline": "project", "official_mask": "sdr"}
    recipe = STAGE_RECIPES["agcm"].replace(
        source="chxy95/HDRTVNet train_AGCM.yml, train_LE.yml, train_HG_Generator.yml, in this order "
               "(each stage's recipe: HDRTV.stages)")
    # chxy95/HDRTVNet Condition_arch + Base_arch + Hallucination_arch: AGCM 35,251 + LE 1,369,859 +
    # HG 36,794,200 (tests/test_baselines_b.py derives each).
    official_params = 38_199_310
    global_context = True  # AGCM's condition vector comes from the whole (×1/4) image
    pad_multiple = 32
    receptive_margin = 224  # LE + HG radius 223 px (autograd); AGCM is global (see README)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.options["stage"] not in ("all", *STAGES):
            raise HDRBenchError(f"method 'hdrtv': option stage='{self.options['stage']}' is not one of "
                                f"all, {', '.join(STAGES)}")
        if self.options["pipeline"] not in PIPELINES:
            raise HDRBenchError(f"method 'hdrtv': option pipeline='{self.options['pipeline']}' is not one of "
                                f"{', '.join(PIPELINES)}")
        if self.options["pipeline"] == "official":
            self.tileable = False  # AGCM's condition is global, HG resizes the whole image

    @property
    def stage(self) -> str:
        return str(self.options["stage"])

    def build_network(self) -> nn.Module:
        o = self.options
        net = HDRTVNet(int(o["nf"]), int(o["nb"]), int(o["cond_c"]), float(o["mask_threshold"]),
                       int(o["hg_nf"]) if o["hg_nf"] else None)
        self._stage_params = {name: sum(p.numel() for p in getattr(net, name).parameters()) for name in STAGES}
        return net

    def build_loss(self) -> nn.Module:
        return StageL1()

    # -- official weights and pipeline ---------------------------------------------------------------
    @classmethod
    def convert_official_state_dict(cls, state: Mapping[str, Any]) -> OfficialWeights | None:
        """One stage's official file (``AGCM``/``LE``/``HG`` of ``chxy95/HDRTVNet``) in our names; its widths
        become options (``nf``, ``nb``, ``cond_c``, ``hg_nf``) and the official pipeline is selected."""
        if "classifier.model.0.weight" in state and "cond_scale_first.weight" in state:
            stage, options = "agcm", {"nf": int(state["conv_first.weight"].shape[0]),
                                      "cond_c": int(state["cond_scale_first.weight"].shape[1])}
        elif "recon_trunk.0.conv1.weight" in state and "upconv.weight" in state:
            stage, options = "le", {"nf": int(state["conv_first.weight"].shape[0]),
                                    "nb": count_indexed(state, "recon_trunk.")}
        elif "conv_code1.0.weight" in state and "Up_conv1.0.weight" in state:
            stage, options = "hg", {"hg_nf": int(state["conv1.0.weight"].shape[0])}
        else:
            return None
        renamed = rename(state, OFFICIAL_RENAMES[stage])
        if any(not k.startswith(f"{stage}.") for k in renamed):
            return None
        return OfficialWeights(renamed, {**options, "pipeline": "official"},
                               f"HDRTVNet {stage.upper()} official release (chxy95/HDRTVNet)",
                               "" if stage != "hg" else "HDRTVNet outputs HDR10 (PQ-coded BT.2020), not linear HDR")

    def required_state_keys(self, net: nn.Module) -> set[str]:
        """The weights of the stages that run: those up to ``stage`` (all three for ``all``)."""
        upto = STAGES if self.stage == "all" else STAGES[: STAGES.index(self.stage) + 1]
        return {k for k in net.state_dict() if k.split(".", 1)[0] in upto}

    @torch.no_grad()
    def predict(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """Whole-image inference; with ``pipeline="official"`` the official cascade, its last stage clipped and
        quantised as the official 16-bit PNG, resized (bilinear) back to the input's ``H, W``."""
        if self.options["pipeline"] != "official":
            return super().predict(net, ldr)
        upto = "hg" if self.stage == "all" else self.stage
        out = png16(official_cascade(net, ldr, upto, str(self.options["official_mask"]))[upto])
        return out if out.shape[-2:] == ldr.shape[-2:] else cv2_resize(out, tuple(ldr.shape[-2:]))

    # -- stages -------------------------------------------------------------------------------------
    def for_stage(self, stage: str) -> HDRTV:
        """This method with option ``stage`` set: it trains (and predicts up to) that stage alone."""
        return type(self)(options={**copy.deepcopy(self.options), "stage": stage})

    def stages(self, recipes: str | None = None) -> list[Stage]:
        """AGCM, LE, HG in order (or the ``stage`` option's alone), each with its official recipe (as
        ``recipes`` sets it) and only its own sub-network trained (the others frozen, as the official offline
        cascade)."""
        names = STAGES if self.stage == "all" else (self.stage,)
        return [Stage(name, self.recipe_for(recipes, STAGE_RECIPES[name]), trains=(name,)) for name in names]

    def forward(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """Output of the cascade up to the current stage (the whole cascade for ``all``), clipped at 0.

        The official code clips when it writes its 16-bit output (``tensor2img``); linear HDR here is
        unbounded above, so only the lower bound is kept.
        """
        return net(ldr, upto="hg" if self.stage == "all" else self.stage).clamp_min(0)

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor,
                      stage: Stage) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """L1 of ``stage``'s output, earlier stages run frozen as in the official offline cascade."""
        value = loss(net(ldr, upto=stage.name, mode="stage"), hdr, ldr)
        return value, {"loss": value.detach()}

    def describe(self) -> dict[str, Any]:
        out = super().describe()  # builds the network once, which records the per-stage counts
        out["stage_params"] = dict(self._stage_params)
        out["stage_recipes"] = {name: r.to_dict() for name, r in STAGE_RECIPES.items()}
        return out


__all__ = ["HDRTV", "HDRTVNet", "official_cascade", "png16", "OFFICIAL_RENAMES",
           "AGCM", "LocalEnhancement", "HighlightGeneration", "StageL1", "STAGES",
           "STAGE_RECIPES"]
