"""Weak mixing angle: sin^2(theta_W) free in g_V^p of CEvNS and in g_V of neutrino-electron scattering.

References: physics.md section 6.1; e.g. Cadeddu et al., PRD 102 (2020) 015030; the SM value 0.23857
(PDG 2024, MS-bar at Q -> 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cevns_hf.bsm.family import Family, Parameter, Polynomial
from cevns_hf.physics.constants import SIN2_THETA_W
from cevns_hf.physics.model import PhysicsModel, StandardModel

__all__ = ["FAMILY"]


def __dir__() -> list[str]:
    return __all__


def _model(values: Mapping[str, Any]) -> PhysicsModel:
    return replace(StandardModel(), sin2_theta_w=values["sin2_theta_w"])


FAMILY = Family(
    name="weak_mixing",
    description="weak mixing angle sin^2(theta_W) at Q -> 0 (CEvNS and ES)",
    parameters=(Parameter("sin2_theta_w", "", "low-energy weak mixing angle", sm=SIN2_THETA_W, lo=0.0, hi=1.0),),
    make_model=_model,
    polynomial=Polynomial(("sin2_theta_w",), 2),
    references=("PDG 2024 electroweak review", "Cadeddu et al., PRD 102 (2020) 015030"),
)
