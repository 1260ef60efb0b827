"""The one ``KEY=VALUE`` parser of the command line (``--option``, ``-o``, ``--param``).

A value is read as JSON when it parses (``3``, ``0.5``, ``true``, ``null``, ``[2, 8, 2]``, ``"text"``), else as a
Python literal (``None``, ``True``, ``(2, 8, 2)``), else kept as the string: ``null`` and ``None`` both mean None.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from hdrbench.errors import HDRBenchError


def parse_value(text: str) -> Any:
    """``text`` as JSON, else as a Python literal, else as itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_key_values(items: tuple[str, ...] | list[str], flag: str, example: str, form: str = "KEY=VALUE"
                     ) -> dict[str, Any]:
    """``("key=value", ...)`` → ``{key: value}``; a malformed item is an error naming ``flag``, ``form`` and
    ``example``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HDRBenchError(f"{flag} '{item}' must be {form} (e.g. {flag} {example})")
        out[key.strip()] = parse_value(value)
    return out
