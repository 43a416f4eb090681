"""Target nuclei: masses, proton/neutron numbers and radii.

Sources:
    * Atomic masses: AME 2020 (Wang et al., Chin. Phys. C 45 (2021) 030003); nuclear mass = atomic mass
      minus Z electron masses (electron binding energies, < 0.3 MeV, are neglected: 2e-6 relative).
    * Charge radii: Fricke et al., At. Data Nucl. Data Tables 60 (1995) 177 (muonic atoms) for Cs-133 and
      I-127; Angeli & Marinova, At. Data Nucl. Data Tables 99 (2013) 69 for Ar-40.
    * Point-proton radius: R_p^2 = R_ch^2 - r_p^2 - (N/Z) r_n^2 with r_p^2 = 0.7071 fm^2 and
      r_n^2 = -0.1161 fm^2 (PDG 2024) -- the Darwin-Foldy and spin-orbit terms are neglected (< 0.01 fm).
    * Default neutron radii: Cs 5.01 fm, I 4.94 fm (upper ends of the Skyrme HF / RMF predictions collected
      by Cadeddu et al., PRD 102 (2020) 015030); Ar-40 3.44 fm (Payne et al., PRC 100 (2019) 061304,
      relativistic mean field). R_n is a fit parameter of the ``neutron_radius`` family.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.constants import AMU_MEV, M_ELECTRON

__all__ = ["AR40", "CS133", "I127", "NUCLEI", "Nucleus", "get_nucleus", "point_proton_radius"]


def __dir__() -> list[str]:
    return __all__


#: Proton and neutron charge radii squared [fm^2]; PDG 2024.
_RP2_PROTON = 0.8409**2
_RN2_NEUTRON = -0.1161


def point_proton_radius(charge_radius_fm: float, z: int, n: int) -> float:
    """Point-proton rms radius from the charge radius [fm]: R_p^2 = R_ch^2 - r_p^2 - (N/Z) r_n^2."""
    return float((charge_radius_fm**2 - _RP2_PROTON - (n / z) * _RN2_NEUTRON) ** 0.5)


@dataclass(frozen=True)
class Nucleus:
    """A target nucleus.

    Attributes:
        name: isotope label, e.g. ``"Cs133"``.
        z: proton number.
        n: neutron number.
        atomic_mass_u: atomic mass [u] (AME 2020).
        r_p: point-proton rms radius [fm].
        r_n: point-neutron rms radius [fm].
        spin: nuclear ground-state spin (for the optional axial term).
    """

    name: str
    z: int
    n: int
    atomic_mass_u: float
    r_p: float
    r_n: float
    spin: float = 0.0

    @property
    def a(self) -> int:
        """Mass number."""
        return self.z + self.n

    @property
    def mass(self) -> float:
        """Nuclear mass [MeV]."""
        return self.atomic_mass_u * AMU_MEV - self.z * M_ELECTRON

    def with_radii(self, *, r_p: float | None = None, r_n: float | None = None) -> Nucleus:
        """Copy with other proton / neutron radii [fm] (must be positive)."""
        for label, value in (("r_p", r_p), ("r_n", r_n)):
            if value is not None and not value > 0:
                msg = f"{label} of {self.name} must be a positive radius in fm, got {value!r}"
                raise ConfigurationError(msg)
        return replace(self, r_p=self.r_p if r_p is None else float(r_p), r_n=self.r_n if r_n is None else float(r_n))


CS133 = Nucleus("Cs133", 55, 78, 132.905451961, point_proton_radius(4.804, 55, 78), 5.01, spin=3.5)
I127 = Nucleus("I127", 53, 74, 126.904471, point_proton_radius(4.749, 53, 74), 4.94, spin=2.5)
AR40 = Nucleus("Ar40", 18, 22, 39.9623831, point_proton_radius(3.427, 18, 22), 3.44, spin=0.0)

NUCLEI: dict[str, Nucleus] = {nuc.name: nuc for nuc in (CS133, I127, AR40)}


def get_nucleus(name: str) -> Nucleus:
    """Look up a nucleus by name (``Cs133``, ``I127``, ``Ar40``)."""
    try:
        return NUCLEI[name]
    except KeyError:
        msg = f"unknown nucleus {name!r}; valid choices: {sorted(NUCLEI)}"
        raise ConfigurationError(msg) from None
