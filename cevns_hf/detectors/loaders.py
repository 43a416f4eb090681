"""Readers of the COHERENT release files (I/O at the edge: every file is located and verified by
:func:`cevns_hf.data.release_path`, then parsed here into plain numpy arrays).

Formats are documented in the releases' own notes and summarised in ``shared/data/coherent/README.md``:
    * CsI 2021: ``*PE.txt`` 1-PE bins (centres 0.5..249.5) with PDF values; ``*Trec.txt`` 10 ns bins
      (centres -0.245..6.245 us); ``dataBeamOn{C,AC}.txt`` unbinned (PE, t [us]) events, of which only those
      of the verified analysis region :data:`~cevns_hf.data.verify.EVENT_REGION` are read;
      ``*Coefficients.txt`` rows of four polynomial / logistic coefficients.
    * CsI 2021 flux: the official ``snsFlux2D.root`` (TH2 per flavour, axis 0 time [ns], axis 1 energy
      [MeV]), projected here onto time and energy; or the derived time marginals (release ``csi2021-flux``,
      per flavour in 10 ns bins over 0-15000 ns) when those are present.

Every text table is parsed like its verification (:func:`cevns_hf.data.verify.numeric_rows`): comments,
blank and non-numeric (header) lines are skipped, fields are separated by commas and/or whitespace, so the
numbers read are exactly the numbers verified.
    * LAr 2020: 960 rows (energy, F90, time bin centres, value) ordered energy-major, then F90, then time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.data import release_path
from cevns_hf.data.verify import EVENT_REGION, read_numeric
from cevns_hf.exceptions import DataError, DataNotFoundError
from cevns_hf.sources.sns_pidar import FLUX_FILE_COLUMNS, FLUX_ROOT_HISTOGRAMS

__all__ = [
    "Efficiency",
    "FluxMarginals",
    "csi2021_coefficients",
    "csi2021_event_list",
    "csi2021_events",
    "csi2021_events_in_region",
    "csi2021_flux_time_marginals",
    "csi2021_pdf",
    "flux_marginals_from_root",
    "lar2020_acceptance",
    "lar2020_grid",
    "load_table",
]


def __dir__() -> list[str]:
    return __all__


Efficiency = Callable[[FloatArray], FloatArray]


@functools.lru_cache(maxsize=64)
def load_table(release: str, name: str, delimiter: str | None = None, header: bool = False) -> FloatArray:
    """Numeric rows of a release file (located and verified); cached, read-only.

    Parsed like the verification (:func:`cevns_hf.data.verify.numeric_rows`): lines starting with '#', blank
    lines and non-numeric (header) lines are skipped, fields are separated by commas and/or whitespace.
    ``delimiter`` and ``header`` are accepted for compatibility and not needed: every delimiter and header
    line is recognised.
    """
    del delimiter, header
    path = release_path(release, name)
    table = read_numeric(path, "numeric", f"{release}/{name} at {str(path)!r}")
    if not np.all(np.isfinite(table)):
        msg = f"{release}/{name} at {path} contains non-finite entries"
        raise DataError(msg)
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


@functools.lru_cache(maxsize=8)
def csi2021_event_list(name: str) -> FloatArray:
    """The (PE, t [us]) events of ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt`` in the verified region.

    Only the events of :data:`~cevns_hf.data.verify.EVENT_REGION` (``0 <= PE < 60``, ``0 <= t < 6 us``) are
    covered by the file's check, so only those are read. Cached, read-only, in file order.
    """
    path = release_path("csi2021", name)
    table = read_numeric(path, "events", f"csi2021/{name} at {str(path)!r}")
    if not np.all(np.isfinite(table)):
        msg = f"csi2021/{name} at {path} contains non-finite entries"
        raise DataError(msg)
    return table


def _check_region(name: str, energy_edges: FloatArray, time_edges: FloatArray) -> None:
    (pe_lo, pe_hi), (t_lo, t_hi) = EVENT_REGION
    if energy_edges[0] < pe_lo or energy_edges[-1] > pe_hi or time_edges[0] < t_lo or time_edges[-1] > t_hi:
        msg = (
            f"csi2021/{name}: binning {energy_edges[0]:g}..{energy_edges[-1]:g} PE x {time_edges[0]:g}.."
            f"{time_edges[-1]:g} us extends beyond the verified region {pe_lo:g}..{pe_hi:g} PE x "
            f"{t_lo:g}..{t_hi:g} us of the event list; choose edges inside it"
        )
        raise DataError(msg)


def csi2021_events(name: str, energy_edges: Sequence[float], time_edges: Sequence[float]) -> FloatArray:
    """Unbinned (PE, t) events of ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt`` histogrammed in (PE, t).

    The edges must lie inside the verified region (:data:`~cevns_hf.data.verify.EVENT_REGION`); its upper
    bounds are exclusive, so an event exactly at 60 PE or 6 us is never counted.

    Raises:
        DataError: edges beyond the verified region.
    """
    e, t = np.asarray(energy_edges, dtype=float), np.asarray(time_edges, dtype=float)
    _check_region(name, e, t)
    table = csi2021_event_list(name)
    counts, _, _ = np.histogram2d(table[:, 0], table[:, 1], bins=[e, t])
    return counts


def csi2021_events_in_region(name: str, energy_edges: Sequence[float], time_edges: Sequence[float]) -> FloatArray:
    """Unbinned (PE, t) events of ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt`` inside the binned region, shape (n, 2).

    The region is the one :func:`csi2021_events` histograms (numpy's convention: every bin half open but the
    last, which includes its upper edge), so ``len(result) == csi2021_events(...).sum()``.

    Raises:
        DataError: edges beyond the verified region.
    """
    e, t = np.asarray(energy_edges, dtype=float), np.asarray(time_edges, dtype=float)
    _check_region(name, e, t)
    table = csi2021_event_list(name)
    pe, time = table[:, 0], table[:, 1]
    inside = (pe >= e[0]) & (pe <= e[-1]) & (time >= t[0]) & (time <= t[-1])
    return np.asarray(table[inside], dtype=float)


_FLUX_ROOT = "snsFlux2D.root"
_FLUX_DERIVED = "snsFlux_time_marginals_t10ns_pdf.csv"


def csi2021_flux_time_marginals() -> tuple[FloatArray, dict[str, FloatArray]]:
    """Per-flavour arrival-time PDFs of the convolved SNS flux: (edges [us], {flavour: PDF per bin}).

    Read from the derived time marginals (release ``csi2021-flux``) when present, otherwise from the
    official ``snsFlux2D.root`` (release ``csi2021``, fetched by ``cevns-hf data fetch``) with uproot: the TH2
    histograms of :data:`~cevns_hf.sources.sns_pidar.FLUX_ROOT_HISTOGRAMS` (axis 0 time [ns], axis 1
    energy [MeV]) are projected onto time (:func:`flux_marginals_from_root`). The derived file's columns are
    :data:`~cevns_hf.sources.sns_pidar.FLUX_FILE_COLUMNS`.

    Raises:
        DataNotFoundError: neither file is available (the message says how to fetch ``snsFlux2D.root``).
        DataError: the file found cannot be read or has an unexpected structure.
    """
    name = _FLUX_DERIVED
    try:
        path = release_path("csi2021-flux", name)
    except DataNotFoundError:
        try:
            root_path = release_path("csi2021", _FLUX_ROOT)
        except DataNotFoundError as err:
            msg = (
                f"the SNS flux arrival times need the official csi2021/{_FLUX_ROOT} "
                f"(or the derived csi2021-flux/{name}): {err}"
            )
            raise DataNotFoundError(msg) from None
        marginals = flux_marginals_from_root(root_path)
        return marginals.time_edges_us, marginals.time_pdf
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


@dataclass(frozen=True)
class FluxMarginals:
    """Time and energy marginals of the official SNS flux (``snsFlux2D.root``), per flavour.

    Attributes:
        time_edges_us: time bin edges [us] (axis 0 of the TH2s, stored in ns).
        energy_edges_mev: energy bin edges [MeV] (axis 1).
        time_pdf: flavour -> arrival-time PDF per time bin (sums to 1).
        energy: flavour -> flux per energy bin (sum over time, in the file's units).
    """

    time_edges_us: FloatArray
    energy_edges_mev: FloatArray
    time_pdf: dict[str, FloatArray]
    energy: dict[str, FloatArray]


def _root_error(path: Path, problem: str) -> DataError:
    msg = (
        f"cannot use csi2021/{_FLUX_ROOT} at {str(path)!r}: {problem}; expected the official ROOT flux file "
        f"with TH2 histograms {', '.join(FLUX_ROOT_HISTOGRAMS.values())} (axis 0 time [ns] covering "
        f"{EVENT_REGION[1][0]:g}..{EVENT_REGION[1][1]:g} us, axis 1 energy [MeV]); the file is corrupt or not "
        "the official one: delete it and fetch it again (`cevns-hf data fetch`)"
    )
    return DataError(msg)


def flux_marginals_from_root(path: Path) -> FluxMarginals:
    """Project the TH2s of the official ``snsFlux2D.root`` onto time and energy.

    Raises:
        DataError: uproot is missing, or the file is unreadable, lacks a histogram, or has histograms that
            are not 2D, have negative or non-finite contents, differ in binning or do not cover the
            analysis time window (the message names the file and the problem).
    """
    try:
        import uproot
    except ImportError as err:
        msg = f"reading csi2021/{_FLUX_ROOT} needs uproot: pip install 'cevns_hf[root]'"
        raise DataError(msg) from err
    raw: dict[str, tuple[FloatArray, FloatArray, FloatArray]] = {}
    try:
        with uproot.open(path) as root_file:
            found = sorted({key.split(";")[0] for key in root_file.keys(recursive=False)})
            for flavour, histogram in FLUX_ROOT_HISTOGRAMS.items():
                if histogram not in found:
                    raise _root_error(path, f"histogram {histogram!r} missing (found: {', '.join(found) or 'none'})")
                hist = root_file[histogram]
                values = np.asarray(hist.values(), dtype=float)
                if values.ndim != 2:
                    raise _root_error(path, f"{histogram!r} is not a 2D histogram (shape {values.shape})")
                raw[flavour] = (
                    values,
                    np.asarray(hist.axis(0).edges(), dtype=float),
                    np.asarray(hist.axis(1).edges(), dtype=float),
                )
    except DataError:
        raise
    except Exception as err:  # uproot raises many kinds of error on a damaged file
        raise _root_error(path, f"unreadable ({type(err).__name__}: {err})") from err
    return _marginals(path, raw)


def _marginals(path: Path, raw: dict[str, tuple[FloatArray, FloatArray, FloatArray]]) -> FluxMarginals:
    first = next(iter(raw.values()))
    t_edges, e_edges = first[1], first[2]
    time_pdf: dict[str, FloatArray] = {}
    energy: dict[str, FloatArray] = {}
    for flavour, (values, t, e) in raw.items():
        histogram = FLUX_ROOT_HISTOGRAMS[flavour]
        same = t.shape == t_edges.shape and e.shape == e_edges.shape
        if not (same and np.allclose(t, t_edges) and np.allclose(e, e_edges)):
            raise _root_error(path, f"{histogram!r} is binned differently from the other flavours")
        if not np.all(np.isfinite(values)) or np.any(values < 0) or not values.sum() > 0:
            raise _root_error(path, f"{histogram!r} has negative, non-finite or only zero contents")
        by_time = values.sum(axis=1)
        time_pdf[flavour] = by_time / by_time.sum()
        energy[flavour] = values.sum(axis=0)
    t_us = t_edges * 1e-3
    (t_lo, t_hi) = EVENT_REGION[1]
    if np.any(np.diff(t_us) <= 0) or t_us[0] > t_lo or t_us[-1] < t_hi:
        raise _root_error(path, f"time axis {t_edges[0]:g}..{t_edges[-1]:g} ns does not cover the analysis window")
    return FluxMarginals(t_us, e_edges, time_pdf, energy)


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
