"""Published COHERENT numbers that the models are validated against (never used as inputs).

Sources:
    * CsI 2021: Akimov et al. (COHERENT), PRL 129 (2022) 081801, arXiv:2110.07730: SM prediction
      341 +- 11 (theory) +- 42 (experiment) CEvNS events; fit 306 +- 20.
    * LAr 2020: Akimov et al. (COHERENT), PRL 126 (2021) 012002, arXiv:2003.10630, and the release's
      ``LArParametersAnlA.yaml``: prediction 128 +- 17, best fit 159 +- 43.
    * CsI 2017: Akimov et al. (COHERENT), Science 357 (2017) 1123: prediction 173 +- 48, fit 134 +- 22.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FITTED_CEVNS", "PREDICTED_CEVNS"]


def __dir__() -> list[str]:
    return __all__


#: experiment -> (value, total uncertainty) of the predicted CEvNS events (CsI 2021: 11 (th) and 42 (exp)
#: added in quadrature).
PREDICTED_CEVNS: Final[dict[str, tuple[float, float]]] = {
    "csi2021": (341.0, (11.0**2 + 42.0**2) ** 0.5),
    "lar2020": (128.0, 17.0),
    "csi2017": (173.0, 48.0),
}
#: experiment -> (value, uncertainty) of the fitted CEvNS events.
FITTED_CEVNS: Final[dict[str, tuple[float, float]]] = {
    "csi2021": (306.0, 20.0),
    "lar2020": (159.0, 43.0),
    "csi2017": (134.0, 22.0),
}
