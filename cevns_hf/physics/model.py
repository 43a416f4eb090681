"""The physics hypothesis seen by the rate engine.

A *model* answers three questions for the rate engine: the CEvNS cross section on a nucleus, the
neutrino-electron cross section on an atom, and the flux factor (oscillation probability) of a flavour at
a baseline. The Standard Model is :class:`StandardModel`; BSM families provide the same three methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cevns_hf._typing import FloatArray
from cevns_hf.physics.cevns import cevns_dxs_dt
from cevns_hf.physics.constants import SIN2_THETA_W
from cevns_hf.physics.electron import es_dxs_dte
from cevns_hf.physics.form_factors import get_form_factor
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["PhysicsModel", "StandardModel"]


def __dir__() -> list[str]:
    return __all__


@runtime_checkable
class PhysicsModel(Protocol):
    """What the rate engine needs from a hypothesis (energies in MeV, cross sections in cm^2/MeV)."""

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """d sigma / dT of CEvNS."""
        ...

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """d sigma / dT_e of neutrino-electron scattering per atom."""
        ...

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> FloatArray | float:
        """Multiplicative flux factor (survival probability); 1 in the SM."""
        ...


@dataclass(frozen=True)
class StandardModel:
    """The Standard Model with its inputs exposed.

    Attributes:
        sin2_theta_w: low-energy weak mixing angle (PDG 2024 MS-bar value by default).
        form_factor: nuclear form factor name (see :mod:`cevns_hf.physics.form_factors`).
        radiative: flavour-dependent radiative corrections to g_V^p (Erler & Su 2013).
    """

    sin2_theta_w: float = SIN2_THETA_W
    form_factor: str = "helm"
    radiative: bool = False

    def __post_init__(self) -> None:
        get_form_factor(self.form_factor)  # validate the name early

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """SM CEvNS cross section, :func:`cevns_hf.physics.cevns.cevns_dxs_dt`."""
        return cevns_dxs_dt(
            e_nu,
            t_recoil,
            nucleus,
            flavour=flavour,
            sin2_theta_w=self.sin2_theta_w,
            form_factor=self.form_factor,
            radiative=self.radiative,
        )

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM ES cross section, :func:`cevns_hf.physics.electron.es_dxs_dte`."""
        return es_dxs_dte(e_nu, t_e, element, flavour=flavour, sin2_theta_w=self.sin2_theta_w)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation in the SM at these baselines."""
        return 1.0
