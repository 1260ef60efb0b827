"""One registry pattern for methods, metrics and datasets, open to plugins through entry points.

Built-ins (the modules listed in each registry's ``builtins``) register themselves with a decorator when
their module is imported (explicit imports, no file-name scanning)::

    @register_method("dcdr")
    class DCDRUNet(Method): ...

A separate distribution adds its own by declaring an entry point in one of the groups
``hdrbench.methods``, ``hdrbench.metrics`` or ``hdrbench.datasets``. The entry point may name a
module (importing it runs its ``@register_*`` decorators) or an object, which is then registered under
the entry point's name::

    [project.entry-points."hdrbench.methods"]
    mynet = "mypkg.method:MyNet"
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from hdrbench.errors import HDRBenchError

T = TypeVar("T")
log = logging.getLogger(__name__)


class Registry(Generic[T]):
    """A name → object table for one kind of component (``method``, ``metric`` or ``dataset``).

    Entry points of ``group`` are loaded lazily, once, the first time the registry is read.
    """

    def __init__(self, kind: str, group: str, builtins: tuple[str, ...] = ()):
        self.kind = kind
        self.group = group
        self.builtins = builtins
        self._items: dict[str, T] = {}
        self._plugins_loaded = False
        self._loading = False

    def register(self, name: str, obj: T | None = None, *, override: bool = False) -> Any:
        """Register ``obj`` under ``name``; without ``obj`` return a decorator."""

        def add(o: T) -> T:
            key = name.lower()
            if key in self._items and self._items[key] is not o and not override:
                raise HDRBenchError(f"{self.kind} '{key}' is registered twice ({self._items[key]!r} and {o!r})")
            self._items[key] = o
            if inspect.isclass(o) and not o.__dict__.get("name"):
                try:
                    o.name = key  # type: ignore[attr-defined]
                except TypeError:  # a built-in type: nothing to name
                    pass
            return o

        return add(obj) if obj is not None else add

    def load_plugins(self) -> None:
        """Import every entry point of this registry's group (idempotent)."""
        if self._plugins_loaded or self._loading:
            return
        self._loading = True
        try:
            for module in self.builtins:  # hdrbench's own components: plain explicit imports
                importlib.import_module(module)
            for ep in importlib.metadata.entry_points(group=self.group):
                try:
                    loaded = ep.load()
                except Exception as exc:  # a broken plugin must not take the harness down
                    warnings.warn(f"hdrbench: could not load {self.group} entry point '{ep.name}': {exc}",
                                  stacklevel=2)
                    continue
                if not inspect.ismodule(loaded) and ep.name.lower() not in self._items:
                    self.register(ep.name, loaded)
            self._plugins_loaded = True
        finally:
            self._loading = False

    def get(self, name: str) -> T:
        """The object registered under ``name``; an unknown name names the closest known one."""
        self.load_plugins()
        key = name.lower()
        if key not in self._items:
            close = difflib.get_close_matches(key, list(self._items), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise HDRBenchError(
                f"unknown {self.kind} '{name}'{hint} (known: {', '.join(sorted(self._items)) or 'none'}; "
                f"'hdrbench list' shows them)"
            )
        return self._items[key]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self.load_plugins()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self.load_plugins()
        yield from sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        self.load_plugins()
        return isinstance(name, str) and name.lower() in self._items


METHODS: Registry[Any] = Registry("method", "hdrbench.methods", builtins=("dcdr", "baselines"))
METRICS: Registry[Any] = Registry("metric", "hdrbench.metrics", builtins=("hdrbench.metrics",))
DATASETS: Registry[Any] = Registry("dataset", "hdrbench.datasets", builtins=("hdrbench.datasets",))


def register_method(name: str) -> Callable[[T], T]:
    """Class decorator: register a :class:`hdrbench.method.Method` subclass under ``name``."""
    return METHODS.register(name)


def register_metric(name: str) -> Callable[[T], T]:
    """Decorator: register a metric class (see :mod:`hdrbench.metrics`) under ``name``."""
    return METRICS.register(name)


def register_dataset(name: str) -> Callable[[T], T]:
    """Decorator: register a dataset class (see :mod:`hdrbench.datasets`) under ``name``."""
    return DATASETS.register(name)
