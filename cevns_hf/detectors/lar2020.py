"""COHERENT CENNS-10 liquid argon, Analysis A (Akimov et al., PRL 126 (2021) 012002, arXiv:2003.10630;
data release arXiv:2006.12659, Zenodo 10.5281/zenodo.3903810).

Model (every number from the release's ``LArParametersAnlA.yaml``):
    * 13.8e22 POT, 0.09 nu / flavour / POT, 27.5 m; 24.4 kg fiducial argon (natural argon counted as
      Ar-40, 99.6% of it; molar mass 39.948 g/mol, IUPAC 2021).
    * Quenching Eee = T (0.246 + 0.00078 T[keVnr]); Gaussian resolution sigma/E = 0.58/sqrt(E[keVee]);
      acceptance ``CENNS10AnlAEfficiency.txt`` in reconstructed keVee (its last value above 39.75 keVee).
    * Arrival times: Gaussian POT trace (mean 440 ns, width 150 ns) convolved with the pion and muon decays.
    * Binning: 12 energy (0-120 keVee) x 10 time (-0.1-4.9 us) bins, or the full 12 x 8 x 10 with F90;
      in 3D our CEvNS template is distributed over F90 as the release's CEvNS template is.
    * Backgrounds and shape systematics: the release templates (prompt BRN, delayed BRN, steady state).

Nuisance parameters (the beta's of the reference chi-square, ``physics.md`` section 7):
beta_0 CEvNS normalisation (17/128), beta_1 CEvNS F90 shape, beta_2 CEvNS timing mean (one-sided,
symmetrised), beta_3 SSB (25/3154), beta_4 prompt-BRN normalisation (160/497), beta_5 BRN energy shape,
beta_6 BRN timing mean, beta_7 BRN timing width (one-sided, symmetrised), beta_8 delayed-BRN
normalisation (33/33). Normalisation uncertainties are the release's predicted-yield uncertainties.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.detectors import loaders
from cevns_hf.detectors.base import ConfiguredDetector
from cevns_hf.detectors.engine import RateEngine, Target, build_engine
from cevns_hf.detectors.export import RateResponse
from cevns_hf.detectors.response import bin_fine, gaussian_smear
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.constants import AVOGADRO
from cevns_hf.physics.model import PhysicsModel, StandardModel
from cevns_hf.physics.nuclei import AR40
from cevns_hf.sources.sns_pidar import SOURCE, SNSPionDAR, arrival_time_fractions, fluence_per_cm2
from cevns_hf.templates.histograms import Axis, Sample, Templates

__all__ = [
    "DETECTOR",
    "LAr2020",
    "LAr2020Config",
    "LAr2020Setup",
    "neutrino_samples",
    "release_cevns",
    "setup",
    "templates",
]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True)
class LAr2020Config:
    """Inputs of the LAr 2020 model (defaults: the release's ``LArParametersAnlA.yaml``)."""

    pot: float = 13.8e22
    nu_per_pot: float = 0.09
    baseline_m: float = 27.5
    mass_kg: float = 24.4
    molar_mass_g: float = 39.948  # natural argon, IUPAC 2021
    qf_a: float = 0.246
    qf_b_per_kevnr: float = 0.00078
    resolution: float = 0.58  # sigma/E = resolution / sqrt(E[keVee])
    pot_mean_us: float = 0.44
    pot_sigma_us: float = 0.15
    energy_edges: tuple[float, ...] = tuple(float(x) for x in range(0, 121, 10))  # keVee
    f90_edges: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
    time_edges: tuple[float, ...] = tuple(round(-0.1 + 0.5 * k, 10) for k in range(11))  # us
    #: True: the full 12 x 8 x 10 (energy, F90, time) layout; False: the 12 x 10 projection
    use_f90: bool = False
    #: "model": our CEvNS template (F90 distributed as in the release); "release": the release's 3D CEvNS
    #: template reweighted by our hypothesis / SM ratio in (energy, time)
    cevns_template: str = "model"
    sigma_cevns: float = 17.0 / 128.0  # beta_0
    sigma_ssb: float = 25.0 / 3154.0  # beta_3
    sigma_brn: float = 160.0 / 497.0  # beta_4
    sigma_dbrn: float = 33.0 / 33.0  # beta_8
    quadrature: tuple[int, int, int] = (24, 8, 12)

    def __post_init__(self) -> None:
        if self.cevns_template not in ("model", "release"):
            msg = f"cevns_template must be 'model' or 'release', got {self.cevns_template!r}"
            raise ConfigurationError(msg)
        if len(self.energy_edges) != 13 or len(self.time_edges) != 11 or len(self.f90_edges) != 9:
            msg = "the LAr 2020 binning is fixed by the release: 12 energy x 8 F90 x 10 time bins"
            raise ConfigurationError(msg)


@dataclass(frozen=True)
class LAr2020Setup:
    """Hypothesis-independent parts of the LAr 2020 model."""

    config: LAr2020Config
    engine: RateEngine
    time_pdfs: FloatArray  # (flavours, n_time)
    f90_given_et: FloatArray  # (n_E, n_F90, n_t): p(F90 | E, t) of the release CEvNS template
    release: dict[str, FloatArray]  # release 3D templates and data
    axes: tuple[Axis, ...]


_RELEASE_FILES = {
    "cevns": "cevnspdf.txt",
    "cevns_f90_up": "cevnspdf+1sigF90.txt",
    "cevns_f90_down": "cevnspdf-1sigF90.txt",
    "cevns_timing": "cevnspdfCEvNSTimingMeanSyst.txt",
    "brn": "brnpdf.txt",
    "brn_energy_up": "brnpdf+1sigEnergy.txt",
    "brn_energy_down": "brnpdf-1sigEnergy.txt",
    "brn_timing_up": "brnpdf+1sigBRNTimingMean.txt",
    "brn_timing_down": "brnpdf-1sigBRNTimingMean.txt",
    "brn_width": "brnpdfBRNTimingWidthSyst.txt",
    "dbrn": "delbrnpdf.txt",
    "ssb": "bkgpdf.txt",
    "data": "datanobkgsub.txt",
}


def _f90_conditional(cevns3d: FloatArray) -> FloatArray:
    """p(F90 | E, t) of a 3D template; falls back to p(F90 | E), then to p(F90), where a slice is empty."""
    total = cevns3d.sum(axis=1, keepdims=True)
    by_e = cevns3d.sum(axis=2, keepdims=True)
    by_e_total = by_e.sum(axis=1, keepdims=True)
    overall = cevns3d.sum(axis=(0, 2))
    overall = overall / overall.sum()
    p_e = np.where(by_e_total > 0, by_e / np.where(by_e_total > 0, by_e_total, 1.0), overall[None, :, None])
    return np.where(total > 0, cevns3d / np.where(total > 0, total, 1.0), p_e)


@functools.lru_cache(maxsize=8)
def setup(config: LAr2020Config = LAr2020Config()) -> LAr2020Setup:
    """Load the release and precompute the detector response (cached per configuration)."""
    keVee, acceptance = loaders.lar2020_acceptance()
    e_edges = np.asarray(config.energy_edges, dtype=float)
    fine = np.linspace(0.0, e_edges[-1], round(e_edges[-1] * 10) + 1)
    centres = 0.5 * (fine[1:] + fine[:-1])
    acc_fine = np.interp(centres, keVee, acceptance, left=0.0, right=float(acceptance[-1]))

    def nuclear(t: FloatArray) -> FloatArray:
        t_kev = 1e3 * t
        eee = t_kev * (config.qf_a + config.qf_b_per_kevnr * t_kev)
        sigma = config.resolution * np.sqrt(np.clip(eee, 0.0, None))
        probs = gaussian_smear(eee, sigma, fine) * acc_fine[None, :]
        return bin_fine(probs, fine, e_edges)[None, :, :]

    n_atoms = config.mass_kg * 1e3 / config.molar_mass_g * AVOGADRO
    panels, nodes, e_nodes = config.quadrature
    engine = build_engine(
        source=SOURCE,
        targets=(Target("Ar40", n_atoms, AR40, None),),
        fluence_per_cm2=fluence_per_cm2(pot=config.pot, nu_per_pot=config.nu_per_pot, baseline_m=config.baseline_m),
        baseline_m=config.baseline_m,
        nuclear_response=nuclear,
        recoil_panels=panels,
        recoil_nodes=nodes,
        energy_nodes=e_nodes,
    )
    t_edges = np.asarray(config.time_edges)
    time_pdfs = np.stack(
        [
            arrival_time_fractions(f, t_edges, pot_mean_us=config.pot_mean_us, pot_sigma_us=config.pot_sigma_us)
            for f in SOURCE.flavours
        ]
    )
    release = {key: loaders.lar2020_grid(name) for key, name in _RELEASE_FILES.items()}
    axes: tuple[Axis, ...] = (Axis("energy", "keVee", tuple(map(float, config.energy_edges))),)
    if config.use_f90:
        axes += (Axis("f90", "", tuple(map(float, config.f90_edges))),)
    axes += (Axis("time", "us", tuple(map(float, config.time_edges))),)
    return LAr2020Setup(config, engine, time_pdfs, _f90_conditional(release["cevns"]), release, axes)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den where den > 0, else 1 (a fractional-difference template keeps empty bins unchanged)."""
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)


def _cevns_3d(model: PhysicsModel, cfg: LAr2020Config) -> tuple[FloatArray, FloatArray]:
    """(CEvNS in energy x F90 x time, its split by flavour in energy x time); leading grid axes allowed."""
    st = setup(cfg)
    spec = np.moveaxis(st.engine.spectra(model, "cevns"), -3, 0)[0]  # (..., flavours, n_E)
    by_flavour = np.einsum("...fi,fj->...fij", spec, st.time_pdfs)
    ours2d = by_flavour.sum(axis=-3)
    if cfg.cevns_template == "release":
        sm2d = _sm_cevns_2d(cfg)
        ratio = _ratio(ours2d, np.broadcast_to(sm2d, ours2d.shape))
        return st.release["cevns"] * ratio[..., :, None, :], by_flavour
    return ours2d[..., :, None, :] * st.f90_given_et, by_flavour


@functools.lru_cache(maxsize=8)
def _sm_cevns_2d(cfg: LAr2020Config) -> FloatArray:
    st = setup(cfg)
    spec = st.engine.spectra(StandardModel(), "cevns")[0]
    return np.einsum("fi,fj->ij", spec, st.time_pdfs)


def neutrino_samples(model: PhysicsModel, *, config: LAr2020Config | None = None) -> tuple[Sample, ...]:
    """The CEvNS sample of a hypothesis with its shape systematics (the release's, as fractional changes).

    With ``config.cevns_template == "release"`` the release's 3D CEvNS template is reweighted by our
    hypothesis/SM ratio in (energy, time), keeping the release's normalisation and F90 modelling; with
    ``"model"`` (default) our own template is distributed over F90 as the release's is. A model with (H, 1)
    parameter arrays gives histograms with a leading axis H.
    """
    cfg = config or LAr2020Config()
    return _neutrino_samples(_cevns_3d(model, cfg)[0], cfg)


def _neutrino_samples(base: FloatArray, cfg: LAr2020Config) -> tuple[Sample, ...]:
    """The CEvNS sample (with shape systematics) from the 3D CEvNS template ``base``."""
    rel = setup(cfg).release

    def layout(h3: FloatArray) -> FloatArray:
        return h3 if cfg.use_f90 else h3.sum(axis=-2)

    f90_up = layout(base * _ratio(rel["cevns_f90_up"], rel["cevns"]))
    f90_down = layout(base * _ratio(rel["cevns_f90_down"], rel["cevns"]))
    timing = layout(base * (_ratio(rel["cevns_timing"], rel["cevns"]) - 1.0))
    cevns = layout(base)
    shapes = {"beta_1": (f90_up, f90_down), "beta_2": (cevns + timing, cevns - timing)}
    return (Sample("cevns", cevns, {"beta_0": cfg.sigma_cevns}, shapes),)


def templates(model: PhysicsModel | None = None, *, config: LAr2020Config | None = None) -> Templates:
    """Templates of every LAr 2020 sample for a hypothesis (the SM by default)."""
    cfg = config or LAr2020Config()
    st = setup(cfg)
    mdl = model or StandardModel()
    rel = st.release
    base, flavour_2d = _cevns_3d(mdl, cfg)
    (cevns,) = _neutrino_samples(base, cfg)
    share = _ratio(flavour_2d, np.broadcast_to(flavour_2d.sum(axis=0), flavour_2d.shape))
    total_2d = base.sum(axis=-2)
    by_flavour: dict[str, FloatArray] = {}
    flavours = st.engine.flavours
    for f, flav in enumerate(flavours):
        part = total_2d * np.where(flavour_2d.sum(axis=0) > 0, share[f], 1.0 / len(flavours))
        by_flavour[flav] = part[:, None, :] * _ratio(base, total_2d[:, None, :]) if cfg.use_f90 else part

    def layout(h3: FloatArray) -> FloatArray:
        return h3 if cfg.use_f90 else h3.sum(axis=1)

    brn = layout(rel["brn"])
    width = layout(rel["brn_width"]) - brn
    samples = (
        cevns,
        Sample("ssb", layout(rel["ssb"]), {"beta_3": cfg.sigma_ssb}),
        Sample(
            "brn",
            brn,
            {"beta_4": cfg.sigma_brn},
            {
                "beta_5": (layout(rel["brn_energy_up"]), layout(rel["brn_energy_down"])),
                "beta_6": (layout(rel["brn_timing_up"]), layout(rel["brn_timing_down"])),
                "beta_7": (brn + width, brn - width),
            },
        ),
        Sample("dbrn", layout(rel["dbrn"]), {"beta_8": cfg.sigma_dbrn}),
    )
    return Templates("lar2020", st.axes, samples, layout(rel["data"]), by_flavour)


def release_cevns(config: LAr2020Config | None = None) -> FloatArray:
    """The release's own CEvNS template in the configured layout (for comparisons)."""
    cfg = config or LAr2020Config()
    h3 = setup(cfg).release["cevns"]
    return h3 if cfg.use_f90 else h3.sum(axis=1)


@dataclass(frozen=True)
class LAr2020(ConfiguredDetector):
    """COHERENT CENNS-10 liquid argon 2020 as a :class:`~cevns_hf.detectors.base.Detector`
    (inputs: :class:`LAr2020Config`; ``configure(use_f90=True)`` for the 12 x 8 x 10 layout with F90)."""

    config: LAr2020Config = field(default_factory=LAr2020Config)
    name: str = "lar2020"
    description: str = "COHERENT CENNS-10 liquid argon, analysis A (PRL 126 (2021) 012002), 12 x 10 (energy, time)"
    releases: tuple[str, ...] = ("lar2020",)
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


#: The registered LAr 2020 detector (default configuration).
DETECTOR = LAr2020()
