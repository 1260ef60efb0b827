"""The one error type for user-facing failures.

Every problem a user can fix (a missing file, a corrupt image, a bad config key, NaN predictions)
raises :class:`HDRBenchError`. The CLI prints it as a single line and exits with code 2; library
callers catch it like any exception.
"""

from __future__ import annotations

import os


class HDRBenchError(Exception):
    """A user-facing failure: one line naming what (often a file) is wrong and how to fix it.

    ``path`` (optional) is the offending file; it is put at the front of the message.
    """

    exit_code = 2

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.message = " ".join(str(message).split())  # always one line
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)
