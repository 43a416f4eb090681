"""The reference analyses' chi-squares: a slow, independent twin of the HistFactory likelihood for tests."""

from __future__ import annotations

__all__: list[str] = []
