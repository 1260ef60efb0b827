"""What a method is: its network, its loss, its default training recipe and its I/O conventions.

A method is a class registered with :func:`hdrbench.registry.register_method`. hdrbench never names a
specific method anywhere else: training, evaluation and prediction go through this interface.

Tensor conventions at this border (every method, unless its class says otherwise):

* input ``ldr``: float32 ``(N, 3, H, W)`` RGB, display-referred (camera/gamma-encoded) in ``[0, 1]``;
* output: float32 ``(N, 3, H, W)`` RGB, **linear** HDR, same ``H, W``, in the units of the training
  ground truth (``[0, 1]`` for the paper's Cityscapes protocol), unbounded above.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from hdrbench.checks import MIN_PATCH, check_options, check_value, field_hints
from hdrbench.defaults import RECIPES
from hdrbench.errors import HDRBenchError, check_known

if TYPE_CHECKING:
    from hdrbench.official import OfficialWeights

#: Patch cutting modes and random augmentations a :class:`Recipe` may declare.
CROPS = ("grid", "random")
AUGMENTATIONS = ("hflip", "vflip", "transpose")
#: Optimizers and learning-rate schedules a :class:`Recipe` may name (:mod:`hdrbench.train.optim` builds them).
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("constant", "multistep", "cosine", "linear_decay", "exponential")

#: The range of each numeric :class:`Recipe` field: (test of a value of the right type, the rule in words).
#: ``iterations`` = 0 marks the recipe of a method with nothing to train (``identity``); an override of it
#: (:meth:`Recipe.replace`, ``--iterations``, bench.toml ``recipe``) must be >= 1.
RECIPE_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "lr": (lambda v: v > 0, "> 0"),
    "betas": (lambda v: all(0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "milestones": (lambda v: all(m >= 1 for m in v), "a list of iteration numbers >= 1"),
    "gamma": (lambda v: v > 0, "> 0"),
    "eta_min": (lambda v: v >= 0, ">= 0"),
    "decay_start": (lambda v: v >= 0, ">= 0"),
    "step_every": (lambda v: v >= 1, ">= 1"),
    "batch_size": (lambda v: v >= 1, ">= 1"),
    "patch_size": (lambda v: v >= MIN_PATCH, f">= {MIN_PATCH}"),
    "iterations": (lambda v: v >= 0, ">= 1 (0 only marks a method with nothing to train)"),
    "grad_clip": (lambda v: v is None or v > 0, "> 0, or null for no clipping"),
    "accumulate": (lambda v: v >= 1, ">= 1"),
    "optimizer": (lambda v: v.lower() in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "scheduler": (lambda v: v.lower() in SCHEDULERS, f"one of {', '.join(SCHEDULERS)}"),
    "crop": (lambda v: v in CROPS, f"one of {', '.join(CROPS)}"),
}


def check_recipe_value(name: str, value: Any) -> None:
    """One recipe field's type and range, alone (no other field): one :class:`HDRBenchError` line naming it."""
    default = next(f.default for f in dataclasses.fields(Recipe) if f.name == name)
    check_value(value, field_hints(Recipe)[name], f"recipe {name}", default)
    test, rule = RECIPE_RANGES.get(name, (lambda v: True, ""))
    if not test(value):
        raise HDRBenchError(f"recipe {name}={value!r} must be {rule}")


def check_recipe_overrides(changes: Mapping[str, Any]) -> None:
    """Recipe ``changes`` (bench.toml ``recipe``, command-line overrides) of known keys, types and ranges, each
    checked alone; ``iterations`` must be >= 1 (an override of 0 would train nothing, or silently once)."""
    check_known(changes, (f.name for f in dataclasses.fields(Recipe)), "recipe key")
    for name, value in changes.items():
        check_recipe_value(name, value)
    if "iterations" in changes and changes["iterations"] < 1:
        raise HDRBenchError(f"recipe iterations={changes['iterations']!r} must be >= 1")


@dataclass(frozen=True)
class Recipe:
    """A default training recipe, as the method's official configuration states it.

    ``scheduler`` is one of ``constant``, ``multistep`` (``milestones``, ``gamma``), ``cosine``
    (to ``eta_min``), ``linear_decay`` (linear to 0 from ``decay_start``) or ``exponential``
    (``gamma`` per ``step_every`` iterations). Methods trained in stages give one recipe per
    :class:`Stage`.

    Training patches: ``crop`` is ``grid`` (the non-overlapping ``patch_size`` grid of every image, remainder
    dropped; the DCDR-UNet paper's protocol) or ``random`` (random ``patch_size`` crops, as many per image and
    epoch as the grid would give; the official BasicSR-style recipes). ``augment`` lists the random
    augmentations, each applied with probability 1/2, in this order: ``hflip`` (left-right), ``vflip``
    (up-down), ``transpose`` (swap rows and columns; with both flips it draws uniformly from the 8 rotations
    and reflections of the square). ``batch_size`` is the effective batch: ``accumulate`` > 1 splits it into
    that many micro-batches whose gradients are summed before one optimizer step (same update, less memory).
    """

    optimizer: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    scheduler: str = "constant"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.5
    eta_min: float = 0.0
    decay_start: int = 0
    step_every: int = 1
    batch_size: int = 16
    patch_size: int = 256
    iterations: int = 200_000
    grad_clip: float | None = None
    source: str = ""
    crop: str = "grid"
    augment: tuple[str, ...] = ("hflip", "vflip")
    accumulate: int = 1

    def __post_init__(self) -> None:
        """Every field of its annotated type and in its range (:data:`RECIPE_RANGES`); lists become tuples and
        ints given for float fields floats."""
        for name in ("betas", "milestones", "augment"):  # lists from TOML/JSON become tuples
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name, hint in field_hints(Recipe).items():
            value = getattr(self, name)
            check_recipe_value(name, value)
            if hint in (float, float | None) and isinstance(value, int):
                object.__setattr__(self, name, float(value))
            elif hint == tuple[float, float]:
                object.__setattr__(self, name, tuple(float(v) for v in value))
        check_known(dict.fromkeys(self.augment), AUGMENTATIONS, "recipe augmentation")
        if self.batch_size % self.accumulate:
            raise HDRBenchError(f"recipe accumulate={self.accumulate} must divide batch_size={self.batch_size}")

    def replace(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied (:func:`check_recipe_overrides`: unknown keys name the closest valid
        one, wrong types and ranges name the field)."""
        check_recipe_overrides(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: The DCDR-UNet paper's training of DCDR-UNet (§4.1.3: "the non-overlapped sub-regions so that the size of each
#: sub-region becomes 512 × 512", batch 16, 2·10^5 iterations, Adam), applied to every method by the ``paper``
#: reading of the training switch. §4.4.1 says only that the baselines were retrained "using their official
#: implementation on our training dataset. The same 512 × 512 patches are used as well": the ``paper-patches``
#: reading (:data:`PAPER_PATCHES`) keeps each method's official recipe and gives it those patches. The paper states
#: no augmentation; we use random horizontal flips only (a street scene mirrored left-right is still a plausible
#: street scene, a vertical flip or a transpose puts the sky at the bottom or the side). Methods apply either
#: through :meth:`Method.recipe_for`.
PAPER_PROTOCOL: dict[str, Any] = {"batch_size": 16, "patch_size": 512, "iterations": 200_000, "optimizer": "adam",
                                  "crop": "grid", "augment": ("hflip",)}
#: The §4.4.1 reading: "the same 512 × 512 patches" (the grid of §4.1.3), everything else the official recipe's.
PAPER_PATCHES: dict[str, Any] = {"patch_size": 512, "crop": "grid"}


@dataclass(frozen=True)
class Stage:
    """One step of a method's training: a ``name`` (``None`` for a one-stage method), its ``recipe``, and
    ``trains``, the attribute paths of the network submodules it optimises (empty: every parameter)."""

    name: str | None
    recipe: Recipe
    trains: tuple[str, ...] = ()

    def parameters(self, net: nn.Module) -> list[nn.Parameter]:
        """The parameters this stage optimises; every other parameter of ``net`` is frozen (``requires_grad``
        off) until a later stage trains it."""
        trained = [p for t in self.trains for p in net.get_submodule(t).parameters()] if self.trains else \
            list(net.parameters())
        chosen = {id(p) for p in trained}
        for p in net.parameters():
            p.requires_grad_(id(p) in chosen)
        return trained


@dataclass
class Method:
    """Base class of every registered method.

    Subclasses set the class attributes and implement :meth:`build_network` and :meth:`build_loss`.
    ``options`` override ``default_options`` (network widths, ablation switches, ...).
    """

    name: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    default_options: ClassVar[Mapping[str, Any]] = {}
    recipe: ClassVar[Recipe] = Recipe()
    #: Height and width of the network input must be multiples of this; :meth:`predict` pads.
    pad_multiple: ClassVar[int] = 1
    #: Padding mode used to reach ``pad_multiple`` (``reflect`` or ``replicate``).
    pad_mode: ClassVar[str] = "reflect"
    #: Context (pixels) a tile needs on each side so that tiled and whole-image outputs agree.
    receptive_margin: ClassVar[int] = 32
    #: Clip negative outputs to 0 in :meth:`predict` (as official saving code does for unbounded heads).
    clip_negative: ClassVar[bool] = False
    #: The output depends on whole-image statistics (a global condition), so tiling only approximates it.
    global_context: ClassVar[bool] = False
    #: Trainable parameters of the official implementation's default configuration (None: no official figure);
    #: the contract tests compare :meth:`parameter_count` with it.
    official_params: ClassVar[int | None] = None
    #: Options giving a small network of the same structure, for quick checks (contract tests, smoke runs).
    tiny_options: ClassVar[Mapping[str, Any]] = {}
    input_convention: ClassVar[str] = "LDR RGB, display-referred, [0,1], (N,3,H,W) float32"
    output_convention: ClassVar[str] = "linear HDR RGB, >= 0, units of the training ground truth, (N,3,H,W)"
    #: False when :meth:`predict` must see the whole image (a global operation); tiling is then skipped.
    tileable: ClassVar[bool] = True
    #: Option defaults the training switch implies, by ``recipes`` (``"official"``, ``"paper"``), applied under the
    #: options a user gives (e.g. HDRCNN's whole-image mode for the DCDR-UNet paper's protocol, §4.4.1).
    recipes_options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: ``False`` for methods with nothing to learn (``identity``): training skips them, evaluation builds their
    #: network directly (no weights file).
    trainable: ClassVar[bool] = True

    #: The type of an option whose default does not say it (:func:`hdrbench.checks.hint_of`: an int default takes
    #: ints, a float default numbers, a bool default true/false, a string default strings, a None default
    #: anything), e.g. ``{"scale": float | str}`` for a number-or-``"auto"`` option.
    option_types: ClassVar[Mapping[str, Any]] = {}

    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_known(self.options, self.default_options, f"method '{self.name}': option")
        check_options(self.options, self.default_options, f"method '{self.name}': option", self.option_types)
        self.options = {**self.default_options, **self.options}

    # -- what a subclass provides ------------------------------------------------------------
    def build_network(self) -> nn.Module:
        """A freshly initialised network for ``self.options``."""
        raise NotImplementedError(f"{type(self).__name__}.build_network")

    def build_loss(self) -> nn.Module:
        """The method's published training loss: ``loss(pred, gt, ldr) -> scalar``."""
        raise NotImplementedError(f"{type(self).__name__}.build_loss")

    # -- defaults a subclass may override -----------------------------------------------------
    def bind_dataset(self, dataset: Any, test_set: str | None = None) -> None:
        """Called with the benchmark's dataset before the network is built; a method that uses what the dataset
        declares (e.g. its camera, :meth:`~hdrbench.datasets.base.PairedDataset.ldr_camera`) reads it here.

        ``test_set``: the test set the network built next will predict, from a caller that builds one per test set
        (a dataset's camera may differ per test set: the exposure sweep, ``test@+kEV``, whose LDR saturates ``k``
        stops lower in ground-truth units); ``None``: the dataset as a whole (training; callers that bind once)."""

    def forward(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """Run ``net`` on an input whose size is already a multiple of :attr:`pad_multiple`."""
        return net(ldr)

    def training_loss(self, net: nn.Module, loss: nn.Module, ldr: torch.Tensor, hdr: torch.Tensor, stage: Stage
                      ) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """Loss of one batch in ``stage`` (``ldr`` display-referred [0,1], ``hdr`` linear); returns (loss, logs).

        Logged terms may stay (detached, 0-dim) tensors on the device: the training loop reads them back
        only at log steps, so a step needs no host synchronisation."""
        pred = self.forward(net, ldr)
        value = loss(pred, hdr, ldr)
        return value, {"loss": value.detach()}

    def stages(self, recipes: str | None = None) -> list[Stage]:
        """The training stages in order, each recipe as ``recipes`` chooses (:meth:`recipe_for`).

        Default: one stage training every parameter with the class :attr:`recipe`.
        """
        return [Stage(None, self.recipe_for(recipes))]

    def recipe_for(self, recipes: str | None = None, recipe: Recipe | None = None) -> Recipe:
        """``recipe`` (default: the class :attr:`recipe`) as the training switch ``recipes`` (bench.toml
        ``[train] recipes``) sets it: ``official`` (or ``None``) keeps it, ``paper`` applies DCDR-UNet's recipe
        (§4.1.3, :data:`PAPER_PROTOCOL`), ``paper-patches`` the paper's 512² grid patches only (§4.4.1,
        :data:`PAPER_PATCHES`). The one place where that switch acts."""
        recipe = recipe if recipe is not None else self.recipe
        key = recipes_key(recipes)
        if key == "official":
            return recipe
        if key == "paper-patches":
            return recipe.replace(**PAPER_PATCHES, source=f"{recipe.source}; DCDR-UNet paper §4.4.1 patches")
        return recipe.replace(**PAPER_PROTOCOL, source=f"{recipe.source}; DCDR-UNet paper §4.1.3 recipe")

    @classmethod
    def convert_official_state_dict(cls, state: Mapping[str, Any]) -> OfficialWeights | None:
        """The authors' released weights in this re-implementation's names and layouts, or ``None``.

        ``state``: the raw contents of an official release file (:func:`hdrbench.official.read_official_state`:
        a ``.pth`` state dict, ``module.`` removed, or an ``.npz``'s arrays). Return ``None`` when it is not an
        official file of this method; the default knows none. :func:`hdrbench.load_model` calls this hook.
        """
        return None

    def required_state_keys(self, net: nn.Module) -> set[str]:
        """The ``state_dict`` keys a checkpoint must provide for the current options (default: all)."""
        return set(net.state_dict())

    # -- shared machinery ---------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, net: nn.Module, ldr: torch.Tensor) -> torch.Tensor:
        """Whole-image inference at any size: pad to :attr:`pad_multiple`, run, crop back; clip at 0 if
        :attr:`clip_negative`."""
        h, w = ldr.shape[-2:]
        m = self.pad_multiple
        ph, pw = (-h) % m, (-w) % m
        x = ldr
        if ph or pw:
            mode = self.pad_mode if (ph < h and pw < w) else "replicate"
            x = F.pad(ldr, (0, pw, 0, ph), mode=mode)
        out = self.forward(net, x)[..., :h, :w]
        return out.clamp_min(0) if self.clip_negative else out

    def parameter_count(self) -> int:
        """Trainable parameters of the network for the current options (built for its shapes only,
        :func:`hdrbench.nn.shapes.shapes_only`: nothing initialised, no weights read)."""
        from hdrbench.nn.shapes import shapes_only

        with shapes_only():
            return count_parameters(self.build_network())

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (used by ``hdrbench list --json``)."""
        return {
            "name": self.name,
            "kind": "method",
            "summary": self.summary,
            "citation": self.citation,
            "params": self.parameter_count(),
            "options": {k: _jsonable(v) for k, v in self.options.items()},
            "recipe": {k: _jsonable(v) for k, v in self.stages()[0].recipe.to_dict().items()},
            "input": self.input_convention,
            "output": self.output_convention,
        }


def recipes_key(recipes: str | None) -> str:
    """The training switch normalised: ``"official"`` (each method's own recipe; also None, ``""``), ``"paper"`` or
    ``"paper-patches"`` (the two readings of the DCDR-UNet paper's protocol)."""
    if recipes in (None, "", RECIPES[0]):
        return RECIPES[0]
    if recipes in RECIPES:
        return str(recipes)
    raise HDRBenchError(f"unknown recipes '{recipes}' (known: {', '.join(RECIPES)})")


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm running statistics are buffers, so not counted)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v


def create_method(name: str, recipes: str | None = None, **options: Any) -> Method:
    """Instantiate the registered method ``name`` with ``options`` (timm's ``create_model`` analogue), over the
    option defaults the training switch ``recipes`` implies (:attr:`Method.recipes_options`)."""
    from hdrbench.registry import METHODS

    cls = METHODS.get(name)
    key = recipes_key(recipes)  # both readings of the paper's protocol imply its options (e.g. HDRCNN's whole mode)
    implied = dict(cls.recipes_options.get(key, cls.recipes_options.get("paper", {}) if key != "official" else {}))
    return cls(options={**implied, **options})
