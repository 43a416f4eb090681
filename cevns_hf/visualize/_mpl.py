"""matplotlib on the non-interactive Agg backend, imported on first use (optional dependency ``[plot]``)."""

from __future__ import annotations

from typing import Any

from cevns_hf.exceptions import ConfigurationError

__all__ = ["pyplot"]


def __dir__() -> list[str]:
    return __all__


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the Agg backend; a clear error when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "plots need matplotlib: pip install 'cevns_hf[plot]'"
        raise ConfigurationError(msg) from err
    return plt
