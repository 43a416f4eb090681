r"""Fit diagnostics through cabinetry: the fit, pulls, nuisance ranking, correlations, and the pre- and
post-fit model in the physical energy and time projections with an uncertainty band.

cabinetry (``cabinetry.model_utils.model_and_data`` on our workspace) does the MINUIT fit and the ranking;
its data/model plot shows the flattened (energy x time) bins against an index (``pyhf-notes.md``), so the
projections are computed here: the expected counts of each channel summed over the other axes, with the band

.. math::
    \sigma^2_{proj} = J\, C\, J^T,\qquad J_{ik} = \partial\, \mathrm{proj}_i / \partial \theta_k

(finite differences of pyhf's expected data) and :math:`C` the fit covariance (post-fit) or the prior
covariance of the constrained parameters (pre-fit, from ``cabinetry.model_utils.prefit_uncertainties``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyhf

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError, FitError
from cevns_hf.templates.histograms import Templates

__all__ = ["Diagnostics", "Projection", "cabinetry_limit", "diagnose"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True)
class Projection:
    """One axis of one channel: bin edges, observed counts, pre- and post-fit model with 1-sigma bands."""

    channel: str
    axis: str
    unit: str
    edges: FloatArray
    observed: FloatArray
    prefit: FloatArray
    prefit_sigma: FloatArray
    postfit: FloatArray
    postfit_sigma: FloatArray
    postfit_samples: Mapping[str, FloatArray]


@dataclass(frozen=True)
class Diagnostics:
    """cabinetry's fit and ranking results, and the projections of every channel."""

    fit_results: Any
    ranking: Any
    projections: tuple[Projection, ...]


def _cabinetry() -> Any:
    try:
        import cabinetry
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "diagnostics need cabinetry: pip install 'cevns_hf[fit]'"
        raise ConfigurationError(msg) from err
    return cabinetry


def _band(model: Any, pars: FloatArray, cov: FloatArray, project: Any) -> FloatArray:
    base = project(model.expected_actualdata(pars))
    jac = np.zeros((base.size, pars.size))
    for k in range(pars.size):
        if cov[k, k] <= 0:
            continue
        step = 1e-4 * max(float(np.sqrt(cov[k, k])), 1e-3)
        shifted = np.array(pars, dtype=float)
        shifted[k] += step
        jac[:, k] = (project(model.expected_actualdata(shifted)) - base) / step
    return np.sqrt(np.clip(np.einsum("ik,kl,il->i", jac, cov, jac), 0.0, None))


def diagnose(templates: Sequence[Templates], spec: Mapping[str, Any], *, ranking: bool = True) -> Diagnostics:
    """Fit a workspace with cabinetry and compute the ranking and the projections of every channel.

    Args:
        templates: the channels' templates (for the axes; channel names = experiment names).
        spec: the workspace built from them.
        ranking: also compute the nuisance ranking (one refit per nuisance and direction).
    """
    cabinetry = _cabinetry()
    model, data = cabinetry.model_utils.model_and_data(dict(spec))
    try:
        fit_results = cabinetry.fit.fit(model, data)
        ranked = cabinetry.fit.ranking(model, data, fit_results=fit_results) if ranking else None
    except (pyhf.exceptions.FailedMinimization, ValueError, RuntimeError) as err:
        msg = f"the cabinetry fit failed: {err}"
        raise FitError(msg) from err
    labels = list(fit_results.labels)
    order = [labels.index(p) for p in model.config.par_names]
    best = np.asarray(fit_results.bestfit, dtype=float)[order]
    unc = np.asarray(fit_results.uncertainty, dtype=float)[order]
    post_cov = np.asarray(fit_results.corr_mat, dtype=float)[np.ix_(order, order)] * np.outer(unc, unc)
    init = np.asarray(model.config.suggested_init(), dtype=float)
    pre_cov = np.diag(np.asarray(cabinetry.model_utils.prefit_uncertainties(model), dtype=float) ** 2)
    by_name = {t.experiment: t for t in templates}
    projections = []
    for channel in model.config.channels:
        tmpl = by_name[channel]
        sl = model.config.channel_slices[channel]
        shape = tmpl.observed.shape
        for axis in tmpl.axes:
            if axis.name not in ("energy", "time"):
                continue

            def project(
                flat: FloatArray,
                sl: slice = sl,
                tmpl: Templates = tmpl,
                name: str = axis.name,
                shape: tuple[int, ...] = shape,
            ) -> FloatArray:
                return tmpl.projection(np.asarray(flat, dtype=float)[sl].reshape(shape), name)

            per_sample = np.asarray(model.main_model.expected_data(best, return_by_sample=True), dtype=float)
            samples = {
                s: tmpl.projection(per_sample[i][sl].reshape(shape), axis.name)
                for i, s in enumerate(model.config.samples)
                if np.any(per_sample[i][sl])
            }
            projections.append(
                Projection(
                    channel=channel,
                    axis=axis.name,
                    unit=axis.unit,
                    edges=np.asarray(axis.edges, dtype=float),
                    observed=tmpl.projection(tmpl.observed, axis.name),
                    prefit=project(model.expected_actualdata(init)),
                    prefit_sigma=_band(model, init, pre_cov, project),
                    postfit=project(model.expected_actualdata(best)),
                    postfit_sigma=_band(model, best, post_cov, project),
                    postfit_samples=samples,
                )
            )
    return Diagnostics(fit_results, ranked, tuple(projections))


def cabinetry_limit(spec: Mapping[str, Any], *, cl: float = 0.95) -> tuple[Any, float]:
    """``cabinetry.fit.limit`` on one of our linear-POI (or mu_bsm) workspaces, made to work.

    Why cabinetry's defaults fail on these workspaces: its search starts at the POI's upper bound, which our
    builders set generously (up to 100 x the reference point, so that no physical value is cut). A signal that
    large pushes the Asimov fits into regions where MINUIT meets NaN likelihoods (bins predicted negative by
    the shape modifiers' linear extrapolation) and stops with ``FailedMinimization``. With the POI bounded at
    3 x our own asymptotic CLs limit (:func:`cevns_hf.inference.cls.cls_upper_limit`, same qtilde test
    statistic) the same cabinetry call converges and agrees with ours within its ``poi_tolerance``.

    Returns:
        (cabinetry's ``LimitResults``, our observed limit).
    """
    from cevns_hf.inference.cls import cls_upper_limit

    cabinetry = _cabinetry()
    ours = cls_upper_limit(spec, cl=cl).observed
    model, data = cabinetry.model_utils.model_and_data(dict(spec))
    bounds = [list(b) for b in model.config.suggested_bounds()]
    bounds[model.config.poi_index] = [0.0, 3.0 * ours]
    try:
        result = cabinetry.fit.limit(
            model, data, confidence_level=cl, par_bounds=[tuple(b) for b in bounds], bracket=(0.5 * ours, 2.0 * ours)
        )
    except (pyhf.exceptions.FailedMinimization, ValueError, RuntimeError) as err:
        msg = f"cabinetry.fit.limit failed even with the POI bounded at 3 x {ours:.4g}: {err}"
        raise FitError(msg) from err
    return result, ours
