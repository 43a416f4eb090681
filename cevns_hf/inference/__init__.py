"""Inference: the batched profile likelihood, fits through pyhf, scans, intervals, CLs limits and toys."""

from __future__ import annotations

__all__: list[str] = []
