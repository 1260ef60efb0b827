"""Optimizer and learning-rate schedule from a :class:`~hdrbench.method.Recipe`.

When a benchmark shortens (or lengthens) a recipe, the schedule's iteration-valued fields (milestones,
``decay_start``, ``step_every``) are scaled by ``iterations / recipe_iterations`` so the schedule keeps
its shape over the new budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from hdrbench.errors import HDRBenchError
from hdrbench.method import OPTIMIZERS, SCHEDULERS, Recipe

__all__ = ["OPTIMIZERS", "SCHEDULERS", "build_optimizer", "build_scheduler", "scale_schedule"]


def scale_schedule(recipe: Recipe, iterations: int) -> Recipe:
    """``recipe`` with ``iterations`` and its schedule positions scaled to that budget."""
    if iterations == recipe.iterations or recipe.iterations <= 0:
        return recipe
    f = iterations / recipe.iterations
    return recipe.replace(iterations=iterations, milestones=tuple(max(1, round(m * f)) for m in recipe.milestones),
                          decay_start=round(recipe.decay_start * f), step_every=max(1, round(recipe.step_every * f)))


def build_optimizer(params: Iterable[torch.nn.Parameter], recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over ``params``."""
    name = recipe.optimizer.lower()
    params = [p for p in params if p.requires_grad]
    if name == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.betas[0], weight_decay=recipe.weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    raise HDRBenchError(f"unknown optimizer '{recipe.optimizer}' in the recipe (known: {', '.join(OPTIMIZERS)})")


def build_scheduler(opt: torch.optim.Optimizer, recipe: Recipe) -> torch.optim.lr_scheduler.LRScheduler:
    """The recipe's per-iteration learning-rate schedule (stepped once per training step)."""
    s, n = recipe.scheduler.lower(), max(1, recipe.iterations)
    sched = torch.optim.lr_scheduler
    if s == "constant":
        return sched.LambdaLR(opt, lambda _: 1.0)
    if s == "multistep":
        return sched.MultiStepLR(opt, milestones=list(recipe.milestones), gamma=recipe.gamma)
    if s == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=n, eta_min=recipe.eta_min)
    if s == "linear_decay":
        start, span = recipe.decay_start, max(1, n - recipe.decay_start)
        return sched.LambdaLR(opt, lambda i: 1.0 if i < start else max(0.0, 1.0 - (i - start) / span))
    if s == "exponential":
        g, every = recipe.gamma, max(1, recipe.step_every)
        return sched.LambdaLR(opt, lambda i: g ** math.floor(i / every))
    raise HDRBenchError(f"unknown scheduler '{recipe.scheduler}' in the recipe (known: {', '.join(SCHEDULERS)})")
