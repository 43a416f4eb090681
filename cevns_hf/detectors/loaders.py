"""Readers of the COHERENT release files (I/O at the edge: every file is located and verified by
:func:`cevns_hf.data.release_path`, then parsed here into plain numpy arrays).

Formats are documented in the releases' own notes and summarised in ``shared/data/coherent/README.md``:
    * CsI 2021: ``*PE.txt`` 1-PE bins (centres 0.5..249.5) with PDF values; ``*Trec.txt`` 10 ns bins
      (centres -0.245..6.245 us); ``dataBeamOn{C,AC}.txt`` unbinned (PE, t [us]) events;
      ``*Coefficients.txt`` rows of four polynomial / logistic coefficients.
    * CsI 2021 flux (derived): time marginals per flavour in 10 ns bins over 0-15000 ns.
    * LAr 2020: 960 rows (energy, F90, time bin centres, value) ordered energy-major, then F90, then time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.data import release_path
from cevns_hf.exceptions import DataError, DataNotFoundError
from cevns_hf.sources.sns_pidar import FLUX_FILE_COLUMNS, FLUX_ROOT_HISTOGRAMS

__all__ = [
    "Efficiency",
    "csi2021_coefficients",
    "csi2021_events",
    "csi2021_events_in_region",
    "csi2021_flux_time_marginals",
    "csi2021_pdf",
    "lar2020_acceptance",
    "lar2020_grid",
    "load_table",
]


def __dir__() -> list[str]:
    return __all__


Efficiency = Callable[[FloatArray], FloatArray]


@functools.lru_cache(maxsize=64)
def load_table(release: str, name: str, delimiter: str | None = None, header: bool = False) -> FloatArray:
    """Numeric table of a release file; cached, read-only.

    Lines starting with '#' are skipped; with ``header=True`` the first other line (column names) too.
    """
    path = release_path(release, name)
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if header:
        lines = lines[1:]
    try:
        table = np.loadtxt(lines, delimiter=delimiter, dtype=float)
    except ValueError as err:
        msg = f"cannot parse {release}/{name} at {path}: {err}"
        raise DataError(msg) from err
    table = np.atleast_2d(table)
    if not np.all(np.isfinite(table)):
        msg = f"{release}/{name} at {path} contains non-numeric entries"
        raise DataError(msg)
    table.setflags(write=False)
    return table


def csi2021_coefficients(name: str, *, expected_rows: int) -> FloatArray:
    """Coefficient rows (a, b, c, d) of ``scintRespCoefficients.txt`` / ``effCoefficients.txt``."""
    table = load_table("csi2021", name)
    if table.shape != (expected_rows, 4):
        msg = f"csi2021/{name}: expected {expected_rows} rows of 4 coefficients, found shape {table.shape}"
        raise DataError(msg)
    return table


def _edges_from_centres(centres: FloatArray) -> FloatArray:
    width = np.diff(centres)
    if not np.allclose(width, width[0], rtol=1e-6, atol=1e-9):
        msg = "expected uniformly spaced bin centres"
        raise DataError(msg)
    w = width[0]
    return np.concatenate([centres - 0.5 * w, [centres[-1] + 0.5 * w]])


def csi2021_pdf(name: str) -> tuple[FloatArray, FloatArray]:
    """(bin edges, contents) of a BRN / NIN energy (PE) or arrival-time (us) distribution."""
    table = load_table("csi2021", name)
    return _edges_from_centres(table[:, 0]), np.asarray(table[:, 1], dtype=float)


def csi2021_events(name: str, energy_edges: Sequence[float], time_edges: Sequence[float]) -> FloatArray:
    """Unbinned (PE, t) events of ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt`` histogrammed in (PE, t)."""
    table = load_table("csi2021", name)
    counts, _, _ = np.histogram2d(table[:, 0], table[:, 1], bins=[np.asarray(energy_edges), np.asarray(time_edges)])
    return counts


def csi2021_events_in_region(name: str, energy_edges: Sequence[float], time_edges: Sequence[float]) -> FloatArray:
    """Unbinned (PE, t) events of ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt`` inside the binned region, shape (n, 2).

    The region is the one :func:`csi2021_events` histograms (numpy's convention: every bin half open but the
    last, which includes its upper edge), so ``len(result) == csi2021_events(...).sum()``.
    """
    table = load_table("csi2021", name)
    e, t = np.asarray(energy_edges, dtype=float), np.asarray(time_edges, dtype=float)
    pe, time = table[:, 0], table[:, 1]
    inside = (pe >= e[0]) & (pe <= e[-1]) & (time >= t[0]) & (time <= t[-1])
    return np.asarray(table[inside], dtype=float)


def csi2021_flux_time_marginals() -> tuple[FloatArray, dict[str, FloatArray]]:
    """Per-flavour arrival-time PDFs of the convolved SNS flux: (edges [us], {flavour: PDF per bin}).

    Read from the derived time marginals (release ``csi2021-flux``) when present, otherwise from the
    official ``snsFlux2D.root`` (release ``csi2021``) with uproot: the TH2 histograms
    of :data:`~cevns_hf.sources.sns_pidar.FLUX_ROOT_HISTOGRAMS` (axis 0 time [ns], axis 1 energy [MeV]) are
    projected onto time. The derived file's columns are :data:`~cevns_hf.sources.sns_pidar.FLUX_FILE_COLUMNS`.
    """
    name = "snsFlux_time_marginals_t10ns_pdf.csv"
    try:
        path = release_path("csi2021-flux", name)
    except DataNotFoundError as derived_missing:
        try:
            return _flux_time_marginals_from_root(release_path("csi2021", "snsFlux2D.root"))
        except DataNotFoundError:
            raise derived_missing from None
    table = load_table("csi2021-flux", name, delimiter=",", header=True)
    header = next(line for line in path.read_text().splitlines() if line and not line.startswith("#")).split(",")
    if header[:2] != ["t_lo_ns", "t_hi_ns"]:
        msg = f"csi2021-flux/{name}: unexpected header {header}"
        raise DataError(msg)
    edges = np.concatenate([table[:, 0], table[-1:, 1]]) * 1e-3
    missing = [c for c in FLUX_FILE_COLUMNS.values() if c not in header]
    if missing:
        msg = f"csi2021-flux/{name}: columns {missing} missing; header {header}"
        raise DataError(msg)
    return edges, {f: np.asarray(table[:, header.index(c)], dtype=float) for f, c in FLUX_FILE_COLUMNS.items()}


def _flux_time_marginals_from_root(path: Path) -> tuple[FloatArray, dict[str, FloatArray]]:
    try:
        import uproot
    except ImportError as err:
        msg = "reading snsFlux2D.root needs uproot: pip install 'cevns_hf[root]'"
        raise DataError(msg) from err
    out: dict[str, FloatArray] = {}
    edges: FloatArray | None = None
    with uproot.open(path) as root_file:
        for flavour, histogram in FLUX_ROOT_HISTOGRAMS.items():
            hist = root_file[histogram]
            values = np.asarray(hist.values(), dtype=float)
            projected = values.sum(axis=1)
            out[flavour] = projected / projected.sum()
            edges = np.asarray(hist.axis(0).edges(), dtype=float) * 1e-3
    assert edges is not None
    return edges, out


def lar2020_grid(name: str) -> FloatArray:
    """A 12 x 8 x 10 (energy, F90, time) LAr 2020 template or data file as an array."""
    table = load_table("lar2020", name)
    if table.shape != (960, 4):
        msg = f"lar2020/{name}: expected 960 rows x 4 columns, found {table.shape}"
        raise DataError(msg)
    order = np.lexsort((table[:, 2], table[:, 1], table[:, 0]))
    return np.asarray(table[order, 3].reshape(12, 8, 10), dtype=float)


def lar2020_acceptance() -> tuple[FloatArray, FloatArray]:
    """(keVee bin centres, acceptance) of ``CENNS10AnlAEfficiency.txt``."""
    table = load_table("lar2020", "CENNS10AnlAEfficiency.txt")
    return np.asarray(table[:, 0], dtype=float), np.asarray(table[:, 2], dtype=float)
