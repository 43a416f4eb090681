"""COHERENT CsI[Na], first observation of CEvNS (Akimov et al., Science 357 (2017) 1123, arXiv:1708.01294;
data release arXiv:1804.09459, Zenodo 10.5281/zenodo.1228631).

Model (every number from the release's ``coherent_parameters.yaml`` unless stated otherwise; each is a
field of :class:`CsI2017Config`, with its source):
    * SNS pi-DAR flux: analytic spectra (:mod:`cevns_hf.sources.sns_pidar`), 0.08 nu / flavour / POT,
      1.76e23 POT (Science paper: "1.76 x 10^23 protons on target" in 308.1 live days; the release gives
      the equivalent 7.47594 GWhr, used for the prompt-neutron background), 19.3 m.
    * 14.57 kg CsI (259.809 g/mol; the Science paper rounds it to 14.6 kg): Cs-133 and I-127, one of each per molecule.
    * Constant quenching factor 0.0878 +- 0.0166 and light yield 13.348 PE/keVee: the mean number of
      photoelectrons of a nuclear recoil T is mu = 13.348 x 0.0878 x T[keVnr] ~ 1.17 PE/keVnr.
    * Smearing: photoelectron statistics. The number n of PE is Poisson with mean mu; the integer n is
      counted in the 1-PE bin [n, n+1) (the convention of histogramming an integer count, under which the
      release's modified Heaviside -- 1/2 for 5 <= x < 6 -- halves exactly the 5-PE events). The other
      conventions are options of :attr:`CsI2017Config.smearing` and lower the prediction by 7-13%
      (numbers below): ``"poisson_upper"`` (n in [n-1, n), i.e. the yaml's "0.5 for the 1-PE
      bin" read literally), ``"poisson_centred"`` (n spread over [n-1/2, n+1/2): the mean of the
      reconstructed PE equals mu) and ``"gamma"`` (continuous gamma distribution, mean and variance mu).
    * Acceptance f(x) = a / (1 + exp(-k (x - x0))) H(x - 5), a = 0.6655, k = 0.4942, x0 = 10.8507, with
      the release's modified Heaviside H (0 below 5, 1/2 for 5 <= x < 6, 1 above), evaluated at the
      centres of 1-PE bins (x = m + 1/2 for the bin [m, m+1)) as the yaml prescribes; applied to CEvNS
      and to the prompt-neutron PE distribution.
    * Arrival times: the release's 0.5-us PDFs, ``arrivalTimePDF_promptNeutrinos.txt`` for nu_mu and
      ``arrivalTimePDF_delayedNeutrinos.txt`` for nu_e and anti-nu_mu. They cover 0-12 us (24 bins) and
      each already sums to 1 there (to 1e-15); they are renormalised to exactly 1 over 0-12 us, so the
      region keeps all prompt and 91.5% of the delayed neutrinos. The 0.4% of muon decays later than
      12 us are thereby folded into the 0-12 us window (negligible).
    * Region of interest, the Science paper's: 6 <= PE < 30 (the twelve 2-PE release bins with centres
      7..29) and 0 <= t < 6 us (the twelve 0.5-us bins with centres 0.25..5.75); 547 coincidence and
      405 anti-coincidence beam-on events. Any sub-grid of the release binning can be configured.
    * Backgrounds: prompt beam-related neutrons (BRN) from ``promptPDF.txt`` (counts per GWhr per 1-PE
      bin, before acceptance) x 7.47594 GWhr x acceptance, with the time shape of
      ``arrivalTimePDF_promptNeutrons.txt`` (renormalised over 0-12 us like the neutrino PDFs).
    * Steady-state background (SSB): the anti-coincidence (AC) beam-on data in the region (the AC window
      has the length of the coincidence window), smoothed by factorisation: SSB(E, t) = A(E) A(t) / N_AC
      with A(E), A(t) the AC projections and N_AC their total, so the total and both projections are the
      data's. The raw AC histogram (option ``ssb_template="data"``) has ~3 counts per bin; used as an
      expectation in a Poisson likelihood, its low fluctuations must be filled by the signal, which biases
      the fitted CEvNS up (207 +- 22 instead of 130 +- 23 events) and makes the background-only fit
      impossible (bins with data but zero expectation). The AC data are compatible with factorising
      (Poisson deviance 139 for 121 degrees of freedom). The SSB time shape is not flat (more events
      early in the window), hence taken from the data rather than assumed uniform.
    * Observed: the coincidence beam-on data. Neutrino-electron scattering is not modelled (with the
      engine's ES cross sections it gives ~1e-5 events in the region).

Nuisance parameters (names distinct from the alpha's of CsI 2021 and the beta's of LAr 2020):
    * csi2017_flux: 10% neutrino-flux normalisation of CEvNS (yaml ``neutrinosPerProton``, 0.08 +- 0.008).
    * csi2017_acceptance: 5% CEvNS normalisation (the Science paper's event-selection uncertainty).
    * csi2017_qf: CEvNS shape, the response rebuilt with QF +- 0.0166 through the engine's response variants.
    * csi2017_brn: 25% prompt-neutron normalisation (yaml ``promptNeutronNormalization``).
    * csi2017_ssb: SSB normalisation with the Poisson relative uncertainty 1/sqrt(N_AC) of the
      anti-coincidence count in the region (5.0% for the default region).
All but csi2017_qf are linear normalisations (1 + sigma theta), as in the other detector modules.

Published numbers (Science paper): SM prediction 173 +- 48 CEvNS events, fitted 134 +- 22, no-CEvNS
hypothesis rejected at 6.7 sigma. The default model predicts 165 events in the region (177 over the full
0-12 us window; 143, 154 and 154 in the region with the ``poisson_upper``, ``poisson_centred`` and
``gamma`` smearings). The maximum-likelihood fit of the default workspace gives 130 +- 23 events (131 with
every other smearing) and -2 Delta ln L = 39 (6.3 sigma) against no CEvNS (``tests/detectors/test_csi2017.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import special

from cevns_hf._typing import FloatArray
from cevns_hf.detectors import loaders
from cevns_hf.detectors.base import ConfiguredDetector
from cevns_hf.detectors.engine import RateEngine, Target, build_engine
from cevns_hf.detectors.export import RateResponse
from cevns_hf.detectors.response import bin_fine, gamma_smear
from cevns_hf.exceptions import ConfigurationError, DataError
from cevns_hf.physics.constants import AVOGADRO
from cevns_hf.physics.model import PhysicsModel, StandardModel
from cevns_hf.physics.nuclei import CS133, I127
from cevns_hf.sources.sns_pidar import SOURCE, SNSPionDAR, fluence_per_cm2
from cevns_hf.templates.histograms import Axis, Sample, Templates

__all__ = [
    "RELEASE_PE_EDGES",
    "RELEASE_TIME_EDGES",
    "SMEARINGS",
    "SSB_TEMPLATES",
    "CsI2017Config",
    "CsI2017Setup",
    "acceptance",
    "release_grid",
    "setup",
    "templates",
]


def __dir__() -> list[str]:
    return __all__


RELEASE = "csi2017"
#: Bin edges of the released data: 25 bins of 2 PE (centres 1..49) and 24 bins of 0.5 us (centres 0.25..11.75).
RELEASE_PE_EDGES: tuple[float, ...] = tuple(float(x) for x in range(0, 51, 2))
RELEASE_TIME_EDGES: tuple[float, ...] = tuple(0.5 * k for k in range(25))
#: Photoelectron-statistics models (see the module docstring).
SMEARINGS: tuple[str, ...] = ("poisson", "poisson_upper", "poisson_centred", "gamma")
#: Steady-state background templates: factorised anti-coincidence data, or the raw histogram.
SSB_TEMPLATES: tuple[str, ...] = ("factorised", "data")
#: Arrival-time PDF of each flavour: prompt nu_mu, delayed nu_e and anti-nu_mu.
#: Arrival-time PDFs of the release, for the prompt (pion decay) and delayed (muon decay) flavours.
_TIME_PDF_FILES = {"prompt": "arrivalTimePDF_promptNeutrinos.txt", "delayed": "arrivalTimePDF_delayedNeutrinos.txt"}


@dataclass(frozen=True)
class CsI2017Config:
    """Inputs of the CsI 2017 model; defaults from the release's ``coherent_parameters.yaml`` (yaml) and the
    Science paper (Akimov et al., Science 357 (2017) 1123)."""

    pot: float = 1.76e23  # Science paper: 1.76e23 protons on target in 308.1 live days
    exposure_gwhr: float = 7.47594  # yaml beamExposure [GW hr]: scales the prompt-neutron PDF
    nu_per_pot: float = 0.08  # yaml neutrinosPerProton, per flavour
    baseline_m: float = 19.3  # yaml distanceToTarget
    mass_kg: float = 14.57  # CsI[Na] crystal (Science paper: 14.6 kg)
    molar_mass_g: float = 259.809  # CsI: 132.905 + 126.904 g/mol
    quenching_factor: float = 0.0878  # yaml csiQF (constant)
    sigma_quenching: float = 0.0166  # yaml csiQF uncertainty: the csi2017_qf shape variants
    light_yield: float = 13.348  # yaml csiLightYield [PE / keVee]
    #: yaml acceptanceEfficiency: a / (1 + exp(-k (x - x0))) H(x - 5), x in PE
    acceptance_a: float = 0.6655
    acceptance_k: float = 0.4942
    acceptance_x0: float = 10.8507
    #: photoelectron statistics, one of :data:`SMEARINGS` (module docstring)
    smearing: str = "poisson"
    #: Science-paper region: 6 <= PE < 30, 0 <= t < 6 us, in the release's 2 PE x 0.5 us bins
    energy_edges: tuple[float, ...] = tuple(float(x) for x in range(6, 31, 2))  # PE
    time_edges: tuple[float, ...] = tuple(0.5 * k for k in range(13))  # us
    #: relative 1-sigma of the linear normalisations
    sigma_flux: float = 0.10  # yaml neutrinosPerProton: 0.08 +- 0.008
    sigma_acceptance: float = 0.05  # Science paper, Table 1: event selection 5%
    sigma_brn: float = 0.25  # yaml promptNeutronNormalization: 1 +- 0.25
    #: SSB normalisation; None: 1/sqrt(N_AC), N_AC = anti-coincidence beam-on events in the region
    sigma_ssb: float | None = None
    #: SSB template, one of :data:`SSB_TEMPLATES` (module docstring)
    ssb_template: str = "factorised"
    #: Gauss-Legendre settings of the rate engine
    quadrature: tuple[int, int, int] = field(default=(24, 8, 12))

    def __post_init__(self) -> None:
        if self.smearing not in SMEARINGS:
            msg = f"smearing must be one of {list(SMEARINGS)}, got {self.smearing!r}"
            raise ConfigurationError(msg)
        if self.ssb_template not in SSB_TEMPLATES:
            msg = f"ssb_template must be one of {list(SSB_TEMPLATES)}, got {self.ssb_template!r}"
            raise ConfigurationError(msg)
        _check_subgrid("energy_edges", self.energy_edges, RELEASE_PE_EDGES)
        _check_subgrid("time_edges", self.time_edges, RELEASE_TIME_EDGES)
        if not 0.0 <= self.sigma_quenching < self.quenching_factor:
            msg = (
                f"need 0 <= sigma_quenching < quenching_factor, got {self.sigma_quenching!r}, {self.quenching_factor!r}"
            )
            raise ConfigurationError(msg)
        positive = {
            "pot": self.pot,
            "exposure_gwhr": self.exposure_gwhr,
            "mass_kg": self.mass_kg,
            "light_yield": self.light_yield,
            "acceptance_a": self.acceptance_a,
        }
        for name, value in positive.items():
            if not value > 0:
                msg = f"{name} must be positive, got {value!r}"
                raise ConfigurationError(msg)
        sigmas = {"sigma_flux": self.sigma_flux, "sigma_acceptance": self.sigma_acceptance, "sigma_brn": self.sigma_brn}
        if self.sigma_ssb is not None:
            sigmas["sigma_ssb"] = self.sigma_ssb
        for name, value in sigmas.items():
            if not 0.0 <= value < 1.0:
                msg = f"{name} must be in [0, 1), got {value!r}"
                raise ConfigurationError(msg)


def _check_subgrid(name: str, edges: tuple[float, ...], grid: tuple[float, ...]) -> None:
    """The analysis edges must be increasing release edges (the data are only available binned)."""
    e = np.asarray(edges, dtype=float)
    on_grid = all(np.any(np.isclose(x, grid, rtol=0.0, atol=1e-9)) for x in e)
    if len(e) < 2 or not np.all(np.diff(e) > 0) or not on_grid:
        msg = f"{name} must be at least two increasing edges of the release binning {list(grid)}, got {list(edges)}"
        raise ConfigurationError(msg)


def acceptance(pe: npt.ArrayLike, config: CsI2017Config | None = None) -> FloatArray:
    """Release acceptance a / (1 + exp(-k (x - x0))) H(x - 5) at PE values ``pe``.

    H is the release's modified Heaviside step: 0 for x < 5, 1/2 for 5 <= x < 6, 1 for x >= 6
    (``coherent_parameters.yaml``, acceptanceEfficiency). The release evaluates it at 1-PE bin centres.
    """
    cfg = config or CsI2017Config()
    x = np.asarray(pe, dtype=float)
    step = np.where(x < 5.0, 0.0, np.where(x < 6.0, 0.5, 1.0))
    return np.asarray(
        cfg.acceptance_a / (1.0 + np.exp(-cfg.acceptance_k * (x - cfg.acceptance_x0))) * step, dtype=float
    )


def release_grid(name: str) -> FloatArray:
    """A release data file (``data_{coincidence,anticoincidence}_beam{On,Off}.txt``) as a 25 x 24 (PE, t) grid.

    Rows of the files are (PE bin centre, time bin centre [us], counts). The reference copies differ in
    their header lines (the beam-off files have a column-name line, the beam-on files none), so a file is
    read without a header first and, if its first line is not numeric, again skipping that line.
    """
    try:
        table = loaders.load_table(RELEASE, name, delimiter=",", header=False)
    except DataError:
        table = loaders.load_table(RELEASE, name, delimiter=",", header=True)
    n_pe, n_t = len(RELEASE_PE_EDGES) - 1, len(RELEASE_TIME_EDGES) - 1
    if table.shape != (n_pe * n_t, 3):
        msg = f"{RELEASE}/{name}: expected {n_pe * n_t} rows of (PE, t, counts), found shape {table.shape}"
        raise DataError(msg)
    i = np.rint((table[:, 0] - 1.0) / 2.0).astype(int)
    j = np.rint((table[:, 1] - 0.25) / 0.5).astype(int)
    on_centres = np.allclose(table[:, 0], 2.0 * i + 1.0) and np.allclose(table[:, 1], 0.5 * j + 0.25)
    inside = np.all((i >= 0) & (i < n_pe) & (j >= 0) & (j < n_t))
    if not (on_centres and inside) or len(set(zip(i.tolist(), j.tolist(), strict=True))) != n_pe * n_t:
        msg = f"{RELEASE}/{name}: bin centres are not the 2-PE x 0.5-us grid (each cell once)"
        raise DataError(msg)
    if np.any(table[:, 2] < 0):
        msg = f"{RELEASE}/{name}: negative counts"
        raise DataError(msg)
    grid = np.zeros((n_pe, n_t))
    grid[i, j] = table[:, 2]
    return grid


def _rebin(grid: FloatArray, energy_edges: tuple[float, ...], time_edges: tuple[float, ...]) -> FloatArray:
    """Sum a release-binned (PE, t) grid into analysis bins (their edges are release edges: exact)."""
    by_time = bin_fine(grid, np.asarray(RELEASE_TIME_EDGES), np.asarray(time_edges))
    return bin_fine(by_time.T, np.asarray(RELEASE_PE_EDGES), np.asarray(energy_edges)).T


def _factorised(counts: FloatArray) -> FloatArray:
    """Rank-one smoothing A(E) A(t) / N of a (PE, t) histogram: keeps the total and both projections."""
    total = float(counts.sum())
    if total <= 0:
        return np.zeros_like(counts)
    return np.outer(counts.sum(axis=1), counts.sum(axis=0)) / total


def _time_pdf(name: str, time_edges: tuple[float, ...]) -> FloatArray:
    """A release arrival-time PDF (0.5-us bins over 0-12 us), renormalised to 1 there, in the analysis bins."""
    table = loaders.load_table(RELEASE, name, delimiter=",")
    centres = 0.5 * (np.asarray(RELEASE_TIME_EDGES[1:]) + np.asarray(RELEASE_TIME_EDGES[:-1]))
    if table.shape != (len(centres), 2) or not np.allclose(table[:, 0], centres):
        msg = f"{RELEASE}/{name}: expected 24 rows (time bin centre 0.25..11.75 us, probability)"
        raise DataError(msg)
    probs = np.asarray(table[:, 1], dtype=float)
    if np.any(probs < 0) or not probs.sum() > 0:
        msg = f"{RELEASE}/{name}: probabilities must be non-negative with a positive sum"
        raise DataError(msg)
    return bin_fine(probs / probs.sum(), np.asarray(RELEASE_TIME_EDGES), np.asarray(time_edges))


def _prompt_neutrons(config: CsI2017Config) -> FloatArray:
    """Prompt-neutron (BRN) template: exposure x ``promptPDF.txt`` x acceptance, times its time PDF."""
    table = loaders.load_table(RELEASE, "promptPDF.txt", delimiter=",")
    centres = np.arange(0.5, 50.0, 1.0)
    if table.shape != (len(centres), 2) or not np.allclose(table[:, 0], centres):
        msg = f"{RELEASE}/promptPDF.txt: expected 50 rows (1-PE bin centre 0.5..49.5, counts per GWhr)"
        raise DataError(msg)
    per_pe = config.exposure_gwhr * table[:, 1] * acceptance(centres, config)
    energy = bin_fine(per_pe, np.arange(0.0, 51.0), np.asarray(config.energy_edges))
    return np.outer(energy, _time_pdf("arrivalTimePDF_promptNeutrons.txt", config.time_edges))


def _pe_probabilities(mu: FloatArray, smearing: str, n_fine: int) -> FloatArray:
    """Probabilities of the reconstructed PE in the 1-PE bins [m, m+1), m < n_fine, shape (len(mu), n_fine)."""
    if smearing == "gamma":
        # continuous gamma with mean mu and variance mu (shape mu, scale 1)
        return gamma_smear(mu, mu, np.arange(0.0, n_fine + 1.0))
    n = np.arange(n_fine + 1, dtype=float)[None, :]
    m = np.clip(mu, 0.0, None)[:, None]
    pmf = np.exp(special.xlogy(n, m) - m - special.gammaln(n + 1.0))  # Poisson P(n | mu), n = 0..n_fine
    if smearing == "poisson":  # n counted in [n, n+1)
        return np.asarray(pmf[:, :n_fine], dtype=float)
    if smearing == "poisson_upper":  # n counted in [n-1, n)
        return np.asarray(pmf[:, 1:], dtype=float)
    return np.asarray(0.5 * (pmf[:, :n_fine] + pmf[:, 1:]), dtype=float)  # n spread over [n-1/2, n+1/2)


@dataclass(frozen=True)
class CsI2017Setup:
    """Everything about CsI 2017 that does not depend on the hypothesis.

    Energy-response variants of the engine: 0 nominal, 1/2 quenching factor +-1 sigma.
    """

    config: CsI2017Config
    engine: RateEngine
    time_pdfs: FloatArray  # (flavours, n_time)
    brn: FloatArray
    ssb: FloatArray  # the SSB template (:attr:`CsI2017Config.ssb_template`)
    anticoincidence: FloatArray  # the anti-coincidence beam-on counts in the analysis bins
    observed: FloatArray  # the coincidence beam-on counts in the analysis bins
    sigma_ssb: float
    axes: tuple[Axis, Axis]


@functools.lru_cache(maxsize=8)
def setup(config: CsI2017Config = CsI2017Config()) -> CsI2017Setup:
    """Load the release inputs and precompute the detector response (cached per configuration).

    Args:
        config: the model inputs.

    Returns:
        The rate engine (response variants: nominal, QF + 1 sigma, QF - 1 sigma), the per-flavour time
        PDFs, the background templates and the binned data of the configured region.

    Raises:
        ConfigurationError: when the region holds no anti-coincidence event and ``sigma_ssb`` is not given.
        DataError: when a release file is missing, corrupt or not in the expected layout.
    """
    pe_edges = np.asarray(config.energy_edges, dtype=float)
    n_fine = round(float(pe_edges[-1]))
    fine_edges = np.arange(0.0, n_fine + 1.0)
    acc_fine = acceptance(fine_edges[:-1] + 0.5, config)
    qfs = (
        config.quenching_factor,
        config.quenching_factor + config.sigma_quenching,
        config.quenching_factor - config.sigma_quenching,
    )

    def nuclear(t: FloatArray) -> FloatArray:
        out = []
        for qf in qfs:
            mu = config.light_yield * qf * 1e3 * t  # mean PE: LY [PE/keVee] x QF x T [keVnr]
            probs = _pe_probabilities(mu, config.smearing, n_fine) * acc_fine[None, :]
            out.append(bin_fine(probs, fine_edges, pe_edges))
        return np.stack(out)

    n_molecules = config.mass_kg * 1e3 / config.molar_mass_g * AVOGADRO
    targets = (Target("Cs133", n_molecules, CS133, "Cs"), Target("I127", n_molecules, I127, "I"))
    panels, nodes, e_nodes = config.quadrature
    engine = build_engine(
        source=SOURCE,
        targets=targets,
        fluence_per_cm2=fluence_per_cm2(pot=config.pot, nu_per_pot=config.nu_per_pot, baseline_m=config.baseline_m),
        baseline_m=config.baseline_m,
        nuclear_response=nuclear,
        recoil_panels=panels,
        recoil_nodes=nodes,
        energy_nodes=e_nodes,
    )
    time_pdfs = np.stack(
        [
            _time_pdf(_TIME_PDF_FILES["prompt" if SOURCE.is_prompt(flav) else "delayed"], config.time_edges)
            for flav in SOURCE.flavours
        ]
    )
    observed = _rebin(release_grid("data_coincidence_beamOn.txt"), config.energy_edges, config.time_edges)
    anti = _rebin(release_grid("data_anticoincidence_beamOn.txt"), config.energy_edges, config.time_edges)
    n_ac = float(anti.sum())
    ssb = _factorised(anti) if config.ssb_template == "factorised" else anti
    if config.sigma_ssb is None and n_ac < 1:
        msg = "no anti-coincidence events in the region: set CsI2017Config.sigma_ssb explicitly"
        raise ConfigurationError(msg)
    sigma_ssb = config.sigma_ssb if config.sigma_ssb is not None else 1.0 / float(np.sqrt(n_ac))
    axes = (
        Axis("energy", "PE", tuple(map(float, config.energy_edges))),
        Axis("time", "us", tuple(map(float, config.time_edges))),
    )
    return CsI2017Setup(
        config=config,
        engine=engine,
        time_pdfs=time_pdfs,
        brn=_prompt_neutrons(config),
        ssb=ssb,
        anticoincidence=anti,
        observed=observed,
        sigma_ssb=sigma_ssb,
        axes=axes,
    )


def _outer_sum(spectra: FloatArray, time_pdfs: FloatArray) -> FloatArray:
    """sum_f S_f(E) tau_f(t): (..., flavours, n_E) x (flavours, n_t) -> (..., n_E, n_t)."""
    return np.einsum("...fi,fj->...ij", spectra, time_pdfs)


def neutrino_samples(model: PhysicsModel, *, config: CsI2017Config | None = None) -> tuple[Sample, ...]:
    """The CEvNS sample of a hypothesis with its systematics (no ES in the 2017 model).

    A model with (H, 1) parameter arrays gives histograms with a leading axis H (a grid of hypotheses).
    """
    cfg = config or CsI2017Config()
    return (_cevns_sample(setup(cfg), model, cfg)[0],)


def _cevns_sample(st: CsI2017Setup, model: PhysicsModel, cfg: CsI2017Config) -> tuple[Sample, FloatArray]:
    """(CEvNS sample, energy spectra per variant and flavour) of a hypothesis."""
    tau = st.time_pdfs
    spec = np.moveaxis(st.engine.spectra(model, "cevns"), -3, 0)  # (3 variants, ..., flavours, n_E)
    cevns = Sample(
        "cevns",
        _outer_sum(spec[0], tau),
        {"csi2017_flux": cfg.sigma_flux, "csi2017_acceptance": cfg.sigma_acceptance},
        {"csi2017_qf": (_outer_sum(spec[1], tau), _outer_sum(spec[2], tau))},
    )
    if not np.all(np.isfinite(cevns.nominal)):
        msg = "the CsI 2017 CEvNS template is not finite; check the hypothesis parameters"
        raise DataError(msg)
    return cevns, spec


def templates(model: PhysicsModel | None = None, *, config: CsI2017Config | None = None) -> Templates:
    """Templates of every CsI 2017 sample for a hypothesis (the SM by default).

    Args:
        model: the physics hypothesis (default :class:`~cevns_hf.physics.model.StandardModel`).
        config: the model inputs (default :class:`CsI2017Config`).

    Returns:
        Samples ``cevns`` (signal), ``brn`` and ``ssb`` in (PE, time) bins, and the coincidence beam-on data.

    Raises:
        DataError: when the CEvNS template is not finite (an invalid hypothesis).
    """
    cfg = config or CsI2017Config()
    st = setup(cfg)
    mdl = model or StandardModel()
    tau = st.time_pdfs
    cevns, spec = _cevns_sample(st, mdl, cfg)
    by_flavour: dict[str, FloatArray] = {
        flav: np.outer(spec[0, f], tau[f]) for f, flav in enumerate(st.engine.flavours)
    }
    samples = (
        cevns,
        Sample("brn", st.brn, {"csi2017_brn": cfg.sigma_brn}),
        Sample("ssb", st.ssb, {"csi2017_ssb": st.sigma_ssb}),
    )
    return Templates("csi2017", st.axes, samples, st.observed, by_flavour)


@dataclass(frozen=True)
class CsI2017(ConfiguredDetector):
    """COHERENT CsI[Na] 2017 as a :class:`~cevns_hf.detectors.base.Detector` (inputs: :class:`CsI2017Config`)."""

    config: CsI2017Config = field(default_factory=CsI2017Config)
    name: str = "csi2017"
    description: str = "COHERENT CsI[Na] first observation (Science 357 (2017) 1123), (PE, time) bins"
    releases: tuple[str, ...] = (RELEASE,)
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
        return RateResponse.of(st.engine, st.time_pdfs, st.axes)


#: The registered CsI 2017 detector (default configuration).
DETECTOR = CsI2017()
