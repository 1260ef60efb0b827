"""Type checks of values a user gives: recipe fields, method and dataset options, virtual-camera fields.

One place decides what "the right type" is, so that every refusal reads alike: ``recipe lr='fast' must be a
number (default 0.0002)``. Types are type hints (``int``, ``float``, ``str``, ``bool``, ``tuple[int, ...]``,
``float | None``, ``Any``); an option's hint follows from its default value (:func:`hint_of`). Rules:

* ``int``: an integer, not a bool (``true`` is not 1); ``float``: a finite int or float, not a bool;
* ``bool``: ``true``/``false`` only; ``str``: a string;
* ``tuple[X, ...]``: a list or tuple whose items are each ``X``; ``tuple[X, Y]``: exactly two items;
* a default of ``None`` says nothing about the type: any value passes (the owner checks it).

Torch-free and cheap to import: command-line parsing uses the constants below.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import types
import typing
from collections.abc import Mapping
from typing import Any

from hdrbench.errors import HDRBenchError

#: Smallest training patch side a recipe accepts (``--patch-size``); a method may need a multiple of its
#: ``pad_multiple`` on top (checked when its stages are planned).
MIN_PATCH = 8
#: Smallest ``hdrbench predict --tile`` other than 0 (whole image). Each tile carries ``overlap`` pixels of context
#: on every side (the method's ``receptive_margin``, 96-320 px), so a tile of side ``t`` costs ``(t + 2·overlap)²``:
#: at t = 64 and DCDR-UNet's 128 px that is 25 times the whole image's work, at t = 3 (rounded up to 4) about 4,000
#: times. 64 is also at least every registered method's ``pad_multiple`` (at most 32).
MIN_TILE = 64
#: Largest seed accepted: ``torch.manual_seed`` takes up to 64 bits, numpy's generators any non-negative integer.
MAX_SEED = 2**63 - 1


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` (see the module docstring for the rules)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arm) for arm in typing.get_args(hint))
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return False
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(matches(v, a) for v, a in zip(value, args))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, hint) if isinstance(hint, type) else True


def describe(hint: Any) -> str:
    """``hint`` in words: ``an integer``, ``a number or null``, ``a list of 2 numbers`` ..."""
    if hint is Any or hint is object:
        return "any value"
    if hint is None or hint is type(None):
        return "null"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arm) for arm in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return "a list" if args[0] is Any else f"a list of {_plural(args[0])}"
        if len(set(args)) == 1:
            return f"a list of {len(args)} {_plural(args[0])}"
        return f"a list of {len(args)} items ({', '.join(describe(a) for a in args)})"
    return {bool: "true or false", int: "an integer", float: "a finite number", str: "a string",
            os.PathLike: "a path"}.get(hint, f"a {getattr(hint, '__name__', hint)}")


def _plural(hint: Any) -> str:
    return {bool: "true/false values", int: "integers", float: "finite numbers", str: "strings"}.get(
        hint, describe(hint))


def hint_of(default: Any) -> Any:
    """The type an option with this ``default`` takes: ``None`` → any; a number, bool or string → its type (an
    int default's option takes ints only, a float default's any number); a tuple → a list of its items' type."""
    if default is None:
        return Any
    if isinstance(default, bool | int | float | str):
        return type(default)
    if isinstance(default, list | tuple):
        kinds = {hint_of(v) for v in default}
        item = kinds.pop() if len(kinds) == 1 else Any
        return tuple[item, ...]
    return Any


def check_value(value: Any, hint: Any, what: str, default: Any = dataclasses.MISSING) -> None:
    """Raise one :class:`HDRBenchError` when ``value`` is not of type ``hint``: ``{what}={value!r} must be ...``."""
    if not matches(value, hint):
        shown = "" if default is dataclasses.MISSING else f" (default {default!r})"
        raise HDRBenchError(f"{what}={value!r} must be {describe(hint)}{shown}")


def check_options(given: Mapping[str, Any], defaults: Mapping[str, Any], where: str,
                  hints: Mapping[str, Any] | None = None) -> None:
    """Every ``given`` option of the type its default implies (:func:`hint_of`), or its entry in ``hints``.

    ``where`` names the owner, e.g. ``"method 'dcdr': option"`` → "method 'dcdr': option nf='abc' must be an
    integer (default 64)". Unknown keys are left to :func:`hdrbench.errors.check_known`.
    """
    hints = hints or {}
    for key, value in given.items():
        if key in hints or key in defaults:
            check_value(value, hints.get(key, hint_of(defaults.get(key))), f"{where} {key}", defaults.get(key))


@functools.cache
def field_hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass's fields (string annotations evaluated once)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls).items() if k in names}


def check_fields(obj: Any, where: str) -> None:
    """Every field of the dataclass instance ``obj`` of its annotated type; the default is named in the error."""
    for f in dataclasses.fields(obj):
        default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
        check_value(getattr(obj, f.name), field_hints(type(obj))[f.name], f"{where} {f.name}", default)
