r"""The detector response as a file: fold any cross section (or recoil spectrum) into the analysis bins.

For every process (CEvNS on a nucleus, ES on an atom), target and flavour the rate engine
(:mod:`cevns_hf.detectors.engine`) holds quadrature points :math:`(E_p, T_p)` and weights
:math:`W_{v,p,i}` (exposure, flux spectrum, quadrature weight and energy response, for every response
variant :math:`v`; :math:`v = 0` is nominal) such that the expected events per reconstructed-energy bin are

.. math::
    N_{v,i} = \sum_p \frac{d\sigma}{dT}(E_p, T_p)\, W_{v,p,i},

and the (energy, time) template is :math:`\sum_f N_{f,i}\, \tau_f(t_j)` with the flavour's arrival-time
fractions :math:`\tau_f`. :func:`export_response` writes these arrays (``.npz``, with a JSON manifest);
:func:`fold` applies them to a user's cross section (any physics model: the points cover the kinematically
allowed (E, T) region of the source's spectra).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.detectors.base import Detector
from cevns_hf.detectors.engine import RateEngine
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.io.atomic import atomic_write_bytes
from cevns_hf.templates.histograms import Axis

__all__ = ["RateResponse", "export_response", "fold", "response_of"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True, eq=False)
class RateResponse:
    """What a detector's neutrino templates are made of.

    Attributes:
        engine: the rate engine (quadrature points and response weights per process, target and flavour).
        time_pdfs: (flavours, n_time) arrival-time fractions per time bin (nominal), flavours as the engine's.
        energy_axis: the reconstructed-energy axis.
        time_axis: the time axis.
    """

    engine: RateEngine
    time_pdfs: FloatArray
    energy_axis: Axis
    time_axis: Axis

    @classmethod
    def of(cls, engine: RateEngine, time_pdfs: FloatArray, axes: Sequence[Axis]) -> RateResponse:
        """From a detector set-up: its engine, nominal (flavours, n_time) fractions and axes (by name)."""
        energy = next(a for a in axes if a.name == "energy")
        time = next(a for a in axes if a.name == "time")
        return cls(engine, np.asarray(time_pdfs, dtype=float), energy, time)


def response_of(detector: Detector) -> RateResponse:
    """The detector's :class:`RateResponse` (detectors built on the rate engine provide ``rate_response()``)."""
    method = getattr(detector, "rate_response", None)
    if not callable(method):
        msg = f"detector {detector.name!r} does not expose its rate response (no rate_response() method)"
        raise ConfigurationError(msg)
    response: RateResponse = method()
    return response


def fold(
    response: RateResponse, xs: Callable[[FloatArray, FloatArray, str, str, str], FloatArray], process: str = "cevns"
) -> FloatArray:
    """Expected (energy, time) events of a cross section, folded through the response (nominal variant).

    Args:
        response: the detector's response.
        xs: ``xs(e_nu, t_recoil, target_label, flavour, process)`` -> d sigma / dT [cm^2/MeV] at the points.
        process: ``"cevns"`` or ``"es"``.

    Returns:
        (n_energy, n_time) expected events.
    """
    flavours = response.engine.flavours
    spectra = np.zeros((len(flavours), response.engine.n_bins))
    for ch in response.engine.channels:
        if ch.process != process:
            continue
        values = np.asarray(xs(ch.e_nu, ch.t_recoil, ch.target.label, ch.flavour, process), dtype=float)
        spectra[flavours.index(ch.flavour)] += values @ ch.weights[0]
    return np.asarray(np.einsum("fi,fj->ij", spectra, response.time_pdfs), dtype=float)


def export_response(detector: Detector, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the detector's response (every channel's points and weights, time PDFs, axes) to an ``.npz``.

    Keys: ``<process>/<target>/<flavour>/{e_nu, t_recoil, weights}`` (weights: variants x points x energy
    bins), ``time/<flavour>``, ``energy_edges``, ``time_edges``, and ``manifest`` (JSON text: the formula,
    units, channels, variants).
    """
    response = response_of(detector)
    arrays: dict[str, Any] = {
        "energy_edges": np.asarray(response.energy_axis.edges),
        "time_edges": np.asarray(response.time_axis.edges),
    }
    channels = []
    for ch in response.engine.channels:
        key = f"{ch.process}/{ch.target.label}/{ch.flavour}"
        arrays[f"{key}/e_nu"] = np.asarray(ch.e_nu)
        arrays[f"{key}/t_recoil"] = np.asarray(ch.t_recoil)
        arrays[f"{key}/weights"] = np.asarray(ch.weights)
        channels.append({"key": key, "process": ch.process, "target": ch.target.label, "flavour": ch.flavour})
    for f, flavour in enumerate(response.engine.flavours):
        arrays[f"time/{flavour}"] = np.asarray(response.time_pdfs[f])
    manifest = {
        "detector": detector.name,
        "formula": "N[v, i] = sum_p dsigma/dT(e_nu[p], t_recoil[p]) * weights[v, p, i]; "
        "template[i, j] = sum_flavours N[0, i] * time[flavour][j]",
        "units": {"e_nu": "MeV", "t_recoil": "MeV", "dsigma/dT": "cm^2/MeV", "weights": "events per (cm^2/MeV)"},
        "energy_axis": {"name": response.energy_axis.name, "unit": response.energy_axis.unit},
        "time_axis": {"name": response.time_axis.name, "unit": response.time_axis.unit},
        "variants": "index 0 nominal; the others the detector's energy-response systematic variants",
        "channels": channels,
    }
    arrays["manifest"] = np.asarray(json.dumps(manifest, sort_keys=True))
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue(), overwrite=overwrite)
