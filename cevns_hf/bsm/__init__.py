"""BSM hypothesis families, one module each, and their registry.

Adding a family: write ``cevns_hf/bsm/<family>.py`` defining ``FAMILY`` (a
:class:`cevns_hf.bsm.family.Family`) and add its module name to :data:`_MODULES`.
"""

from __future__ import annotations

import importlib

from cevns_hf.bsm.family import Family, sm_family

__all__ = ["FAMILIES"]


def __dir__() -> list[str]:
    return __all__


_MODULES = (
    "weak_mixing",
    "neutron_radius",
    "nsi",
    "ngi",
    "light_vector",
    "light_scalar",
    "magnetic_moment",
    "charge_radius",
    "millicharge",
    "sterile",
    "dipole_portal",
)


def _load() -> dict[str, Family]:
    families = {"sm": sm_family()}
    for name in _MODULES:
        family: Family = importlib.import_module(f"{__name__}.{name}").FAMILY
        families[family.name] = family
    return families


#: family name -> :class:`~cevns_hf.bsm.family.Family`
FAMILIES: dict[str, Family] = _load()
