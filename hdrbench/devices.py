"""Device strings: the one place that checks ``--device`` and ``benchmark.device``.

Accepted: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda``, ``cuda:N`` and ``mps`` (where this
torch build has it). :func:`check_device_spelling` is torch-free (config loading, option parsing);
:func:`resolve_device` also checks that the device exists here and says in one line what is available.
"""

from __future__ import annotations

import re

from hdrbench.errors import HDRBenchError

_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def available_devices() -> list[str]:
    """The devices this process can use, e.g. ``['cpu', 'cuda:0', 'cuda:1']``."""
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def check_device_spelling(spec: str, where: str = "device") -> str:
    """``spec`` lower-cased if it is a device string hdrbench knows (no torch import); else one-line error."""
    s = str(spec).strip().lower()
    if not _PATTERN.match(s):
        raise HDRBenchError(f"{where} '{spec}' is not a device: use auto, cpu, cuda, cuda:N or mps")
    return s


def resolve_device(spec: str | None, where: str = "device") -> str:
    """The torch device string for ``spec`` (``None``/``auto`` → ``cuda`` when available, else ``cpu``).

    Raises :class:`HDRBenchError` (one line, naming the available devices) for an unknown or absent device.
    """
    s = check_device_spelling(spec or "auto", where)
    have = available_devices()
    if s == "auto":
        return "cuda" if any(d.startswith("cuda") for d in have) else "cpu"
    if s == "cpu" or s in have or (s == "cuda" and "cuda:0" in have):
        return s
    raise HDRBenchError(f"{where} '{spec}' is not available here (available: {', '.join(have)})")
