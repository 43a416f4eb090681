"""Strict parsing of numbers typed by users (hypothesis text, grid axes, CLI values).

Python's ``float`` accepts more than a person means by a number: ``"0_1"`` is 1.0 (PEP 515 digit
grouping), ``"nan"``, ``"inf"``, ``"infinity"`` and surrounding whitespace or unicode digits pass too.
Here a number is a plain decimal literal (optional sign, digits with an optional point, optional
exponent); anything else is a :class:`~cevns_hf.exceptions.ConfigurationError` naming the text.

Example:
    >>> parse_float("1.5e-3", "g_nu")
    0.0015
    >>> parse_float("0_1", "g_nu")
    Traceback (most recent call last):
    ...
    cevns_hf.exceptions.ConfigurationError: g_nu = '0_1' is not a number (expected a decimal such as 0.1, -2 or 1e-5)
"""

from __future__ import annotations

import math
import re

from cevns_hf.exceptions import ConfigurationError

__all__ = ["parse_float", "parse_int"]


def __dir__() -> list[str]:
    return __all__


_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT = re.compile(r"[+]?[0-9]+")
#: Longest number text accepted (a float has at most 17 significant digits; this leaves room for zeros).
_MAX_LEN = 64


def parse_float(text: str, what: str) -> float:
    """A finite float from a plain decimal literal.

    Args:
        text: the text (surrounding whitespace is ignored).
        what: what the number is, for the error message (e.g. ``"g_nu"``).

    Raises:
        ConfigurationError: not a plain decimal literal (``0_1``, ``nan``, ``inf``, ``0x10``, ``1,5``, ...),
            or a value that overflows a float (``1e400``).
    """
    raw = text.strip()
    if raw.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
        msg = f"{what} = {_shown(text)} is not a finite number (expected a decimal such as 0.1, -2 or 1e-5)"
        raise ConfigurationError(msg)
    if len(raw) > _MAX_LEN or not _FLOAT.fullmatch(raw):
        msg = f"{what} = {_shown(text)} is not a number (expected a decimal such as 0.1, -2 or 1e-5)"
        raise ConfigurationError(msg)
    value = float(raw)
    if not math.isfinite(value):
        msg = f"{what} = {_shown(text)} overflows a double-precision number (|x| < 1.8e308)"
        raise ConfigurationError(msg)
    return value


def parse_int(text: str, what: str) -> int:
    """A non-negative integer from plain decimal digits (no sign other than '+', no '_', no exponent)."""
    raw = text.strip()
    if len(raw) > _MAX_LEN or not _INT.fullmatch(raw):
        msg = f"{what} = {_shown(text)} is not a whole number (expected digits such as 21)"
        raise ConfigurationError(msg)
    return int(raw)


def _shown(text: str) -> str:
    return repr(text if len(text) <= _MAX_LEN else text[:_MAX_LEN] + "...")
