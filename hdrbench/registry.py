"""One registry pattern for methods, metrics and datasets, filled from entry points and read lazily.

Every component, hdrbench's own included, is registered by one entry point in its distribution's
``pyproject.toml``, in the group ``hdrbench.methods``, ``hdrbench.metrics`` or ``hdrbench.datasets``::

    [project.entry-points."hdrbench.methods"]
    mynet = "mypkg.method:MyNet"

The entry point's name is the registered name. Names (and where each lives) are known without importing
anything, so ``hdrbench --help`` and name validation need neither torch nor the networks; the module is
imported the first time the component is asked for (:meth:`Registry.get`). An entry point may also name a
module whose import registers components with :func:`register_method` & co.; its name must be one of them.

hdrbench's own entry points are read from the ``pyproject.toml`` beside the imported package when there is
one (a source checkout, editable or not installed at all: the file is the truth for the code that runs,
while an installed ``dist-info`` may be stale); from the installed metadata otherwise (a wheel).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import logging
import tomllib
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from hdrbench.errors import HDRBenchError

T = TypeVar("T")
log = logging.getLogger(__name__)
#: This project's distribution name (its entry points may come from the source tree instead).
DISTRIBUTION = "hdrbench"


@cache
def _source_tree_entry_points() -> dict[str, dict[str, str]] | None:
    """``{group: {name: value}}`` from the ``pyproject.toml`` beside the hdrbench package, or None (a wheel)."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if not pyproject.is_file():
        return None
    with open(pyproject, "rb") as f:
        project = tomllib.load(f).get("project", {})
    if project.get("name") != DISTRIBUTION:
        return None
    return project.get("entry-points", {})


def _distribution(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else ""


def discover(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    """Entry points of ``group`` by lower-case name: hdrbench's own first, then installed plugins'."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    own = _source_tree_entry_points()
    if own is not None:
        for name, value in own.get(group, {}).items():
            found[name.lower()] = importlib.metadata.EntryPoint(name, value, group)
    for ep in importlib.metadata.entry_points(group=group):
        if own is not None and _distribution(ep).lower() == DISTRIBUTION:
            continue  # the source tree's pyproject.toml already said it (and may be newer)
        key = ep.name.lower()
        if key in found:
            if found[key].value != ep.value:
                log.warning("hdrbench: %s entry point '%s' = %s ignored (already %s)", group, ep.name, ep.value,
                            found[key].value)
            continue
        found[key] = ep
    return found


class Registry(Generic[T]):
    """A name → object table for one kind of component (``method``, ``metric`` or ``dataset``).

    Names come from the entry points of ``group`` (read once, nothing imported) and from explicit
    :meth:`register` calls; an entry point's object is loaded on first :meth:`get`.
    """

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._items: dict[str, T] = {}
        self._entry_points: dict[str, importlib.metadata.EntryPoint] | None = None

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

    # -- entry points ---------------------------------------------------------------------------
    def entry_points(self) -> dict[str, importlib.metadata.EntryPoint]:
        """The group's entry points by lower-case name (discovered once; nothing is imported)."""
        if self._entry_points is None:
            self._entry_points = discover(self.group)
        return self._entry_points

    def origin(self, name: str) -> str:
        """Where ``name`` comes from, without importing it: ``module:object`` of its entry point, or ``registered``."""
        ep = self.entry_points().get(name.lower())
        return ep.value if ep is not None else "registered"

    def _load(self, key: str) -> None:
        """Import the entry point ``key`` and register what it names."""
        ep = self.entry_points()[key]
        try:
            loaded = ep.load()
        except Exception as exc:
            raise HDRBenchError(f"{self.kind} '{ep.name}': its entry point {ep.value} in group {self.group} "
                                f"could not be imported ({type(exc).__name__}: {exc}); reinstall or fix that "
                                "package") from exc
        if not inspect.ismodule(loaded):
            self.register(ep.name, loaded)
        elif key not in self._items:
            raise HDRBenchError(f"{self.kind} '{ep.name}': module {ep.value} did not register '{ep.name}' "
                                f"(its entry point name must be a name the module registers)")

    # -- reading --------------------------------------------------------------------------------
    def check(self, name: str) -> str:
        """The registered key for ``name`` without importing anything; an unknown name names the closest."""
        key = name.lower()
        if key in self._items or key in self.entry_points():
            return key
        known = self.names()
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise HDRBenchError(f"unknown {self.kind} '{name}'{hint} (known: {', '.join(known) or 'none'}; "
                            "'hdrbench list' shows them)")

    def get(self, name: str) -> T:
        """The object registered under ``name``, imported now if it has not been yet."""
        key = self.check(name)
        if key not in self._items:
            self._load(key)
        return self._items[key]

    def names(self) -> list[str]:
        """Every known name, sorted, without importing any component."""
        return sorted(set(self._items) | set(self.entry_points()))

    def items(self) -> Iterator[tuple[str, T]]:
        """``(name, object)`` for every name, importing each; a plugin that fails to import is skipped (warning)."""
        for key in self.names():
            try:
                obj = self.get(key)
            except HDRBenchError as exc:
                warnings.warn(f"hdrbench: {exc}", stacklevel=2)
                continue
            yield key, obj

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.names()


METHODS: Registry[Any] = Registry("method", "hdrbench.methods")
METRICS: Registry[Any] = Registry("metric", "hdrbench.metrics")
DATASETS: Registry[Any] = Registry("dataset", "hdrbench.datasets")


def register_method(name: str) -> Callable[[T], T]:
    """Class decorator: register a :class:`hdrbench.method.Method` subclass under ``name``."""
    return METHODS.register(name)


def register_metric(name: str) -> Callable[[T], T]:
    """Decorator: register a metric class (see :mod:`hdrbench.metrics`) under ``name``."""
    return METRICS.register(name)


def register_dataset(name: str) -> Callable[[T], T]:
    """Decorator: register a dataset class (see :mod:`hdrbench.datasets`) under ``name``."""
    return DATASETS.register(name)
