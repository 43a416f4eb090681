r"""Exact polynomial-basis templates: a hypothesis of a polynomial family costs one small contraction.

Where a family's rate is a polynomial in some of its parameters (:class:`~cevns_hf.bsm.family.Polynomial`:
the weak mixing angle, NSI, NGI, magnetic moments, charge radii, millicharges, the dipole portal and sterile
mixing at fixed mass, light mediators at fixed mass), every expected-count template is, bin by bin,

.. math::
    T(x) = \sum_{m=1}^{M} y^{e_m} B_m, \qquad y_j = \frac{x_j - c_j}{h_j},

over the :math:`M = \binom{n + d}{d}` monomials of total degree at most :math:`d` in the :math:`n` varied
parameters (centred and scaled to the box of their physical ranges, so that the Vandermonde matrix is well
conditioned). The rate engine is linear in the cross section and the flux factor, so the same holds for the
nominal templates and every systematic variant (up and down histograms).

:func:`build_basis` computes the basis templates :math:`B_m` once per *slice* (values of the other
parameters, e.g. a mediator mass) from the engine at :math:`2M` random points of the box (least squares) and
checks them at further random points: a basis that does not reproduce the engine there to ``rtol`` (1e-10
relative to the largest count of each histogram) raises :class:`BasisError`, so a wrong declaration cannot give
wrong templates. :meth:`PolynomialBasis.samples_at` then evaluates any number of hypotheses with one matrix
product. :func:`cevns_hf.templates.batch.grid_neutrino_samples` uses it wherever it pays.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cevns_hf._threads import one_blas_thread
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import CevnsHFError, ConfigurationError
from cevns_hf.templates.histograms import Sample

__all__ = [
    "BasisError",
    "Box",
    "PolynomialBasis",
    "build_basis",
    "cached_basis",
    "clear_cache",
    "fitting_box",
    "monomial_exponents",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]

#: Largest relative deviation of the basis from the engine accepted at the check points.
RTOL = 1e-10


class BasisError(CevnsHFError):
    """A family's declared polynomial dependence does not reproduce the rate engine."""


def monomial_exponents(n: int, degree: int) -> IntArray:
    """Exponents (M, n) of the monomials of total degree <= ``degree`` in ``n`` variables, by degree.

    Example:
        >>> monomial_exponents(2, 2).tolist()
        [[0, 0], [0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]
    """
    rows = [e for e in itertools.product(range(degree + 1), repeat=n) if sum(e) <= degree]
    rows.sort(key=lambda e: (sum(e), e))
    return np.array(rows, dtype=np.int64).reshape(len(rows), n)


def _vandermonde(y: FloatArray, exponents: IntArray) -> FloatArray:
    """(H, M) values of the monomials at the scaled points ``y`` (H, n)."""
    out = np.ones((y.shape[0], exponents.shape[0]))
    for j in range(exponents.shape[1]):
        out *= y[:, j : j + 1] ** exponents[None, :, j]
    return out


def _flatten(samples: Sequence[Sample]) -> tuple[FloatArray, list[tuple[int, int]]]:
    """All histograms of the samples (leading axis N) as one (N, D) matrix, and each histogram's column range."""
    blocks: list[FloatArray] = []
    for s in samples:
        blocks.append(s.nominal)
        for up, down in s.shapes.values():
            blocks.extend((up, down))
    n = blocks[0].shape[0]
    flat = [np.asarray(b, dtype=float).reshape(n, -1) for b in blocks]
    edges = np.cumsum([0] + [f.shape[1] for f in flat])
    return np.concatenate(flat, axis=1), [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _unflatten(like: Sequence[Sample], matrix: FloatArray) -> tuple[Sample, ...]:
    """Samples shaped as ``like`` (without its leading axis) from an (H, D) matrix."""
    h = matrix.shape[0]
    out, col = [], 0

    def take(template: FloatArray) -> FloatArray:
        nonlocal col
        shape = template.shape[1:]
        size = math.prod(shape)
        block = matrix[:, col : col + size].reshape(h, *shape)
        col += size
        return block

    for s in like:
        nominal = take(s.nominal)
        shapes = {}
        for name, (up, down) in s.shapes.items():
            u = take(up)
            shapes[name] = (u, take(down))
        out.append(Sample(s.name, nominal, s.norms, shapes))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class PolynomialBasis:
    """Basis templates of one detector, family and slice: templates at any point are one contraction.

    Attributes:
        detector: the detector.
        family: the family.
        variables: the varied parameters (a subset of the family's polynomial variables).
        fixed: the other parameters given (the rest at their SM values), sorted (name, value) pairs.
        exponents: (M, n) monomial exponents.
        center: (n,) centres :math:`c_j` of the box.
        half_width: (n,) half widths :math:`h_j` of the box.
        samples: the basis templates (leading axis M), in the order of :meth:`Detector.neutrino_samples`.
        precision: the largest relative deviation from the engine measured at the check points.
    """

    detector: Detector
    family: Family
    variables: tuple[str, ...]
    fixed: tuple[tuple[str, float], ...]
    exponents: IntArray
    center: FloatArray
    half_width: FloatArray
    samples: tuple[Sample, ...]
    precision: float

    @property
    def size(self) -> int:
        """Number of monomials M."""
        return int(self.exponents.shape[0])

    def coefficients(self, values: Mapping[str, Sequence[float] | FloatArray]) -> FloatArray:
        """(H, M) monomial values at H points (``values``: each variable -> (H,) values)."""
        missing = [v for v in self.variables if v not in values]
        extra = sorted(set(values) - set(self.variables))
        if missing or extra:
            msg = f"the basis is in {list(self.variables)}; got values for {sorted(values)}"
            raise ConfigurationError(msg)
        x = np.stack([np.asarray(values[v], dtype=float).ravel() for v in self.variables], axis=1)
        return _vandermonde((x - self.center) / self.half_width, self.exponents)

    def samples_at(self, values: Mapping[str, Sequence[float] | FloatArray]) -> tuple[Sample, ...]:
        """The templates (leading axis H) at H points: :math:`T = V(y) B` for every histogram."""
        coef = self.coefficients(values)
        matrix, _ = _flatten(self.samples)
        return _unflatten(self.samples, coef @ matrix)


Box = tuple[tuple[float, float], ...]


def _box(family: Family, variables: Sequence[str], box: Box | None) -> tuple[FloatArray, FloatArray]:
    """Lower and upper ends of the box: ``box`` if given (checked to be non-empty), else the physical ranges."""
    if box is None:
        lo = np.array([family.parameter(v).lo for v in variables], dtype=float)
        hi = np.array([family.parameter(v).hi for v in variables], dtype=float)
    else:
        if len(box) != len(variables):
            msg = f"the box needs one (lo, hi) per variable {list(variables)}, got {box}"
            raise ConfigurationError(msg)
        lo = np.array([b[0] for b in box], dtype=float)
        hi = np.array([b[1] for b in box], dtype=float)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi > lo)):
        msg = f"the polynomial variables {list(variables)} of {family.name} need a finite box with hi > lo"
        raise BasisError(msg)
    return lo, hi


def fitting_box(family: Family, values: Mapping[str, FloatArray]) -> Box:
    """A box holding ``values`` (variable -> points), quantised so that neighbouring point sets share it.

    Each variable gets :math:`[s - h, s + h]` around its SM value :math:`s`, with :math:`h` the smallest power
    of two covering the points, clipped to the physical range. The basis is exact relative to the largest
    count in its box, so the box should not be much wider than the points.
    """
    out = []
    for name, x in values.items():
        p = family.parameter(name)
        reach = float(np.max(np.abs(np.asarray(x, dtype=float) - p.sm)))
        half = 2.0 ** math.ceil(math.log2(reach)) if reach > 0 else 1.0
        out.append((max(p.lo, p.sm - half), min(p.hi, p.sm + half)))
    return tuple(out)


def _valid_points(
    family: Family,
    variables: Sequence[str],
    fixed: Mapping[str, float],
    box: tuple[FloatArray, FloatArray],
    n: int,
    rng: np.random.Generator,
) -> FloatArray:
    """``n`` random points of the box that pass the family's checks (e.g. sterile unitarity)."""
    lo, hi = box
    out: list[FloatArray] = []
    for _ in range(200):
        x = lo + (hi - lo) * rng.random((4 * n, len(variables)))
        full = family.complete(dict(fixed))
        ok = np.ones(len(x), dtype=bool)
        if family.check is not None:
            for i, row in enumerate(x):
                try:
                    family.check({**full, **dict(zip(variables, row, strict=True))})
                except ConfigurationError:
                    ok[i] = False
        out.extend(x[ok])
        if len(out) >= n:
            return np.array(out[:n])
    msg = f"could not draw {n} valid points of {family.name} in {list(variables)}"
    raise BasisError(msg)


def build_basis(
    detector: Detector,
    family: Family,
    variables: Sequence[str],
    fixed: Mapping[str, float] | None = None,
    *,
    box: Box | None = None,
    rtol: float = RTOL,
    seed: int = 0,
) -> PolynomialBasis:
    """The basis templates of ``detector`` for ``family`` in ``variables`` at the slice ``fixed``.

    Args:
        detector: the detector.
        family: a family with a :class:`~cevns_hf.bsm.family.Polynomial` declaration.
        variables: the varied parameters, a subset of the declaration's variables.
        fixed: values of other parameters (the rest at their SM values).
        box: (lo, hi) of each variable: the fit and check points are drawn in it (default: the physical
            ranges; :func:`fitting_box` gives one fitted to a set of points).
        rtol: largest accepted deviation from the engine at the check points, relative to the largest count
            of each histogram in the box.
        seed: seed of the random fit and check points.

    Raises:
        BasisError: the family has no polynomial declaration for ``variables``, or the basis does not
            reproduce the engine to ``rtol``.
    """
    from cevns_hf.templates.batch import engine_neutrino_samples

    poly = family.polynomial
    names = tuple(variables)
    if poly is None or not names or not set(names) <= set(poly.variables):
        declared = "none" if poly is None else list(poly.variables)
        msg = f"family {family.name} is not declared polynomial in {list(names)} (declared: {declared})"
        raise BasisError(msg)
    fixed_values = {k: float(v) for k, v in (fixed or {}).items()}
    clash = sorted(set(fixed_values) & set(names))
    if clash:
        msg = f"parameters {clash} are both varied and fixed"
        raise ConfigurationError(msg)
    exponents = monomial_exponents(len(names), poly.degree)
    m = exponents.shape[0]
    n_fit, n_check = 2 * m, max(5, m // 2)
    rng = np.random.default_rng(seed)
    lo, hi = _box(family, names, box)
    x = _valid_points(family, names, fixed_values, (lo, hi), n_fit + n_check, rng)
    center, half = 0.5 * (hi + lo), 0.5 * (hi - lo)
    # one BLAS thread: the same bits in every process (a Dask worker, the driver), whatever its thread pool
    with one_blas_thread():
        values = {v: x[:, j] for j, v in enumerate(names)}
        engine = engine_neutrino_samples(detector, family, values, fixed=fixed_values)
        matrix, blocks = _flatten(engine)
        vander = _vandermonde((x - center) / half, exponents)
        coef, *_ = np.linalg.lstsq(vander[:n_fit], matrix[:n_fit], rcond=None)
    scale = np.empty(matrix.shape[1])
    for a, b in blocks:
        scale[a:b] = max(float(np.max(np.abs(matrix[:, a:b]))), np.finfo(float).tiny)
    deviation = float(np.max(np.abs(vander @ coef - matrix) / scale))
    if not deviation <= rtol:
        msg = (
            f"{family.name} is not a polynomial of degree {poly.degree} in {list(names)} on {detector.name} "
            f"(slice {fixed_values or 'SM'}): the basis deviates from the engine by {deviation:.3g} (relative), "
            f"more than {rtol:g}"
        )
        raise BasisError(msg)
    log.debug("basis of %s in %s on %s: %d monomials, precision %.2g", family.name, names, detector.name, m, deviation)
    return PolynomialBasis(
        detector,
        family,
        names,
        tuple(sorted(fixed_values.items())),
        exponents,
        center,
        half,
        _unflatten(engine, coef),
        deviation,
    )


def cached_basis(
    detector: Detector,
    family: Family,
    variables: tuple[str, ...],
    fixed: tuple[tuple[str, float], ...],
    box: Box | None = None,
) -> PolynomialBasis:
    """:func:`build_basis`, memoised per detector, family, variables, slice and box (64 most recent)."""
    key: Any = detector  # detectors are frozen dataclasses, hashable
    built: PolynomialBasis = _cached(key, family, variables, fixed, box)
    return built


def clear_cache() -> None:
    """Forget the memoised bases of :func:`cached_basis`."""
    _cached.cache_clear()


@functools.lru_cache(maxsize=64)
def _cached(detector: Any, family: Family, variables: tuple[str, ...], fixed: Any, box: Any) -> PolynomialBasis:
    return build_basis(detector, family, variables, dict(fixed), box=box)
