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

from baselines.hdrtv_network import AGCM, STAGES, HDRTVNet, HighlightGeneration, LocalEnhancement
from baselines.hdrtv_official import OFFICIAL_RENAMES, cv2_resize, official_cascade, png16
from hdrbench.errors import HDRBenchError
from hdrbench.method import Method, Recipe, Stage
from hdrbench.nn.masks import highlight_mask
from hdrbench.official import OfficialWeights, count_indexed, rename

PIPELINES = ("project", "official")


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
           "STAGE_RECIPES", "cv2_resize", "highlight_mask"]
