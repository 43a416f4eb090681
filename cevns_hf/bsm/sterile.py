r"""Active-sterile neutrino oscillations (3+1) at short baseline: a flux factor, not a cross section.

CEvNS is flavour blind in the Standard Model, so oscillations among the active flavours leave the rate
unchanged; only the disappearance into the sterile state does not. The active survival probability
(two-flavour short-baseline limit of the 3+1 scheme) is

.. math::
    P_{\nu_a\to\nu_a}(E, L) = 1 - \sin^2 2\theta_{aa}\,
        \sin^2\!\left(\frac{\Delta m^2_{41} L}{4E}\right),\qquad
    \sin^2 2\theta_{aa} = 4|U_{a4}|^2\left(1 - |U_{a4}|^2\right),

with :math:`\Delta m^2_{41} L / (4E) = 1.267\,\Delta m^2_{41}[\mathrm{eV}^2]\,L[\mathrm{m}]/E[\mathrm{MeV}]`
(the coefficient is computed from :data:`~cevns_hf.physics.constants.HBARC_MEV_FM`). The nu_e flux uses
:math:`|U_{e4}|^2`; the prompt nu_mu and the delayed anti-nu_mu use :math:`|U_{\mu 4}|^2` (CPT: the
antineutrino disappearance probability equals the neutrino one). Both cross sections (CEvNS and ES) are
the Standard Model's.

*Baseline averaging.* The SNS target (the neutrino production region) and the detectors have a finite
size, roughly 0.5 m each, so the detector sees a spread of baselines around the nominal one the rate
engine passes. :class:`SterileModel` averages :math:`\sin^2(\Delta m^2 L / 4E)` over that spread
analytically: with :math:`k = \Delta m^2/(4E)` and :math:`\langle\sin^2 kL\rangle = [1 - \langle\cos 2kL
\rangle]/2`,

.. math::
    \text{uniform on } [L_0 - w, L_0 + w]:\ \langle\cos 2kL\rangle = \cos(2kL_0)\,\frac{\sin 2kw}{2kw},
    \qquad \text{Gaussian of width } \sigma:\ \langle\cos 2kL\rangle = \cos(2kL_0)\,e^{-2k^2\sigma^2},

so fast oscillations (large :math:`\Delta m^2_{41}`) average to :math:`P = 1 - \sin^2 2\theta_{aa}/2`.
The default is a uniform spread of +-0.5 m (``baseline_spread="uniform"``, ``baseline_width_m=0.5``);
``"none"`` evaluates the oscillation at the nominal baseline only.

The rate is linear in :math:`\sin^2 2\theta_{ee}` and :math:`\sin^2 2\theta_{\mu\mu}` at fixed
:math:`\Delta m^2_{41}` (the linear POIs of :data:`FAMILY`).

Strictly, a flavour-blind process sees :math:`1 - P(\nu_a\to\nu_s)`, not :math:`P(\nu_a\to\nu_a)`:
active-to-active appearance is not a loss. The two coincide when only one of :math:`|U_{e4}|^2`,
:math:`|U_{\mu4}|^2` is non-zero; :class:`SterileModel` offers the exact form as ``flavour_blind=True``
(default ``False``: the :math:`P_{aa}` parametrisation above).

References:
    * physics.md sections 4 and 6.10; the 3+1 short-baseline formulas, e.g. C. Giunti & T. Lasserre,
      Ann. Rev. Nucl. Part. Sci. 69 (2019) 163 (arXiv:1901.08330); S. Gariazzo, C. Giunti, M. Laveder,
      Y. F. Li, J. Phys. G 43 (2016) 033001.
    * CEvNS as a sterile-neutrino probe at a pi-DAR source: e.g. C. Blanco, D. Hooper, P. Machado,
      PRD 101 (2020) 075051 (arXiv:1901.06834).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, HypothesisError, LinearPOI, Parameter, Polynomial
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.constants import HBARC_MEV_FM
from cevns_hf.physics.flavours import lepton_flavour
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["FAMILY", "OSCILLATION_PHASE", "SterileModel", "disappearance_amplitude"]


def __dir__() -> list[str]:
    return __all__


#: Delta m^2 L / (4 E) per (eV^2 m / MeV): 1e-12 MeV^2 / (4 hbar c [MeV m]) = 1.26693 (the usual "1.267").
OSCILLATION_PHASE = 1e-12 / (4.0 * HBARC_MEV_FM * 1e-15)

BaselineSpread = Literal["none", "uniform", "gaussian"]
_SPREADS: tuple[str, ...] = ("none", "uniform", "gaussian")


def disappearance_amplitude(u_sq: Any) -> Any:
    r""":math:`\sin^2 2\theta_{aa} = 4|U_{a4}|^2(1 - |U_{a4}|^2)` (broadcasts over arrays)."""
    return 4.0 * u_sq * (1.0 - u_sq)


def _mixing_from_amplitude(x: float) -> float:
    r"""The smaller root :math:`|U_{a4}|^2 = (1 - \sqrt{1 - x})/2` of :math:`4u(1-u) = x`, for x in [0, 1]."""
    if not (0.0 <= x <= 1.0 + 1e-12):
        msg = f"sin^2(2 theta) = {x!r} is outside its physical range [0, 1]"
        raise HypothesisError(msg)
    return float((1.0 - np.sqrt(max(0.0, 1.0 - x))) / 2.0)


@dataclass(frozen=True)
class SterileModel:
    r"""The SM cross sections with 3+1 short-baseline disappearance of the active flavours.

    Parameter values may be floats or numpy arrays of shape (H, 1) (a grid of H hypotheses); the flux
    factor then has shape (H, n_points).

    Attributes:
        dm41_ev2: :math:`\Delta m^2_{41}` [eV^2].
        ue4_sq: :math:`|U_{e4}|^2`.
        umu4_sq: :math:`|U_{\mu 4}|^2`.
        baseline_spread: distribution of the true baseline around the nominal one: ``"uniform"`` on
            [L - w, L + w], ``"gaussian"`` of standard deviation w, or ``"none"`` (w ignored).
        baseline_width_m: w [m] (half-width for ``"uniform"``, sigma for ``"gaussian"``); the default
            0.5 m reflects the ~0.5 m extent of the SNS target region and of the detectors.
        flavour_blind: ``False`` (default): the flux factor is the survival probability
            :math:`P_{aa}` above (the parametrisation of the brief and of most COHERENT sterile fits,
            additive and linear in each :math:`\sin^2 2\theta_{aa}`). ``True``: the factor is
            :math:`1 - P_{as} = \sum_{b\,active} P_{ab}`, with
            :math:`P_{as} = 4|U_{a4}|^2|U_{s4}|^2\sin^2(\Delta m^2_{41}L/4E)` and
            :math:`|U_{s4}|^2 = 1 - |U_{e4}|^2 - |U_{\mu 4}|^2` (:math:`|U_{\tau 4}| = 0`): active-to-active
            appearance (e.g. nu_mu -> nu_e) is not a loss for a flavour-blind cross section. The two agree
            exactly when only one of ``ue4_sq``, ``umu4_sq`` is non-zero; with both, ``True`` removes
            :math:`4|U_{e4}|^2|U_{\mu4}|^2\sin^2(\ldots)` of disappearance. (ES is not flavour blind, but its
            CsI rate is ~1e-4 events.)
        sm: the Standard Model giving the cross sections.
    """

    dm41_ev2: Any = 1.0
    ue4_sq: Any = 0.0
    umu4_sq: Any = 0.0
    baseline_spread: BaselineSpread = "uniform"
    baseline_width_m: float = 0.5
    flavour_blind: bool = False
    sm: StandardModel = field(default_factory=StandardModel)

    def __post_init__(self) -> None:
        if self.baseline_spread not in _SPREADS:
            msg = f"baseline_spread must be one of {list(_SPREADS)}, got {self.baseline_spread!r}"
            raise ConfigurationError(msg)
        if not (np.isfinite(self.baseline_width_m) and self.baseline_width_m >= 0.0):
            msg = f"baseline_width_m must be a finite width >= 0 in metres, got {self.baseline_width_m!r}"
            raise ConfigurationError(msg)

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """SM CEvNS (oscillations act on the flux only)."""
        return self.sm.cevns(e_nu, t_recoil, nucleus, flavour)

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM neutrino-electron scattering (oscillations act on the flux only)."""
        return self.sm.electron(e_nu, t_e, element, flavour)

    def mean_sin2_phase(self, e_nu: FloatArray, baseline_m: float) -> FloatArray:
        r"""Baseline-averaged :math:`\langle\sin^2(\Delta m^2_{41} L / 4E)\rangle` (broadcast shape).

        Args:
            e_nu: neutrino energies [MeV] (> 0; the result is 1/2 at E <= 0, the fully averaged value).
            baseline_m: nominal baseline L_0 [m].
        """
        e = np.asarray(e_nu, dtype=float)
        positive = e > 0.0
        safe_e = np.where(positive, e, 1.0)
        k = OSCILLATION_PHASE * np.asarray(self.dm41_ev2, dtype=float) / safe_e  # rad per metre
        mean_cos = np.cos(2.0 * k * baseline_m)
        w = self.baseline_width_m
        if self.baseline_spread == "uniform":
            mean_cos = mean_cos * np.sinc(2.0 * k * w / np.pi)  # numpy: sinc(x) = sin(pi x) / (pi x)
        elif self.baseline_spread == "gaussian":
            mean_cos = mean_cos * np.exp(-2.0 * (k * w) ** 2)
        return np.where(positive, 0.5 * (1.0 - mean_cos), 0.5)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> FloatArray:
        r"""Active survival probability :math:`1 - \sin^2 2\theta_{aa}\langle\sin^2(\Delta m^2_{41}L/4E)\rangle`.

        With ``flavour_blind=True`` the amplitude :math:`\sin^2 2\theta_{aa}` is replaced by
        :math:`4|U_{a4}|^2|U_{s4}|^2` (the active fraction :math:`1 - P_{as}`; see the class attributes).

        Args:
            flavour: ``nu_e`` (uses |U_e4|^2), ``nu_mu`` or ``nu_mu_bar`` (use |U_mu4|^2).
            e_nu: neutrino energies [MeV], shape (n_points,).
            baseline_m: nominal source-detector distance [m].

        Returns:
            Shape (n_points,) for scalar parameters, (H, n_points) for (H, 1) parameter arrays; exactly 1
            where the mixing is zero.
        """
        u_sq = np.asarray(self.ue4_sq if lepton_flavour(flavour) == "e" else self.umu4_sq, dtype=float)
        if self.flavour_blind:
            u_s4_sq = 1.0 - np.asarray(self.ue4_sq, dtype=float) - np.asarray(self.umu4_sq, dtype=float)
            amplitude = 4.0 * u_sq * u_s4_sq
        else:
            amplitude = disappearance_amplitude(u_sq)
        return np.asarray(1.0 - amplitude * self.mean_sin2_phase(e_nu, baseline_m), dtype=float)


def _check(values: Mapping[str, Any]) -> None:
    total = np.asarray(values["ue4_sq"], dtype=float) + np.asarray(values["umu4_sq"], dtype=float)
    if np.any(total > 1.0):
        msg = (
            f"ue4_sq + umu4_sq = {total.max():g} exceeds 1 (unitarity of the 4x4 mixing matrix: "
            "|U_e4|^2 + |U_mu4|^2 + |U_tau4|^2 + |U_s4|^2 = 1); expected ue4_sq, umu4_sq in [0, 1] with "
            "ue4_sq + umu4_sq <= 1"
        )
        raise HypothesisError(msg)


def _model(values: Mapping[str, Any]) -> SterileModel:
    return SterileModel(dm41_ev2=values["dm41_ev2"], ue4_sq=values["ue4_sq"], umu4_sq=values["umu4_sq"])


FAMILY = Family(
    name="sterile",
    description="3+1 active-sterile oscillations (disappearance of nu_e, nu_mu, anti-nu_mu)",
    parameters=(
        Parameter("dm41_ev2", "eV^2", "mass-squared splitting Delta m^2_41", sm=1.0, lo=0.0, hi=1e4),
        Parameter("ue4_sq", "", "active-sterile mixing |U_e4|^2", sm=0.0, lo=0.0, hi=1.0),
        Parameter("umu4_sq", "", "active-sterile mixing |U_mu4|^2", sm=0.0, lo=0.0, hi=1.0),
    ),
    make_model=_model,
    polynomial=Polynomial(("ue4_sq", "umu4_sq"), 2),
    references=(
        "C. Giunti, T. Lasserre, Ann. Rev. Nucl. Part. Sci. 69 (2019) 163",
        "C. Blanco, D. Hooper, P. Machado, PRD 101 (2020) 075051",
    ),
    linear_pois=(
        LinearPOI(
            "sin2_2theta_ee",
            "",
            "ue4_sq",
            to_poi=disappearance_amplitude,
            from_poi=_mixing_from_amplitude,
            fixed=("dm41_ev2",),
        ),
        LinearPOI(
            "sin2_2theta_mumu",
            "",
            "umu4_sq",
            to_poi=disappearance_amplitude,
            from_poi=_mixing_from_amplitude,
            fixed=("dm41_ev2",),
        ),
    ),
    check=_check,
)
