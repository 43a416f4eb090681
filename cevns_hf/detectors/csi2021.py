"""COHERENT CsI[Na], full data set (Akimov et al., PRL 129 (2022) 081801, arXiv:2110.07730).

Model:
    * SNS pi-DAR flux: analytic spectra (:mod:`cevns_hf.sources.sns_pidar`), 0.0848 nu / flavour / POT,
      3.198e23 POT, 19.3 m; arrival times from the release's convolved 2D flux (its time marginals,
      release ``csi2021-flux``), or optionally the analytic POT-trace model.
    * 14.6 kg CsI (259.809 g/mol): Cs-133 and I-127, one of each per molecule.
    * Nuclear recoils -> electron-equivalent energy with the release's scintillation-response polynomial
      (``scintRespCoefficients.txt``, nominal and two +-1 sigma systematic models); electron recoils are
      not quenched. PE = 13.35 PE/keVee x Eee, smeared with the gamma distribution
      P(x) = (a(1+b))^(1+b)/Gamma(1+b) x^b exp(-a(1+b)x), a = 0.0749/Eee, b = 9.56 Eee [keVee].
    * Energy efficiency a/(1+exp(-b(x-c))) + d in PE (``effCoefficients.txt``; nominal, two variants),
      clipped at zero; time efficiency 1 for t < 0.52 us and exp(-0.0494/us (t - 0.52 us)) after.
    * Region PE < 60, 0 <= t < 6 us; ``binning`` "paper" (the published 9 x 11, default) or "fine"
      (2-PE bins; 0.0625 us to 2 us, 0.25 us to 6 us: 30 x 48). Every template and the data follow it.
    * BRN and NIN: release energy PDFs (efficiency already applied) x time PDFs with the time
      efficiency, normalised to 18.4 and 5.6 events in the region.
    * Steady-state background (SSB), ``ssb_model``: "smooth" (default, :func:`smooth_ssb`): the
      anti-coincidence (AC) energy spectrum x a time shape eps_t(t) exp(-lambda t), lambda = 0 (flat steady
      state; the AC times carry the time efficiency: fitted, lambda = -0.015 +- 0.016 /us), normalised to
      the 1295 AC events of the region, alpha_3 = 1/sqrt(N_AC) = 2.78 %; "binned": the AC histogram
      itself with alpha_3 = 2.1 % (the model before; on fine bins its empty bins must be filled by CEvNS).
The *(config)* values come from analysis configurations published by COHERENT member groups
(``coherent-model.md``); every one of them is a field of :class:`CsI2021Config`.

Nuisance parameters (the alpha's of the reference chi-square, ``physics.md`` section 7):
alpha_0 flux x efficiency (11.45%, CEvNS and ES), alpha_1 BRN (25%), alpha_2 NIN (35%),
alpha_3 SSB (smooth: 1/sqrt(N_AC) = 2.78%; binned: 2.1%), alpha_4 quenching shape (release systematic
model), alpha_5 CEvNS-only normalisation (3.8%), alpha_6 beam timing (shift of all beam-related time PDFs),
alpha_7 energy efficiency shape (release variants). ``docs/model.md`` measures what each does to the fit.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.detectors import loaders
from cevns_hf.detectors.base import ConfiguredDetector
from cevns_hf.detectors.csi2021_ssb import (
    SSB_ENERGY_SHAPES,
    SSB_MODELS,
    SSB_TIME_SHAPES,
    energy_efficiency,
    steady_state,
    time_efficiency,
)
from cevns_hf.detectors.engine import RateEngine, Target, build_engine
from cevns_hf.detectors.export import RateResponse
from cevns_hf.detectors.response import bin_fine, gamma_smear, shifted_time_bins
from cevns_hf.exceptions import ConfigurationError, DataError
from cevns_hf.physics.constants import AVOGADRO
from cevns_hf.physics.model import PhysicsModel, StandardModel
from cevns_hf.physics.nuclei import CS133, I127
from cevns_hf.sources.sns_pidar import SOURCE, SNSPionDAR, arrival_time_fractions, fluence_per_cm2
from cevns_hf.templates.histograms import Axis, Sample, Templates

__all__ = [
    "BINNINGS",
    "DETECTOR",
    "FINE_ENERGY_EDGES",
    "FINE_TIME_EDGES",
    "PAPER_ENERGY_EDGES",
    "PAPER_TIME_EDGES",
    "CsI2021",
    "CsI2021Config",
    "CsI2021Setup",
    "neutrino_samples",
    "setup",
    "templates",
]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)


RELEASE = "csi2021"
FLUX_RELEASE = "csi2021-flux"


#: The published binning (coherent-model.md, "paper binning"): 9 PE x 11 time bins.
PAPER_ENERGY_EDGES: tuple[float, ...] = (0, 8, 12, 16, 20, 24, 32, 40, 50, 60)  # (config) PE
PAPER_TIME_EDGES: tuple[float, ...] = (0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 2, 4, 6)  # (config) us
#: A fine binning approaching an unbinned likelihood: 2-PE bins over 0-60 PE; 0.0625 us up to 2 us
#: (the beam-related signals), 0.25 us from 2 to 6 us: 30 x 48 bins.
FINE_ENERGY_EDGES: tuple[float, ...] = tuple(float(x) for x in range(0, 61, 2))
FINE_TIME_EDGES: tuple[float, ...] = tuple(0.0625 * k for k in range(32)) + tuple(2.0 + 0.25 * k for k in range(17))
#: binning name -> (PE edges, time edges [us])
BINNINGS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "paper": (PAPER_ENERGY_EDGES, PAPER_TIME_EDGES),
    "fine": (FINE_ENERGY_EDGES, FINE_TIME_EDGES),
}


def _choice(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        msg = f"{name} must be one of {', '.join(repr(v) for v in valid)}; got {value!r}"
        raise ConfigurationError(msg)


def _check_edges(name: str, edges: tuple[float, ...], lo: float, hi: float | None) -> None:
    arr = np.asarray(edges, dtype=float)
    if arr.ndim != 1 or arr.size < 2 or not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
        msg = f"{name} must be at least two strictly increasing finite edges; got {edges!r}"
        raise ConfigurationError(msg)
    if arr[0] < lo or (hi is not None and arr[-1] > hi):
        upper = "" if hi is None else f" and at most {hi:g}"
        msg = f"{name} must lie at or above {lo:g}{upper}; got {arr[0]:g}..{arr[-1]:g}"
        raise ConfigurationError(msg)


@dataclass(frozen=True)
class CsI2021Config:
    """Inputs of the CsI 2021 model; defaults from ``coherent-model.md`` (config = member-group configs).

    Binning: ``binning`` selects :data:`BINNINGS` ("paper" 9 x 11, "fine" 30 x 48); explicit
    ``energy_edges`` / ``time_edges`` override it (empty = those of ``binning``). Every template (CEvNS,
    ES, BRN, NIN, SSB) and the data follow the edges.

    Steady-state background: ``ssb_model`` "smooth" (default; :func:`smooth_ssb`) or "binned" (the
    anti-coincidence histogram itself, the model before this option). ``sigma_ssb`` None takes the
    model's value: 1/sqrt(N_AC) for "smooth" (the AC sample's statistical uncertainty, 2.78 % for the
    1295 AC events of the region), :data:`SIGMA_SSB_BINNED` (2.1 %, config) for "binned".
    """

    pot: float = 3.198e23  # (config) 13.99 GWhr
    nu_per_pot: float = 0.0848  # (config) per flavour
    baseline_m: float = 19.3  # (config), as in 2017
    mass_kg: float = 14.6  # (config)
    molar_mass_g: float = 259.809  # CsI: 132.905 + 126.904 g/mol
    #: (config) PE / keVee; the gamma smearing's a = 0.0749 / Eee is 1 / (light_yield Eee): mean PE = LY Eee
    light_yield: float = 13.35
    resolution_b: float = 9.56  # (config) gamma smearing shape 1 + b, b = resolution_b * Eee[keVee]
    time_eff_onset_us: float = 0.52  # (config)
    time_eff_decay_per_us: float = 0.0494  # (config)
    #: "paper" (9 x 11, the published binning) or "fine" (30 x 48)
    binning: str = "paper"
    #: PE edges; empty: those of ``binning``
    energy_edges: tuple[float, ...] = ()
    #: time edges [us]; empty: those of ``binning``
    time_edges: tuple[float, ...] = ()
    brn_events: float = 18.4  # (config) in the region
    nin_events: float = 5.6  # (config) in the region
    #: relative 1-sigma of the linear normalisations (reference analyses; physics.md section 7)
    sigma_flux_eff: float = 0.1145  # alpha_0
    sigma_brn: float = 0.25  # alpha_1
    sigma_nin: float = 0.35  # alpha_2
    #: alpha_3; None: 1/sqrt(N_AC) for the smooth SSB, 0.021 (config) for the binned one
    sigma_ssb: float | None = None
    sigma_cevns: float = 0.038  # alpha_5
    #: "smooth": AC energy spectrum x time shape fitted to the AC times; "binned": the AC histogram
    ssb_model: str = "smooth"
    #: smooth SSB time shape before the time efficiency: "flat" or "exponential" (slope fitted to the AC times)
    ssb_time: str = "flat"
    #: smooth SSB energy spectrum: "histogram" (AC counts per energy bin) or "fit" (:func:`fit_ssb_energy_spectrum`)
    ssb_energy: str = "histogram"
    #: release scintillation-response systematic model used for alpha_4 (0 or 1)
    quenching_model: int = 0
    #: 1-sigma beam-timing shift for alpha_6 [us] (assumption: 50 ns; see docs/model.md)
    timing_shift_us: float = 0.05
    #: "release": time marginals of the convolved SNS flux; "analytic": Gaussian POT trace model
    timing: str = "release"
    pot_mean_us: float = 0.475  # analytic timing: matches the release nu_mu marginal mean (0.501 us)
    pot_sigma_us: float = 0.163  # analytic timing: matches the release nu_mu marginal width (0.165 us)
    with_es: bool = True
    #: Gauss-Legendre settings of the rate engine
    quadrature: tuple[int, int, int] = field(default=(24, 8, 12))

    def __post_init__(self) -> None:
        if self.quenching_model not in (0, 1):
            msg = f"quenching_model must be 0 or 1 (the release's systematic models), got {self.quenching_model!r}"
            raise ConfigurationError(msg)
        _choice("timing", self.timing, ("release", "analytic"))
        _choice("binning", self.binning, tuple(BINNINGS))
        _choice("ssb_model", self.ssb_model, SSB_MODELS)
        _choice("ssb_time", self.ssb_time, SSB_TIME_SHAPES)
        _choice("ssb_energy", self.ssb_energy, SSB_ENERGY_SHAPES)
        if self.sigma_ssb is not None and not (np.isfinite(self.sigma_ssb) and self.sigma_ssb >= 0):
            msg = f"sigma_ssb must be a non-negative number or None; got {self.sigma_ssb!r}"
            raise ConfigurationError(msg)
        energy, time = BINNINGS[self.binning]
        # frozen: resolve the edges once so that every reader (and the setup cache key) sees them
        object.__setattr__(self, "energy_edges", tuple(float(x) for x in (self.energy_edges or energy)))
        object.__setattr__(self, "time_edges", tuple(float(x) for x in (self.time_edges or time)))
        _check_edges("energy_edges", self.energy_edges, 0.0, None)
        # the release's event lists stop at 6 us (shared/data/coherent/README.md)
        _check_edges("time_edges", self.time_edges, 0.0, 6.0)

    def replaced(self, **changes: Any) -> CsI2021Config:
        """A copy with ``changes``; edges that came from ``binning`` follow a new ``binning``.

        (``dataclasses.replace`` would carry the resolved edges of the old binning over.)
        """
        if "binning" in changes:
            energy, time = BINNINGS[self.binning]
            if "energy_edges" not in changes and self.energy_edges == tuple(float(x) for x in energy):
                changes["energy_edges"] = ()
            if "time_edges" not in changes and self.time_edges == tuple(float(x) for x in time):
                changes["time_edges"] = ()
        return dataclasses.replace(self, **changes)


def _eee_nuclear(coeffs: FloatArray, t_mev: FloatArray) -> FloatArray:
    """Scintillation response Eee [keVee] of a nuclear recoil T [MeV]: sum_k c_k T^k (release polynomial)."""
    powers = np.stack([t_mev, t_mev**2, t_mev**3, t_mev**4])
    return np.asarray(1e3 * np.tensordot(coeffs, powers, axes=1), dtype=float)


@dataclass(frozen=True)
class CsI2021Setup:
    """Everything about CsI 2021 that does not depend on the hypothesis.

    Energy-response variants: 0 nominal, 1/2 quenching +-1 sigma, 3/4 energy efficiency variants.
    Time variants: 0 nominal, 1/2 beam timing +-1 sigma.
    """

    config: CsI2021Config
    engine: RateEngine
    time_pdfs: FloatArray  # (3 time variants, 3 flavours, n_time)
    brn: tuple[FloatArray, FloatArray, FloatArray]  # nominal, timing up, timing down
    nin: tuple[FloatArray, FloatArray, FloatArray]
    ssb: FloatArray
    ssb_sigma: float  # alpha_3
    observed: FloatArray
    axes: tuple[Axis, Axis]


def _neutrino_time_pdfs(config: CsI2021Config) -> FloatArray:
    edges = np.asarray(config.time_edges)
    shifts = (0.0, config.timing_shift_us, -config.timing_shift_us)
    eff = time_efficiency(config)
    out = np.zeros((len(shifts), len(SOURCE.flavours), len(edges) - 1))
    if config.timing == "release":
        fine_edges, columns = loaders.csi2021_flux_time_marginals()
        for k, shift in enumerate(shifts):
            for f, flav in enumerate(SOURCE.flavours):
                out[k, f] = shifted_time_bins(fine_edges, columns[flav], edges, shift=shift, efficiency=eff)
        return out
    fine = np.arange(-1.0, 15.0 + 1e-9, 0.005)
    for f, flav in enumerate(SOURCE.flavours):
        probs = arrival_time_fractions(flav, fine, pot_mean_us=config.pot_mean_us, pot_sigma_us=config.pot_sigma_us)
        for k, shift in enumerate(shifts):
            out[k, f] = shifted_time_bins(fine, probs, edges, shift=shift, efficiency=eff)
    return out


def _neutron_background(
    config: CsI2021Config, pe_name: str, time_name: str, events: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    pe_edges, pe_pdf = loaders.csi2021_pdf(pe_name)
    t_edges, t_pdf = loaders.csi2021_pdf(time_name)
    e_binned = bin_fine(pe_pdf, pe_edges, np.asarray(config.energy_edges))
    eff = time_efficiency(config)
    shifts = (0.0, config.timing_shift_us, -config.timing_shift_us)
    t_binned = [
        shifted_time_bins(t_edges, t_pdf, np.asarray(config.time_edges), shift=s, efficiency=eff) for s in shifts
    ]
    norm = events / (e_binned.sum() * t_binned[0].sum())
    up, nominal_t, down = t_binned[1], t_binned[0], t_binned[2]
    return (norm * np.outer(e_binned, nominal_t), norm * np.outer(e_binned, up), norm * np.outer(e_binned, down))


@functools.lru_cache(maxsize=8)
def setup(config: CsI2021Config = CsI2021Config()) -> CsI2021Setup:
    """Load the release inputs and precompute the detector response (cached per configuration)."""
    scint = loaders.csi2021_coefficients("scintRespCoefficients.txt", expected_rows=5)
    effs = loaders.csi2021_coefficients("effCoefficients.txt", expected_rows=3)
    q_up, q_down = (1, 2) if config.quenching_model == 0 else (3, 4)
    quench_rows = (0, q_up, q_down, 0, 0)
    eff_rows = (0, 0, 0, 1, 2)
    pe_edges = np.asarray(config.energy_edges, dtype=float)
    fine = np.linspace(0.0, pe_edges[-1], round(pe_edges[-1] * 10) + 1)
    fine_centres = 0.5 * (fine[1:] + fine[:-1])
    eff_fine = np.stack([energy_efficiency(effs[r], fine_centres) for r in range(3)])

    def response(eee_of: Callable[[int], FloatArray]) -> FloatArray:
        smeared: dict[int, FloatArray] = {}
        out = []
        for v in range(len(quench_rows)):
            row = quench_rows[v]
            if row not in smeared:
                eee = np.clip(eee_of(row), 0.0, None)
                smeared[row] = gamma_smear(config.light_yield * eee, 1.0 + config.resolution_b * eee, fine)
            out.append(bin_fine(smeared[row] * eff_fine[eff_rows[v]][None, :], fine, pe_edges))
        return np.stack(out)

    def nuclear(t: FloatArray) -> FloatArray:
        return response(lambda row: _eee_nuclear(scint[row], t))

    def electron(t: FloatArray) -> FloatArray:
        # electron recoils are not quenched: the quenching variants equal the nominal response
        return response(lambda row: 1e3 * t)

    n_molecules = config.mass_kg * 1e3 / config.molar_mass_g * AVOGADRO
    targets = (Target("Cs133", n_molecules, CS133, "Cs"), Target("I127", n_molecules, I127, "I"))
    panels, nodes, e_nodes = config.quadrature
    # electron recoils beyond 3x the region's upper edge in keVee cannot reach it (gamma tail < 1e-6)
    t_e_max = 3.0 * pe_edges[-1] / config.light_yield * 1e-3
    engine = build_engine(
        source=SOURCE,
        targets=targets,
        fluence_per_cm2=fluence_per_cm2(pot=config.pot, nu_per_pot=config.nu_per_pot, baseline_m=config.baseline_m),
        baseline_m=config.baseline_m,
        nuclear_response=nuclear,
        electron_response=electron if config.with_es else None,
        electron_t_max=t_e_max,
        recoil_panels=panels,
        recoil_nodes=nodes,
        energy_nodes=e_nodes,
    )
    observed = loaders.csi2021_events("dataBeamOnC.txt", config.energy_edges, config.time_edges)
    ssb, ssb_sigma = steady_state(config)
    axes = (
        Axis("energy", "PE", tuple(map(float, config.energy_edges))),
        Axis("time", "us", tuple(map(float, config.time_edges))),
    )
    return CsI2021Setup(
        config=config,
        engine=engine,
        time_pdfs=_neutrino_time_pdfs(config),
        brn=_neutron_background(config, "brnPE.txt", "brnTrec.txt", config.brn_events),
        nin=_neutron_background(config, "ninPE.txt", "ninTrec.txt", config.nin_events),
        ssb=ssb,
        ssb_sigma=ssb_sigma,
        observed=observed,
        axes=axes,
    )


def _outer_sum(spectra: FloatArray, time_pdfs: FloatArray) -> FloatArray:
    """sum_f S_f(E) tau_f(t): (..., flavours, n_E) x (flavours, n_t) -> (..., n_E, n_t)."""
    return np.einsum("...fi,fj->...ij", spectra, time_pdfs)


def neutrino_samples(model: PhysicsModel, *, config: CsI2021Config | None = None) -> tuple[Sample, ...]:
    """The CEvNS (and ES) samples of a hypothesis, with their shape systematics.

    A model with (H, 1) parameter arrays gives samples whose histograms have a leading axis H (a grid).
    """
    return _neutrino_samples(model, config or CsI2021Config())[0]


def _neutrino_samples(model: PhysicsModel, cfg: CsI2021Config) -> tuple[tuple[Sample, ...], FloatArray]:
    """(samples, CEvNS energy spectra per variant and flavour) of a hypothesis."""
    st = setup(cfg)
    tau = st.time_pdfs

    def sample(name: str, s: FloatArray, norms: dict[str, float], quench: bool) -> Sample:
        s = np.moveaxis(s, -3, 0)  # variants first: (V, ..., flavours, n_E)
        shapes = {
            "alpha_6": (_outer_sum(s[0], tau[1]), _outer_sum(s[0], tau[2])),
            "alpha_7": (_outer_sum(s[3], tau[0]), _outer_sum(s[4], tau[0])),
        }
        if quench:
            shapes = {"alpha_4": (_outer_sum(s[1], tau[0]), _outer_sum(s[2], tau[0])), **shapes}
        return Sample(name, _outer_sum(s[0], tau[0]), norms, shapes)

    cevns_spectra = st.engine.spectra(model, "cevns")
    out = [sample("cevns", cevns_spectra, {"alpha_0": cfg.sigma_flux_eff, "alpha_5": cfg.sigma_cevns}, quench=True)]
    if cfg.with_es:
        out.append(sample("es", st.engine.spectra(model, "es"), {"alpha_0": cfg.sigma_flux_eff}, quench=False))
    if not np.all(np.isfinite(out[0].nominal)):
        msg = "the CsI 2021 CEvNS template is not finite; check the hypothesis parameters"
        raise DataError(msg)
    return tuple(out), cevns_spectra


def templates(model: PhysicsModel | None = None, *, config: CsI2021Config | None = None) -> Templates:
    """Templates of every CsI 2021 sample for a hypothesis (the SM by default)."""
    cfg = config or CsI2021Config()
    st = setup(cfg)
    mdl = model or StandardModel()
    neutrino, spectra = _neutrino_samples(mdl, cfg)
    samples = list(neutrino)
    spec0 = spectra[0]
    by_flavour: dict[str, FloatArray] = {
        flav: np.outer(spec0[f], st.time_pdfs[0, f]) for f, flav in enumerate(st.engine.flavours)
    }
    samples.append(Sample("brn", st.brn[0], {"alpha_1": cfg.sigma_brn}, {"alpha_6": (st.brn[1], st.brn[2])}))
    samples.append(Sample("nin", st.nin[0], {"alpha_2": cfg.sigma_nin}, {"alpha_6": (st.nin[1], st.nin[2])}))
    samples.append(Sample("ssb", st.ssb, {"alpha_3": st.ssb_sigma}))
    return Templates("csi2021", st.axes, tuple(samples), st.observed, by_flavour)


@dataclass(frozen=True)
class CsI2021(ConfiguredDetector):
    """COHERENT CsI[Na] 2021 as a :class:`~cevns_hf.detectors.base.Detector` (inputs: :class:`CsI2021Config`)."""

    config: CsI2021Config = field(default_factory=CsI2021Config)
    name: str = "csi2021"
    description: str = (
        "COHERENT CsI[Na] full data set (PRL 129 (2022) 081801), (PE, time) bins: paper 9 x 11 or fine 30 x 48"
    )
    releases: tuple[str, ...] = (RELEASE, FLUX_RELEASE)
    source: SNSPionDAR = SOURCE

    def templates(self, model: PhysicsModel | None = None) -> Templates:
        """:func:`templates` with this detector's configuration."""
        return templates(model, config=self.config)

    def neutrino_samples(self, model: PhysicsModel) -> tuple[Sample, ...]:
        """:func:`neutrino_samples` with this detector's configuration."""
        return neutrino_samples(model, config=self.config)

    def rate_response(self) -> RateResponse:
        """The rate engine, nominal arrival-time fractions and axes (:mod:`cevns_hf.detectors.export`)."""
        st = setup(self.config)
        return RateResponse.of(st.engine, st.time_pdfs[0], st.axes)


#: The registered CsI 2021 detector (default configuration).
DETECTOR = CsI2021()
