"""Physical constants, each with its source.

Natural units are used throughout the physics code: energies in MeV, lengths in fm (nuclear) or cm
(fluxes, cross sections), with explicit conversion factors below. Nothing else in the package hard-codes
a physical constant.
"""

from __future__ import annotations

import math

__all__ = [
    "ALPHA_EM",
    "AMU_MEV",
    "AVOGADRO",
    "GEV2_TO_CM2",
    "G_FERMI",
    "HBARC2_MEV2_CM2",
    "HBARC_MEV_FM",
    "MU_B_MEV_INV",
    "M_ELECTRON",
    "M_MUON",
    "M_PION",
    "M_W",
    "SIN2_THETA_W",
    "SPEED_OF_LIGHT_M_PER_US",
    "TAU_MUON_US",
    "TAU_PION_US",
]


def __dir__() -> list[str]:
    return __all__


#: Fermi constant [MeV^-2]; PDG 2024 (G_F = 1.1663788(6)e-5 GeV^-2).
G_FERMI = 1.1663788e-5 * 1e-6
#: Fine-structure constant at Q = 0; CODATA 2018 (1/137.035999084).
ALPHA_EM = 1.0 / 137.035999084
#: Electron mass [MeV]; CODATA 2018.
M_ELECTRON = 0.51099895
#: Muon mass [MeV]; CODATA 2018 / PDG 2024.
M_MUON = 105.6583755
#: Charged-pion mass [MeV]; PDG 2024.
M_PION = 139.57039
#: W-boson mass [MeV]; PDG 2024 average 80.3692 GeV.
M_W = 80369.2
#: Weak mixing angle sin^2(theta_W) in MS-bar at Q -> 0; PDG 2024 (Erler & Ferro-Hernandez 2018): 0.23857.
SIN2_THETA_W = 0.23857
#: hbar c [MeV fm]; CODATA 2018.
HBARC_MEV_FM = 197.3269804
#: (hbar c)^2 [GeV^2 cm^2 -> cm^2 per GeV^-2]; PDG 2024: 0.3893794e-27 GeV^2 cm^2.
GEV2_TO_CM2 = 0.3893794e-27
#: Atomic mass unit [MeV]; CODATA 2018.
AMU_MEV = 931.49410242
#: Avogadro constant [1/mol]; SI exact (2019).
AVOGADRO = 6.02214076e23
#: Bohr magneton e/(2 m_e) in natural units [MeV^-1].
MU_B_MEV_INV = math.sqrt(4.0 * math.pi * ALPHA_EM) / (2.0 * M_ELECTRON)
#: Speed of light [m/us]; SI exact.
SPEED_OF_LIGHT_M_PER_US = 299.792458
#: Muon lifetime [us]; PDG 2024 (2.1969811 us).
TAU_MUON_US = 2.1969811
#: Charged-pion lifetime [us]; PDG 2024 (26.033 ns).
TAU_PION_US = 0.026033
#: (hbar c)^2 [MeV^2 cm^2]: converts a cross section in MeV^-2 to cm^2; PDG 2024 (0.3893794e-27 GeV^2 cm^2).
HBARC2_MEV2_CM2 = GEV2_TO_CM2 * 1e6
