"""The one error type for user-facing failures.

Every problem a user can fix (a missing file, a corrupt image, a bad config key, NaN predictions)
raises :class:`HDRBenchError`. The CLI prints it as a single line and exits with code 2; library
callers catch it like any exception.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


class HDRBenchError(Exception):
    """A user-facing failure: one line naming what (often a file) is wrong and how to fix it.

    ``path`` (optional) is the offending file; it is put at the front of the message.
    """

    exit_code = 2

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.message = " ".join(str(message).split())  # always one line
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)


class HDRBenchWarning(UserWarning):
    """Scores that may mislead: a pair that does not fit its protocol, a raw metric fed values outside its
    declared domain, input repaired before scoring (one line each)."""


def closest(key: str, valid: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The valid name closest to ``key`` (difflib), or None."""
    found = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=cutoff)
    return found[0] if found else None


def check_known(given: Iterable[str], valid: Iterable[str], what: str) -> None:
    """Raise one HDRBenchError for the first key of ``given`` not in ``valid``, naming the closest valid one.

    ``what`` names the place, e.g. ``"method 'dcdr': option"`` → "method 'dcdr': unknown option 'x' (did you
    mean 'y'?)".
    """
    valid = list(valid)
    unknown = sorted(set(given) - set(valid))
    if unknown:
        near = closest(unknown[0], valid)
        hint = f" (did you mean '{near}'?)" if near else f" (valid: {', '.join(sorted(valid)) or 'none'})"
        head, _, noun = what.rpartition(": ")
        raise HDRBenchError(f"{head + ': ' if head else ''}unknown {noun} '{unknown[0]}'{hint}")
