"""Options shared by several commands, defined once and cheap to import (no torch at import time)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click


def _check_device(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Parse-time check of ``--device`` (spelling and presence on this machine): one-line error, exit 2."""
    if value is None:
        return None
    from hdrbench.devices import resolve_device

    return resolve_device(value, "--device")


def device_option(default: str | None = "auto", help_text: str | None = None) -> Callable[[Any], Any]:
    """``--device``: auto, cpu, cuda, cuda:N or mps, checked against the devices torch sees here."""
    return click.option("--device", default=default, callback=_check_device, show_default=default is not None,
                        help=help_text or "auto (CUDA when available), cpu, cuda, cuda:N or mps.")


class FiniteFloatRange(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan`` and ``inf`` (click's range lets ``nan`` through)."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv


class LazyChoice(click.Choice):
    """A :class:`click.Choice` whose choices are computed when first needed (so importing the command is cheap)."""

    def __init__(self, load: Callable[[], list[str]], case_sensitive: bool = True):
        self._load = load
        self._loaded: list[str] | None = None
        super().__init__([], case_sensitive=case_sensitive)

    @property
    def choices(self) -> list[str]:  # type: ignore[override]
        if self._loaded is None:
            self._loaded = sorted(self._load())
        return self._loaded

    @choices.setter
    def choices(self, value: Any) -> None:  # click's __init__ assigns it; the loader decides
        pass


def protocol_names() -> list[str]:
    """Names of the scoring protocols (imports the metrics package: torch)."""
    from hdrbench.metrics.protocols import PROTOCOLS

    return list(PROTOCOLS)
