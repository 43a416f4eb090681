"""A toy detector defined outside the package: 1 kg of CsI at 20 m from the SNS, flat 80 % efficiency.

It exists to show (and test) that a detector is one module plus a registration: nothing in the package
names it. Model: Cs-133 and I-127 recoils quenched with a constant factor 0.08 into keVee, no smearing,
four energy bins x four time bins (analytic pi-DAR arrival times), a flat steady-state background with a
5 % normalisation uncertainty, a 10 % flux normalisation and observed data equal to the rounded SM
expectation (an Asimov-like data set with integer counts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.detectors.base import ConfiguredDetector
from cevns_hf.detectors.engine import RateEngine, Target, build_engine
from cevns_hf.physics.constants import AVOGADRO
from cevns_hf.physics.model import PhysicsModel, StandardModel
from cevns_hf.physics.nuclei import CS133, I127
from cevns_hf.sources.sns_pidar import SOURCE, SNSPionDAR, arrival_time_fractions, fluence_per_cm2
from cevns_hf.templates.histograms import Axis, Sample, Templates


@dataclass(frozen=True)
class ToyConfig:
    mass_kg: float = 1.0
    baseline_m: float = 20.0
    efficiency: float = 0.8
    quenching: float = 0.08
    energy_edges: tuple[float, ...] = (0.5, 1.0, 1.5, 2.5, 4.0)  # keVee (6-50 keVnr)
    time_edges: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 6.0)  # us
    ssb_per_bin: float = 2.0
    sigma_flux: float = 0.10
    sigma_ssb: float = 0.05


@functools.lru_cache(maxsize=4)
def _engine(config: ToyConfig) -> tuple[RateEngine, FloatArray]:
    edges = np.asarray(config.energy_edges)

    def response(t_mev: FloatArray) -> FloatArray:
        eee = 1e3 * config.quenching * t_mev
        inside = (eee[:, None] >= edges[None, :-1]) & (eee[:, None] < edges[None, 1:])
        return (config.efficiency * inside.astype(float))[None, :, :]

    n_molecules = config.mass_kg * 1e3 / 259.809 * AVOGADRO
    engine = build_engine(
        source=SOURCE,
        targets=(Target("Cs133", n_molecules, CS133), Target("I127", n_molecules, I127)),
        fluence_per_cm2=fluence_per_cm2(pot=3.198e23, nu_per_pot=0.0848, baseline_m=config.baseline_m),
        baseline_m=config.baseline_m,
        nuclear_response=response,
        recoil_panels=48,
    )
    times = np.stack(
        [arrival_time_fractions(f, config.time_edges, pot_mean_us=0.475, pot_sigma_us=0.163) for f in SOURCE.flavours]
    )
    return engine, times


def _cevns(model: PhysicsModel, config: ToyConfig) -> Sample:
    engine, times = _engine(config)
    spectra = engine.spectra(model, "cevns")[..., 0, :, :]  # nominal response: (..., flavours, n_E)
    return Sample("cevns", np.einsum("...fi,fj->...ij", spectra, times), {"toy_flux": config.sigma_flux})


@dataclass(frozen=True)
class ToyCsI(ConfiguredDetector):
    config: ToyConfig = field(default_factory=ToyConfig)
    name: str = "toy_csi1kg"
    description: str = "toy: 1 kg CsI at 20 m, flat efficiency (test tree)"
    releases: tuple[str, ...] = ()
    source: SNSPionDAR = SOURCE

    def neutrino_samples(self, model: PhysicsModel) -> tuple[Sample, ...]:
        return (_cevns(model, self.config),)

    def templates(self, model: PhysicsModel | None = None) -> Templates:
        cevns = _cevns(model or StandardModel(), self.config)
        shape = cevns.nominal.shape
        ssb = Sample("ssb", np.full(shape, self.config.ssb_per_bin), {"toy_ssb": self.config.sigma_ssb})
        sm = _cevns(StandardModel(), self.config).nominal
        observed = np.round(sm + ssb.nominal)
        axes = (
            Axis("energy", "keVee", tuple(self.config.energy_edges)),
            Axis("time", "us", tuple(self.config.time_edges)),
        )
        return Templates(self.name, axes, (cevns, ssb), observed)


DETECTOR = ToyCsI()
