"""Networks built for their shapes only (parameter counts): nothing initialised, no weight file or table read.

Inside :func:`shapes_only`, ``torch.nn.init``'s in-place initialisers do nothing, and code that would read
weight files or data tables into a new network (ImageNet VGG16 encoders, SingleHDR's inverse-EMoR table) asks
:func:`building_shapes_only` and skips the read. Parameters are still allocated (uninitialised ``torch.empty``
memory, never touched). ``hdrbench list`` counts every registered network's parameters this way in a fraction of a
second. (torch's ``meta`` device would allocate nothing, but its factory functions, e.g. ``arange``, go
through decompositions that import ``torch._dynamo``: 1.4 s.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch.nn.init as init

_ACTIVE: ContextVar[bool] = ContextVar("hdrbench_shapes_only", default=False)


def _no_init(tensor, *args, **kwargs):
    return tensor


@contextmanager
def shapes_only() -> Iterator[None]:
    """While active, networks are built for their shapes: initialisers are no-ops (restored on exit) and
    :func:`building_shapes_only` is true."""
    names = [n for n in dir(init) if n.endswith("_") and not n.startswith("_") and callable(getattr(init, n))]
    saved = {n: getattr(init, n) for n in names}
    token = _ACTIVE.set(True)
    try:
        for n in names:
            setattr(init, n, _no_init)
        yield
    finally:
        _ACTIVE.reset(token)
        for n, f in saved.items():
            setattr(init, n, f)


def building_shapes_only() -> bool:
    """True inside :func:`shapes_only`: the network's values will never be used, so do not read weights or tables
    into it."""
    return _ACTIVE.get()
