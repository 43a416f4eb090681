r"""The rate engine: detector response precomputed once, one cross-section evaluation per hypothesis.

For every process (CEvNS on a nucleus, ES on an atom) and flavour the double integral

.. math::
    N_i = n_{targets}\,\Phi \int dT\, R_i(T) \int_{E_{min}(T)} dE\, \phi(E)\, P(E)\, \frac{d\sigma}{dT}(E, T)

is written as a fixed quadrature over points (E_p, T_p): composite Gauss-Legendre panels in the recoil
energy T and, at each T node, Gauss-Legendre nodes in the neutrino energy from the kinematic minimum
E_min(T) to the spectrum end point (the prompt nu_mu line needs no energy integral). The weights
W_{v,p,i} = n_targets Phi w_p phi(E_p) R_{v,i}(T_p) for every energy-response variant v (nominal and the
systematic variations) are computed at set-up, so a hypothesis costs one evaluation of d sigma / dT at
the points and one contraction: N_{v,i} = sum_p sigma_p W_{v,p,i}.

:func:`reference_spectrum` is the slow, obviously correct twin built from nested ``scipy.integrate.quad``
calls; the tests require both to agree to 1e-3.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import integrate

from cevns_hf._typing import FloatArray
from cevns_hf.physics.cevns import max_recoil, min_neutrino_energy
from cevns_hf.physics.constants import M_ELECTRON
from cevns_hf.physics.electron import es_max_recoil
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.physics.nuclei import Nucleus
from cevns_hf.sources.base import Source

__all__ = [
    "Channel",
    "EnergyResponse",
    "Process",
    "RateEngine",
    "Target",
    "build_engine",
    "reference_spectrum",
]


def __dir__() -> list[str]:
    return __all__


Process = Literal["cevns", "es"]
#: Energy response: recoil energies (MeV, shape (n,)) -> probability x efficiency per reconstructed
#: energy bin and per variant, shape (n_variants, n, n_bins).
EnergyResponse = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class Target:
    """A scattering target of a detector.

    Attributes:
        label: name used in outputs (``"Cs133"``).
        count: number of such nuclei / atoms in the fiducial volume.
        nucleus: the nucleus, for CEvNS.
        element: the element symbol, for ES (``"Cs"``); ``None`` when ES is not modelled.
    """

    label: str
    count: float
    nucleus: Nucleus
    element: str | None = None


@dataclass(frozen=True)
class Channel:
    """Precomputed quadrature of one (process, target, flavour)."""

    process: Process
    target: Target
    flavour: str
    e_nu: FloatArray
    t_recoil: FloatArray
    weights: FloatArray = field(repr=False)  # (n_variants, n_points, n_bins)

    @functools.cached_property
    def matrix(self) -> FloatArray:
        """The weights as a C-contiguous (n_points, n_variants * n_bins) matrix for BLAS products."""
        return np.ascontiguousarray(np.moveaxis(self.weights, 1, 0).reshape(self.weights.shape[1], -1))


def _gauss_legendre(lo: FloatArray, hi: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes and weights on [lo, hi] for arrays of intervals: shapes (len(lo), n)."""
    x, w = np.polynomial.legendre.leggauss(n)
    half = 0.5 * (hi - lo)[:, None]
    mid = 0.5 * (hi + lo)[:, None]
    return mid + half * x[None, :], half * w[None, :]


def _panels(breaks: Sequence[float], n_panels: int, n_nodes: int) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss-Legendre rule over [breaks[0], breaks[-1]] with panel edges at every break."""
    pts = sorted({float(b) for b in breaks})
    span = pts[-1] - pts[0]
    edges: list[float] = [pts[0]]
    for lo, hi in itertools.pairwise(pts):
        k = max(1, round(n_panels * (hi - lo) / span))
        edges.extend(np.linspace(lo, hi, k + 1)[1:].tolist())
    e = np.asarray(edges)
    nodes, weights = _gauss_legendre(e[:-1], e[1:], n_nodes)
    return nodes.ravel(), weights.ravel()


def _energy_points(
    source: Source, flavour: str, t_nodes: FloatArray, t_weights: FloatArray, mass: float, n_energy: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Points (E, T) and weights for the neutrino-energy integral at each recoil node."""
    e_min = min_neutrino_energy(t_nodes, mass)
    line = source.line_energy(flavour)
    if line is not None:
        keep = e_min < line
        return np.full(keep.sum(), line), t_nodes[keep], t_weights[keep]
    e_lo, e_hi = source.energy_range(flavour)
    keep = e_min < e_hi
    t_k, w_k, lo = t_nodes[keep], t_weights[keep], np.maximum(e_min[keep], e_lo)
    e, we = _gauss_legendre(lo, np.full_like(lo, e_hi), n_energy)
    weights = we * source.spectrum_pdf(flavour, e) * w_k[:, None]
    return e.ravel(), np.repeat(t_k, n_energy), weights.ravel()


@dataclass(frozen=True)
class RateEngine:
    """Precomputed detector response for fast templates.

    Attributes:
        channels: one :class:`Channel` per process, target and flavour.
        flavours: the source's flavours, the order of the flavour axis of :meth:`spectra`.
        n_variants: number of energy-response variants (index 0 is the nominal response).
        n_bins: number of reconstructed-energy bins.
        baseline_m: source-detector distance (for oscillation flux factors).
    """

    channels: tuple[Channel, ...]
    flavours: tuple[str, ...]
    n_variants: int
    n_bins: int
    baseline_m: float

    def spectra(self, model: PhysicsModel, process: Process) -> FloatArray:
        """Expected counts per variant, flavour and energy bin, shape (..., n_variants, n_flavours, n_bins).

        The flavour axis follows :attr:`flavours` (the source's). A model whose parameters are
        arrays of shape (H, 1) (a grid of H hypotheses) returns cross sections of shape (H, n_points):
        the result then has the leading axis H, and the whole grid costs one vectorised evaluation.
        """
        parts: dict[int, FloatArray] = {}
        for ch in self.channels:
            if ch.process != process:
                continue
            if process == "cevns":
                xs = model.cevns(ch.e_nu, ch.t_recoil, ch.target.nucleus, ch.flavour)
            else:
                assert ch.target.element is not None
                xs = model.electron(ch.e_nu, ch.t_recoil, ch.target.element, ch.flavour)
            flux = model.flux_factor(ch.flavour, ch.e_nu, self.baseline_m)
            weighted = np.asarray(xs * flux, dtype=float)
            contribution = (weighted @ ch.matrix).reshape(*weighted.shape[:-1], self.n_variants, self.n_bins)
            f = self.flavours.index(ch.flavour)
            parts[f] = parts[f] + contribution if f in parts else contribution
        batch = next((v.shape[:-2] for v in parts.values()), ())
        out = np.zeros((*batch, self.n_variants, len(self.flavours), self.n_bins))
        for f, value in parts.items():
            out[..., f, :] = value
        return out


def build_engine(
    *,
    source: Source,
    targets: Sequence[Target],
    fluence_per_cm2: float,
    baseline_m: float,
    nuclear_response: EnergyResponse,
    electron_response: EnergyResponse | None = None,
    electron_t_max: float = 0.0,
    recoil_panels: int = 24,
    recoil_nodes: int = 8,
    energy_nodes: int = 12,
    electron_quadrature: tuple[int, int, int] = (12, 8, 6),
) -> RateEngine:
    """Precompute the quadrature points and response weights of a detector.

    Args:
        source: the neutrino source (flavours and energy spectra).
        targets: the detector's targets (nuclei with their counts).
        fluence_per_cm2: neutrinos per flavour per cm^2 over the exposure.
        baseline_m: distance to the source.
        nuclear_response: maps nuclear recoil energies to (variants, points, bins) responses.
        electron_response: the same for electron recoils (``None``: no ES).
        electron_t_max: largest electron recoil [MeV] that can reach the analysis region.
        recoil_panels: Gauss-Legendre panels in the recoil energy.
        recoil_nodes: nodes per recoil panel.
        energy_nodes: Gauss-Legendre nodes in the neutrino energy at each recoil node.
        electron_quadrature: (panels, nodes per panel, energy nodes) for electron recoils: the ES
            integrand is smooth between the shell edges (panel boundaries), so fewer points suffice.
    """
    channels: list[Channel] = []
    n_variants = n_bins = -1
    for target in targets:
        mass = target.nucleus.mass
        for flavour in source.flavours:
            e_top = source.energy_range(flavour)[1]
            t_nodes, t_w = _panels([0.0, float(max_recoil(e_top, mass))], recoil_panels, recoil_nodes)
            e, t, w = _energy_points(source, flavour, t_nodes, t_w, mass, energy_nodes)
            resp = _response_at(nuclear_response, t)
            n_variants, n_bins = resp.shape[0], resp.shape[2]
            weights = target.count * fluence_per_cm2 * w[None, :, None] * resp
            channels.append(Channel("cevns", target, flavour, _frozen(e), _frozen(t), weights))
        if electron_response is None or target.element is None:
            continue
        from cevns_hf.physics.electron import SHELLS

        shell_edges = [b * 1e-3 for b, _ in SHELLS[target.element] if b * 1e-3 < electron_t_max]
        for flavour in source.flavours:
            e_top = source.energy_range(flavour)[1]
            t_hi = min(electron_t_max, float(es_max_recoil(e_top)))
            es_panels, es_nodes, es_energy = electron_quadrature
            t_nodes, t_w = _panels([0.0, *shell_edges, t_hi], es_panels, es_nodes)
            e, t, w = _energy_points(source, flavour, t_nodes, t_w, M_ELECTRON, es_energy)
            resp = _response_at(electron_response, t)
            weights = target.count * fluence_per_cm2 * w[None, :, None] * resp
            channels.append(Channel("es", target, flavour, _frozen(e), _frozen(t), weights))
    return RateEngine(tuple(channels), tuple(source.flavours), n_variants, n_bins, baseline_m)


def _frozen(arr: FloatArray) -> FloatArray:
    """A read-only contiguous copy (lets the physics functions memoise per quadrature array)."""
    out = np.array(arr, dtype=float)
    out.flags.writeable = False
    return out


def _response_at(response: EnergyResponse, t: FloatArray) -> FloatArray:
    """Evaluate a response once per distinct recoil energy and broadcast to all points."""
    unique, inverse = np.unique(t, return_inverse=True)
    return np.asarray(response(unique), dtype=float)[:, inverse.ravel(), :]


def reference_spectrum(
    *,
    model: PhysicsModel,
    source: Source,
    process: Process,
    target: Target,
    flavour: str,
    fluence_per_cm2: float,
    baseline_m: float,
    response: EnergyResponse,
    t_max: float | None = None,
    variant: int = 0,
    breakpoints: Sequence[float] = (),
) -> FloatArray:
    """Slow reference for :meth:`RateEngine.spectra`: nested adaptive ``scipy.integrate.quad``.

    Returns the expected counts per energy bin of one (process, target, flavour) for one response
    variant. Intended for tests; each call takes seconds.
    """
    mass = target.nucleus.mass if process == "cevns" else M_ELECTRON
    line = source.line_energy(flavour)
    e_lo, e_top = source.energy_range(flavour)
    t_end = float(max_recoil(e_top, mass)) if process == "cevns" else float(es_max_recoil(e_top))
    if t_max is not None:
        t_end = min(t_end, t_max)

    def xs(e: float, t: float) -> float:
        ea, ta = np.array([e]), np.array([t])
        if process == "cevns":
            value = model.cevns(ea, ta, target.nucleus, flavour)
        else:
            assert target.element is not None
            value = model.electron(ea, ta, target.element, flavour)
        return float(value[0] * np.asarray(model.flux_factor(flavour, ea, baseline_m)).ravel()[0])

    def inner(t: float) -> float:
        if line is not None:
            return xs(line, t)
        e_min = max(float(min_neutrino_energy(t, mass)), e_lo)
        if e_min >= e_top:
            return 0.0
        val, _ = integrate.quad(
            lambda e: float(source.spectrum_pdf(flavour, np.array([e]))[0]) * xs(e, t),
            e_min,
            e_top,
            epsabs=0,
            epsrel=1e-9,
        )
        return float(val)

    n_bins = np.asarray(response(np.array([0.5 * t_end])), dtype=float).shape[2]
    out = np.zeros(n_bins)
    points = [b for b in breakpoints if 0 < b < t_end] or None
    for i in range(n_bins):
        val, _ = integrate.quad(
            lambda t, i=i: float(np.asarray(response(np.array([t])))[variant, 0, i]) * inner(t),
            0.0,
            t_end,
            points=points,
            limit=400,
            epsabs=0,
            epsrel=1e-7,
        )
        out[i] = val
    return target.count * fluence_per_cm2 * out
