"""Options shared by several commands, defined once and cheap to import (no torch at import time)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click


class Command(click.Command):
    """A click command that refuses a single-valued option given more than once (click keeps the last one
    silently, so ``--encode pq --encode ultrahdr`` would write one file and drop the other)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError:  # click's own message, from the real parse below
            order = []
        seen: dict[str, int] = {}
        for param in order:
            if isinstance(param, click.Option) and not (param.multiple or param.count):
                seen[param.name] = seen.get(param.name, 0) + 1
                if seen[param.name] == 2:
                    names = "/".join(param.opts + param.secondary_opts)
                    how = ("is a switch: give it once" if param.is_flag else
                           "takes one value: give it once, or run the command once per value")
                    raise click.UsageError(f"{names} given more than once; it {how}", ctx)
        return super().parse_args(ctx, args)


class Group(click.Group):
    """A click group whose sub-commands are :class:`Command` (and sub-groups :class:`Group`)."""

    command_class = Command


Group.group_class = Group


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
