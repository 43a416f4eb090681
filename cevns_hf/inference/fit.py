"""Inference with pyhf: maximum-likelihood fits and fitted CEvNS yields.

Thin over :func:`pyhf.infer.mle.fit` with the numpy backend and the MINUIT optimizer (uncertainties
from the HESSE covariance). The fitted number of CEvNS events of a channel is the CEvNS sample's
expected yield at the best-fit point; its error is propagated linearly from the full covariance of all
parameters (the POI and the nuisances that move the CEvNS yield).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyhf

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError, FitError
from cevns_hf.inference.results import FitResult

__all__ = ["expected_by_sample", "fit", "sample_yields", "twice_nll_profile"]


def __dir__() -> list[str]:
    return __all__


def _model_and_data(spec: Mapping[str, Any]) -> tuple[pyhf.pdf.Model, FloatArray]:
    ws = pyhf.Workspace(dict(spec))
    model = ws.model()
    return model, np.asarray(ws.data(model), dtype=float)


def sample_yields(model: pyhf.pdf.Model, pars: FloatArray, sample: str = "cevns") -> dict[str, float]:
    """Expected yield of ``sample`` per channel at parameters ``pars``."""
    by_sample = np.asarray(model.main_model.expected_data(np.asarray(pars), return_by_sample=True))
    out: dict[str, float] = {}
    if sample not in model.config.samples:
        return out
    k = model.config.samples.index(sample)
    for channel in model.config.channels:
        out[channel] = float(by_sample[k, model.config.channel_slices[channel]].sum())
    return out


def expected_by_sample(spec: Mapping[str, Any], parameters: Mapping[str, float]) -> dict[str, dict[str, FloatArray]]:
    """Expected counts per channel and sample (flattened bins) at the given parameter values.

    Parameters not given take their initial values (POI 1, nuisances 0).
    """
    model, _ = _model_and_data(spec)
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    names = _names(model)
    for name, value in parameters.items():
        if name not in names:
            msg = f"unknown parameter {name!r}; parameters: {names}"
            raise ConfigurationError(msg)
        pars[names.index(name)] = value
    by_sample = np.asarray(model.main_model.expected_data(pars, return_by_sample=True))
    return {
        channel: {
            sample: np.asarray(by_sample[k, model.config.channel_slices[channel]], dtype=float)
            for k, sample in enumerate(model.config.samples)
        }
        for channel in model.config.channels
    }


def _names(model: pyhf.pdf.Model) -> list[str]:
    names: list[str] = []
    for par in model.config.par_order:
        n = model.config.param_set(par).n_parameters
        names.extend([par] if n == 1 else [f"{par}[{i}]" for i in range(n)])
    return names


def fit(spec: Mapping[str, Any], *, fixed: Mapping[str, float] | None = None) -> FitResult:
    """Maximum-likelihood fit of a workspace to its observed data.

    Args:
        spec: a pyhf workspace dict (e.g. from :func:`cevns_hf.workspace.build.build_workspace`).
        fixed: parameters to hold at given values (e.g. ``{"mu_cevns": 1.0}``).

    Raises:
        FitError: when MINUIT does not converge.
    """
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-4, strategy=1))
    model, data = _model_and_data(spec)
    init = np.asarray(model.config.suggested_init(), dtype=float)
    fixed_mask = list(model.config.suggested_fixed())
    for name, value in (fixed or {}).items():
        if name not in model.config.parameters:
            msg = f"cannot fix unknown parameter {name!r}; parameters: {sorted(model.config.parameters)}"
            raise ConfigurationError(msg)
        idx = model.config.par_slice(name).start
        init[idx] = value
        fixed_mask[idx] = True
    try:
        bestfit, twice_nll, result = pyhf.infer.mle.fit(
            data,
            model,
            init_pars=init.tolist(),
            fixed_params=fixed_mask,
            return_uncertainties=True,
            return_fitted_val=True,
            return_result_obj=True,
        )
    except Exception as err:  # pyhf raises FailedMinimization (a RuntimeError) among others
        msg = f"the fit did not converge: {err}"
        raise FitError(msg) from err
    values = np.asarray(bestfit[:, 0], dtype=float)
    errors = np.asarray(bestfit[:, 1], dtype=float)
    cov = (
        np.asarray(result.minuit.covariance, dtype=float)
        if result.minuit.covariance is not None
        else np.diag(errors**2)
    )
    names = _names(model)
    nominal = np.asarray(model.config.suggested_init(), dtype=float)
    predicted = sample_yields(model, nominal)
    fitted = sample_yields(model, values)
    cevns: dict[str, tuple[float, float]] = {}
    free = [i for i, f in enumerate(fixed_mask) if not f]
    for channel, value in fitted.items():
        grad = np.zeros_like(values)
        for i in free:
            step = 1e-3 * max(errors[i], 1e-6)
            up, down = values.copy(), values.copy()
            up[i] += step
            down[i] -= step
            grad[i] = (sample_yields(model, up)[channel] - sample_yields(model, down)[channel]) / (2 * step)
        cevns[channel] = (value, float(np.sqrt(max(grad @ cov @ grad, 0.0))))
    return FitResult(
        twice_nll=float(twice_nll),
        parameters={n: (float(v), float(e)) for n, v, e in zip(names, values, errors, strict=True)},
        cevns_events=cevns,
        predicted_cevns=predicted,
    )


def twice_nll_profile(spec: Mapping[str, Any], poi_values: FloatArray) -> FloatArray:
    """-2 ln L profiled over all nuisances at each fixed value of the POI ``mu_cevns``."""
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    model, data = _model_and_data(spec)
    out = []
    init = model.config.suggested_init()
    for mu in np.asarray(poi_values, dtype=float):
        _, val = pyhf.infer.mle.fixed_poi_fit(float(mu), data, model, init_pars=init, return_fitted_val=True)
        out.append(float(val))
    return np.asarray(out)
