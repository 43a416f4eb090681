"""The output folder of a streamed scan: ``.npy`` files filled by rows, and :class:`StreamResult` reading it back."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.results import ScanResult

__all__ = ["FILES", "FORMAT", "FORMAT_VERSION", "METADATA", "RowFile", "StreamResult", "free_bytes", "load_stream"]


def __dir__() -> list[str]:
    return __all__


#: The metadata file of an output folder.
METADATA = "scan.json"
#: The files of an output folder.
FILES = ("twice_nll.npy", "converged.npy", "theta.npy", METADATA)
#: The ``format`` entry of the metadata.
FORMAT = "cevns-hf stream scan"
#: The ``format_version`` entry of the metadata.
FORMAT_VERSION = 1


class RowFile:
    """A preallocated ``.npy`` file filled by rows at given offsets (written through the file, not mapped)."""

    def __init__(self, path: Path, dtype: str | type, shape: tuple[int, ...], grid_ndim: int) -> None:
        self.dtype = np.dtype(dtype)
        row = int(np.prod(shape[grid_ndim:], dtype=np.int64)) * self.dtype.itemsize
        if int(np.prod(shape, dtype=np.int64)) == 0:  # nothing to map: header only
            np.save(path, np.empty(shape, dtype=self.dtype))
            self.offset = path.stat().st_size
        else:
            mapped = np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=shape)
            self.offset = int(mapped.offset)
            del mapped
        self.row = row
        self.handle: IO[bytes] = open(path, "r+b")  # noqa: SIM115 (closed in close())

    def write(self, start: int, data: np.ndarray) -> None:
        """Write the rows ``start:start + len(data)`` (flat grid indices)."""
        block = np.ascontiguousarray(data, dtype=self.dtype)
        if block.nbytes == 0:
            return
        self.handle.seek(self.offset + start * self.row)
        self.handle.write(block.tobytes())

    def close(self, sync: bool) -> None:
        """Flush (and with ``sync`` fsync) and close."""
        try:
            if sync:
                self.handle.flush()
                os.fsync(self.handle.fileno())
        finally:
            self.handle.close()


def free_bytes(path: Path) -> int | None:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            with contextlib.suppress(OSError):
                return int(shutil.disk_usage(candidate).free)
            return None
    return None


@dataclass(frozen=True, eq=False)
class StreamResult:
    """A streamed scan on disk: its metadata, and its arrays memory-mapped read-only on first use.

    Attributes:
        path: the output folder.
        experiments: the channels fitted.
        family: the hypothesis family.
        parameters: the grid axes, in order.
        grid: axis name -> values.
        fixed: family parameters held fixed (the others not on the grid are at their SM values).
        nuisances: names of the profiled nuisances (last axis of :attr:`theta`).
        without_es: whether electron scattering was left out.
        linear_norms: whether normalisations were the linear mirror (symmetric histosys).
        seconds: wall time of the scan itself (chunks and output).
        setup_seconds: wall time of building the likelihood and fitting the SM.
        converged_fraction: fraction of the points whose nuisance profile converged.
        best_index: grid index of the smallest finite twice_nll (the first in C order on a tie), or None.
        minimum: that twice_nll (None when no point is finite).
        metadata: the whole ``scan.json``.
    """

    path: Path
    experiments: tuple[str, ...]
    family: str
    parameters: tuple[str, ...]
    grid: Mapping[str, tuple[float, ...]]
    fixed: Mapping[str, float]
    nuisances: tuple[str, ...]
    without_es: bool
    linear_norms: bool
    seconds: float
    setup_seconds: float
    converged_fraction: float
    best_index: tuple[int, ...] | None
    minimum: float | None
    metadata: Mapping[str, Any]

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape (n1, n2, ...)."""
        return tuple(len(self.grid[p]) for p in self.parameters)

    @property
    def points(self) -> int:
        """Number of grid points."""
        return math.prod(self.shape)

    def _array(self, key: str) -> np.ndarray:
        entry = self.metadata["files"][key]
        array: np.ndarray = np.load(self.path / entry["path"], mmap_mode="r")
        if tuple(array.shape) != tuple(entry["shape"]) or str(array.dtype) != entry["dtype"]:
            msg = f"{self.path / entry['path']} holds {array.dtype} {array.shape}, {METADATA} says {entry}"
            raise ConfigurationError(msg)
        return array

    @cached_property
    def twice_nll(self) -> FloatArray:
        """-2 ln L at every grid point (memory-mapped, read-only), shape :attr:`shape`."""
        return self._array("twice_nll")

    @cached_property
    def converged(self) -> np.ndarray:
        """True where the nuisance profile converged (memory-mapped, read-only)."""
        return self._array("converged")

    @cached_property
    def theta(self) -> FloatArray:
        """The profiled nuisances at every grid point, shape :attr:`shape` + (K,) (memory-mapped, read-only)."""
        return self._array("theta")

    @cached_property
    def delta_chi2(self) -> FloatArray:
        """twice_nll minus its minimum (inf where not finite); computed on first use (one grid of float64)."""
        if self.minimum is None:
            msg = "no grid point has a finite likelihood"
            raise ConfigurationError(msg)
        nll = np.asarray(self.twice_nll)
        return np.where(np.isfinite(nll), nll, np.inf) - self.minimum

    @property
    def best_fit(self) -> dict[str, float]:
        """The best grid point (Delta chi2 = 0): its parameter values and ``twice_nll``."""
        if self.best_index is None or self.minimum is None:
            msg = "no grid point has a finite likelihood"
            raise ConfigurationError(msg)
        out = {p: float(self.grid[p][i]) for p, i in zip(self.parameters, self.best_index, strict=True)}
        out["twice_nll"] = self.minimum
        return out

    def to_scan_result(self) -> ScanResult:
        """A :class:`~cevns_hf.inference.results.ScanResult` over the same arrays (still memory-mapped), for
        its intervals (1 dof, profiled over the other axes), contours (2D) and JSON form."""
        return ScanResult(
            experiments=self.experiments,
            family=self.family,
            parameters=self.parameters,
            grid=self.grid,
            twice_nll=self.twice_nll,
            fixed=dict(self.fixed),
            nuisances=self.nuisances,
            theta=self.theta,
            converged=self.converged,
            without_es=self.without_es,
        )


def load_stream(path: str | os.PathLike[str]) -> StreamResult:
    """Open the output folder of :func:`~cevns_hf.inference.stream.stream_scan`.

    Raises:
        ConfigurationError: no ``scan.json`` there, or not one written by
            :func:`~cevns_hf.inference.stream.stream_scan`.
    """
    folder = Path(path)
    meta_path = folder / METADATA
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"{str(meta_path)!r} is not the metadata of a streamed scan: {err}"
        raise ConfigurationError(msg) from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        msg = f"{str(meta_path)!r} is not the metadata of a streamed scan (format {FORMAT!r})"
        raise ConfigurationError(msg)
    best = meta["best_fit"]
    return StreamResult(
        path=folder,
        experiments=tuple(meta["experiments"]),
        family=meta["family"],
        parameters=tuple(meta["parameters"]),
        grid={k: tuple(float(x) for x in v) for k, v in meta["grid"].items()},
        fixed={k: float(v) for k, v in meta["fixed"].items()},
        nuisances=tuple(meta["nuisances"]),
        without_es=bool(meta["without_es"]),
        linear_norms=bool(meta["linear_norms"]),
        seconds=float(meta["seconds"]),
        setup_seconds=float(meta["setup_seconds"]),
        converged_fraction=float(meta["converged_fraction"]),
        best_index=None if meta["best_index"] is None else tuple(int(i) for i in meta["best_index"]),
        minimum=None if best is None else float(best["twice_nll"]),
        metadata=meta,
    )
