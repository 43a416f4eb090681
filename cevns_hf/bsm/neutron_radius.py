"""Neutron rms radii of Cs-133, I-127 and Ar-40 as free parameters of the neutron form factor.

References: physics.md section 6.2; Cadeddu et al., PRL 120 (2018) 072501 and PRD 102 (2020) 015030.
``r_n`` sets a common Cs/I radius (it may not be combined with ``r_n_cs`` / ``r_n_i``). The SM values
are the package defaults (:mod:`cevns_hf.physics.nuclei`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, HypothesisError, Parameter
from cevns_hf.physics.form_factors import HELM_SKIN_FM
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127, Nucleus

__all__ = ["FAMILY", "HELM_MIN_RADIUS_FM", "NeutronRadiusModel"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True)
class NeutronRadiusModel:
    """The SM with other neutron radii [fm] per nucleus name (``Cs133``, ``I127``, ``Ar40``)."""

    radii: Mapping[str, float]
    sm: StandardModel = field(default_factory=StandardModel)

    def _nucleus(self, nucleus: Nucleus) -> Nucleus:
        r_n = self.radii.get(nucleus.name)
        if r_n is None:
            return nucleus
        if np.ndim(r_n) > 0:  # the form factor takes one radius: a grid is evaluated point by point
            msg = "the neutron-radius model takes one radius per nucleus, not an array"
            raise TypeError(msg)
        return nucleus.with_radii(r_n=float(r_n))

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """SM CEvNS with the neutron radius of this hypothesis."""
        return self.sm.cevns(e_nu, t_recoil, self._nucleus(nucleus), flavour)

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM ES (unchanged)."""
        return self.sm.electron(e_nu, t_e, element, flavour)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


#: The smallest neutron rms radius the Helm form factor takes: R0^2 = r^2 - 5 s^2 ... > 0 needs r > sqrt(3) s
#: (s = :data:`~cevns_hf.physics.form_factors.HELM_SKIN_FM`), 1.559 fm; a common radius r_n in (0, 1.559]
#: cannot be evaluated, so the declared range of r_n starts there (0 stays: "use r_n_cs and r_n_i").
HELM_MIN_RADIUS_FM = float(np.sqrt(3.0) * HELM_SKIN_FM)


def _check(values: Mapping[str, Any]) -> None:
    common_given = np.any(np.asarray(values["r_n"]) != 0.0)
    split_given = np.any(np.asarray(values["r_n_cs"]) != CS133.r_n) or np.any(np.asarray(values["r_n_i"]) != I127.r_n)
    if common_given and split_given:
        msg = "give either r_n (common Cs/I radius) or r_n_cs / r_n_i, not both"
        raise HypothesisError(msg)


def _model(values: Mapping[str, Any]) -> NeutronRadiusModel:
    common = values["r_n"]
    cs = common if common != 0.0 else values["r_n_cs"]
    iod = common if common != 0.0 else values["r_n_i"]
    return NeutronRadiusModel({"Cs133": cs, "I127": iod, "Ar40": values["r_n_ar"]})


FAMILY = Family(
    name="neutron_radius",
    description="neutron rms radii of Cs, I and Ar [fm]",
    parameters=(
        Parameter("r_n_cs", "fm", "Cs-133 neutron rms radius", sm=CS133.r_n, lo=2.0, hi=8.0, lo_open=True),
        Parameter("r_n_i", "fm", "I-127 neutron rms radius", sm=I127.r_n, lo=2.0, hi=8.0, lo_open=True),
        Parameter("r_n_ar", "fm", "Ar-40 neutron rms radius", sm=AR40.r_n, lo=1.6, hi=6.0, lo_open=True),
        Parameter(
            "r_n",
            "fm",
            "common Cs/I neutron radius (0: use r_n_cs and r_n_i)",
            sm=0.0,
            lo=HELM_MIN_RADIUS_FM,
            hi=8.0,
            lo_open=True,
            off=0.0,
        ),
    ),
    make_model=_model,
    references=("Cadeddu et al., PRL 120 (2018) 072501", "Cadeddu et al., PRD 102 (2020) 015030"),
    check=_check,
)
