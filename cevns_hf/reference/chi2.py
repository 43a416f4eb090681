r"""The reference analyses' chi-squares, implemented directly (independently of pyhf).

The COHERENT collaboration and the phenomenology analyses of its data do not fit HistFactory models:
they minimise a chi-square written by hand. This module implements those chi-squares on
:class:`~cevns_hf.templates.histograms.Templates`, so that the pyhf workspaces of :mod:`cevns_hf.workspace.build` can be
checked against them (``tests/reference/test_reference_chi2.py``).

References:
    * CsI[Na] 2021: D. Akimov et al. (COHERENT), PRL 129 (2022) 081801 (arXiv:2110.07730), and the
      phenomenology chi-squares of its data release, e.g. M. Atzori Corona et al., JHEP 09 (2022) 164
      (arXiv:2205.09484) and PRD 2022: a Poisson chi-square over 9 energy x 11 time bins with
      nuisances alpha_0 ... alpha_7.
    * CENNS-10 LAr 2020: D. Akimov et al. (COHERENT), PRL 126 (2021) 012002 (arXiv:2003.10630), and e.g.
      O. G. Miranda et al., JHEP 05 (2020) 130 (arXiv:2003.12050): a Gaussian chi-square over 12 energy x
      10 time bins with nuisances beta_0 ... beta_8.

Prediction (the reference *product* form). Every nuisance theta is in units of its 1-sigma; a sample
s with nominal histogram :math:`N^0_s`, linear normalisations k (relative 1-sigma :math:`\sigma_k`) and
shape systematics j (+-1 sigma histograms :math:`N^{\pm}_{s,j}`) contributes

.. math::
    N^{th} = \sum_s \mu_s \Big(1 + \sum_{k \in s} \sigma_k \theta_k\Big)
             \Big(N^0_s + \sum_{j \in s} \Delta_{s,j}(\theta_j)\Big),\qquad
    \Delta_{s,j}(\theta) = \begin{cases} \theta\,(N^+_{s,j} - N^0_s) & \theta \ge 0 \\
                                         \theta\,(N^0_s - N^-_{s,j}) & \theta < 0 \end{cases}

with :math:`\mu_s = \mu` for the ``cevns`` sample and 1 otherwise. For CsI 2021 (:math:`a_k =
\sigma_k \theta_k`) this is exactly the reference

.. math::
    N^{th} = (1 + a_0 + a_5) N_{CEvNS}(a_4, a_6, a_7) + (1 + a_0) N_{ES}(a_6, a_7)
           + (1 + a_1) N_{BRN}(a_6) + (1 + a_2) N_{NIN}(a_6) + (1 + a_3) N_{SSB}.

The LAr 2020 reference chi-square (``physics.md`` section 7, Akimov et al., PRL 126 (2021) 012002) is
written instead in the *additive* form, every systematic a fractional difference inside one bracket,
e.g. :math:`(1 + b_4 + b_5 D_E^{\pm} + b_6 D_{t}^{\pm} + b_7 D_{w}) N_{pBRN}`, i.e.

.. math::
    N^{th}_{add} = \sum_s \mu_s \Big(N^0_s + \sum_{k \in s} \sigma_k \theta_k N^0_s
                   + \sum_{j \in s} \Delta_{s,j}(\theta_j)\Big),

and pyhf (:mod:`cevns_hf.workspace.build`) is also additive but interpolates the shapes smoothly inside
|theta| < 1 (code4p: :math:`\Delta = \theta S + \theta^2 (3\theta^4 - 10\theta^2 + 15) A` with
:math:`S = (\delta^+ + \delta^-)/2`, :math:`A = (\delta^+ - \delta^-)/16`, linear beyond). The three agree
to first order in the nuisances; the product form has the extra cross terms
:math:`\sigma_k \theta_k \Delta_{s,j}(\theta_j)`. Every function takes ``form=``:

* ``"product"`` (default): the product form above, exact for the CsI 2021 reference;
* ``"additive"``: additive with piecewise-linear shapes, the LAr 2020 reference;
* ``"pyhf"``: additive with code4p shapes, the HistFactory model of
  :func:`cevns_hf.workspace.build.build_workspace` (its profile reproduces pyhf's, which isolates the
  modelling differences in ``tests/reference/test_reference_chi2.py``).

Statistics (:math:`N^{exp}` the observed counts):

.. math::
    \chi^2_{Poisson} = 2 \sum_i \Big[N^{th}_i - N^{exp}_i + N^{exp}_i \ln\frac{N^{exp}_i}{N^{th}_i}\Big]
                       + \sum_k \theta_k^2, \qquad
    \chi^2_{Gauss} = \sum_i \frac{(N^{exp}_i - N^{th}_i)^2}{\sigma_i^2} + \sum_k \theta_k^2 .

The Poisson form is -2 ln of the Poisson likelihood ratio to the saturated model (the CsI analyses); its
differences in mu equal those of pyhf's ``twice_nll`` when the predictions agree. The Gaussian form is
the LAr reference (Neyman) chi-square with :math:`\sigma_i^2 = N^{exp}_i`; an empty bin (where that
variance vanishes) uses :math:`\sigma_i^2 = 1`, the variance of a Poisson count of mean one. This
choice keeps the variance independent of the prediction (a pure weighted least squares) and does not
enter the LAr 2020 comparison, whose 12 x 10 data have no empty bin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from scipy import optimize

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError, FitError
from cevns_hf.reference.prediction import (
    FORMS,
    SIGNAL,
    Model,
    check_form,
    compile_model,
    expected,
    nuisance_bounds,
    nuisances,
    theta_vector,
)
from cevns_hf.templates.histograms import Templates

__all__ = [
    "FORMS",
    "SIGNAL",
    "STATISTICS",
    "Minimum",
    "chi2",
    "expected",
    "gaussian_chi2",
    "minimum",
    "nuisance_bounds",
    "nuisances",
    "poisson_chi2",
    "profile",
]


def __dir__() -> list[str]:
    return __all__


#: Valid values of the ``statistic`` arguments.
STATISTICS = ("poisson", "gaussian")
#: Floor of the prediction inside the minimiser (a barrier where data are observed; see _objective).
_FLOOR = 1e-12


class Minimum(NamedTuple):
    """Global minimum of a chi-square over mu and every nuisance.

    Attributes:
        mu: best-fit signal strength.
        chi2: chi-square at the minimum.
        theta: best-fit nuisances (in units of sigma).
    """

    mu: float
    chi2: float
    theta: dict[str, float]


def _data(templates: Templates, data: FloatArray | None) -> FloatArray:
    observed = np.asarray(templates.observed if data is None else data, dtype=float)
    if observed.shape != np.shape(templates.observed):
        msg = f"data of shape {observed.shape} do not match the templates' {np.shape(templates.observed)}"
        raise ConfigurationError(msg)
    return observed.ravel()


def _check(statistic: str | None, form: str) -> None:
    if statistic is not None and statistic not in STATISTICS:
        msg = f"unknown statistic {statistic!r}; valid choices: {list(STATISTICS)}"
        raise ConfigurationError(msg)
    check_form(form)


def _poisson_value(n_th: FloatArray, n_exp: FloatArray) -> float:
    observed = n_exp > 0
    if np.any(n_th[observed] <= 0):
        return float("inf")
    safe = np.where(observed, n_th, 1.0)
    log_term = np.where(observed, n_exp * np.log(np.where(observed, n_exp, 1.0) / safe), 0.0)
    return float(2.0 * np.sum(n_th - n_exp + log_term))


def _gaussian_variance(n_exp: FloatArray) -> FloatArray:
    return np.where(n_exp > 0, n_exp, 1.0)


def _gaussian_value(n_th: FloatArray, n_exp: FloatArray) -> float:
    return float(np.sum((n_exp - n_th) ** 2 / _gaussian_variance(n_exp)))


_VALUES: dict[str, Callable[[FloatArray, FloatArray], float]] = {
    "poisson": _poisson_value,
    "gaussian": _gaussian_value,
}


def _evaluate(
    templates: Templates,
    mu: float,
    theta: Mapping[str, float] | None,
    data: FloatArray | None,
    form: str,
    statistic: str,
) -> float:
    """The chi-square ``statistic`` at (mu, theta): the bins' statistic plus the pulls sum theta^2."""
    _check(statistic, form)
    model = compile_model(templates)
    t = theta_vector(model.names, theta)
    n_th, _ = model.predict(float(mu), t, form)
    return _VALUES[statistic](n_th, _data(templates, data)) + float(np.sum(t**2))


def poisson_chi2(
    templates: Templates,
    mu: float,
    theta: Mapping[str, float] | None = None,
    *,
    data: FloatArray | None = None,
    form: str = "product",
) -> float:
    r"""Poisson chi-square of the CsI 2021 reference analyses.

    .. math::
        \chi^2 = 2 \sum_i \Big[N^{th}_i - N^{exp}_i + N^{exp}_i \ln\frac{N^{exp}_i}{N^{th}_i}\Big]
                 + \sum_k \theta_k^2

    (Akimov et al., PRL 129 (2022) 081801; Atzori Corona et al., JHEP 09 (2022) 164), the logarithm
    term being 0 where :math:`N^{exp}_i = 0` (the term is then :math:`2 N^{th}_i`, whatever the sign of a
    prediction extrapolated by a shape systematic). It is infinite where the prediction is not positive
    in a bin with observed events.

    Args:
        templates: the experiment's templates (their ``observed`` counts are the data by default).
        mu: signal strength.
        theta: nuisances in units of sigma (missing ones are 0).
        data: counts to use instead of ``templates.observed`` (e.g. an Asimov data set).
        form: prediction form, ``"product"``, ``"additive"`` or ``"pyhf"`` (see :func:`expected`).
    """
    return _evaluate(templates, mu, theta, data, form, "poisson")


def gaussian_chi2(
    templates: Templates,
    mu: float,
    theta: Mapping[str, float] | None = None,
    *,
    data: FloatArray | None = None,
    form: str = "product",
) -> float:
    r"""Gaussian (Neyman) chi-square of the LAr 2020 reference analyses.

    .. math::
        \chi^2 = \sum_i \frac{(N^{exp}_i - N^{th}_i)^2}{\sigma_i^2} + \sum_k \theta_k^2,\qquad
        \sigma_i^2 = \begin{cases} N^{exp}_i & N^{exp}_i > 0 \\ 1 & N^{exp}_i = 0 \end{cases}

    (Akimov et al., PRL 126 (2021) 012002; Miranda et al., JHEP 05 (2020) 130). The variance of an
    empty bin is 1 (the variance of a Poisson count of mean one) rather than a function of the
    prediction, so the statistic stays a weighted least squares.

    Args:
        templates: the experiment's templates (their ``observed`` counts are the data by default).
        mu: signal strength.
        theta: nuisances in units of sigma (missing ones are 0).
        data: counts to use instead of ``templates.observed``.
        form: prediction form, ``"product"``, ``"additive"`` or ``"pyhf"`` (see :func:`expected`).
    """
    return _evaluate(templates, mu, theta, data, form, "gaussian")


def chi2(
    templates: Templates,
    mu: float,
    theta: Mapping[str, float] | None = None,
    *,
    statistic: str = "poisson",
    data: FloatArray | None = None,
    form: str = "product",
) -> float:
    """The chi-square called ``statistic`` (``"poisson"`` or ``"gaussian"``) at (mu, theta).

    Raises:
        ConfigurationError: for an unknown statistic or form (the message lists the valid choices).
    """
    return _evaluate(templates, mu, theta, data, form, statistic)


def _objective(
    model: Model, n_exp: FloatArray, statistic: str, form: str
) -> Callable[[float, FloatArray], tuple[float, FloatArray]]:
    """chi2(mu, theta) and its gradient in (mu, theta) for the minimiser.

    Where events are observed, the prediction inside the Poisson logarithm is floored at 1e-12: the
    objective stays finite (about 55 N_exp per such bin, a barrier the line search backs off from) where
    :func:`poisson_chi2` is infinite, and the gradient there still points back to positive predictions.
    """
    variance = _gaussian_variance(n_exp)
    observed = n_exp > 0
    log_exp = np.log(np.where(observed, n_exp, 1.0))

    def value_and_grad(mu: float, theta: FloatArray) -> tuple[float, FloatArray]:
        n_th, jac = model.predict(mu, theta, form)
        if statistic == "poisson":
            safe = np.where(observed, np.maximum(n_th, _FLOOR), 1.0)
            terms = n_th - n_exp + np.where(observed, n_exp * (log_exp - np.log(safe)), 0.0)
            d_n = 2.0 * (1.0 - n_exp / safe)
            value = 2.0 * float(np.sum(terms))
        else:
            residual = n_th - n_exp
            d_n = 2.0 * residual / variance
            value = float(np.sum(residual**2 / variance))
        grad = d_n @ jac
        grad[1:] += 2.0 * theta
        return value + float(np.sum(theta**2)), grad

    return value_and_grad


def _minimise(
    fun: Callable[[FloatArray], tuple[float, FloatArray]],
    x0: FloatArray,
    bounds: Sequence[tuple[float, float]],
) -> FloatArray:
    """L-BFGS-B with analytic gradients; one restart from the end point if the first run stops early."""
    options = {"maxiter": 10_000, "ftol": 1e-14, "gtol": 1e-9}
    x = x0
    message = ""
    for _ in range(2):
        res = optimize.minimize(fun, x, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
        x = np.asarray(res.x, dtype=float)
        if res.success:
            return x
        message = str(res.message)
    # the line search can stop at the numerical precision of chi2: accept when the projected gradient vanishes
    _, grad = fun(x)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    projected = np.where(((x <= lo) & (grad > 0)) | ((x >= hi) & (grad < 0)), 0.0, grad)
    if np.max(np.abs(projected)) > 1e-3:
        msg = f"the chi-square minimisation did not converge: {message}"
        raise FitError(msg)
    return x


def profile(
    templates: Templates,
    mu_values: Sequence[float] | FloatArray,
    *,
    statistic: str = "poisson",
    data: FloatArray | None = None,
    form: str = "product",
) -> FloatArray:
    r"""The chi-square minimised over every nuisance at each fixed mu.

    .. math:: \chi^2_{prof}(\mu) = \min_{\theta} \chi^2(\mu, \theta)

    Minimised with L-BFGS-B (analytic gradients) inside :func:`nuisance_bounds`, each point starting
    from the previous point's nuisances (the first from 0).

    Args:
        templates: the experiment's templates.
        mu_values: signal strengths.
        statistic: ``"poisson"`` (:func:`poisson_chi2`) or ``"gaussian"`` (:func:`gaussian_chi2`).
        data: counts to use instead of ``templates.observed``.
        form: prediction form, ``"product"``, ``"additive"`` or ``"pyhf"`` (see :func:`expected`).

    Returns:
        The profiled chi-square at each mu (not shifted to its minimum).

    Raises:
        ConfigurationError: for an unknown statistic or form.
        FitError: when a minimisation does not converge.
    """
    _check(statistic, form)
    model = compile_model(templates)
    value_and_grad = _objective(model, _data(templates, data), statistic, form)
    limits = nuisance_bounds(templates)
    bounds = [limits[name] for name in model.names]
    theta: FloatArray = np.zeros(len(model.names))
    out = []
    for mu in np.asarray(mu_values, dtype=float).ravel():

        def fun(t: FloatArray, mu: float = float(mu)) -> tuple[float, FloatArray]:
            value, grad = value_and_grad(mu, t)
            return value, grad[1:]

        theta = _minimise(fun, theta, bounds)
        at = dict(zip(model.names, (float(v) for v in theta), strict=True))
        out.append(chi2(templates, float(mu), at, statistic=statistic, data=data, form=form))
    return np.asarray(out, dtype=float)


def minimum(
    templates: Templates,
    *,
    statistic: str = "poisson",
    data: FloatArray | None = None,
    form: str = "product",
    mu_bounds: tuple[float, float] = (0.0, 10.0),
    mu_init: float = 1.0,
) -> Minimum:
    """Global minimum of the chi-square over mu and every nuisance.

    Args:
        templates: the experiment's templates.
        statistic: ``"poisson"`` or ``"gaussian"``.
        data: counts to use instead of ``templates.observed``.
        form: prediction form, ``"product"``, ``"additive"`` or ``"pyhf"`` (see :func:`expected`).
        mu_bounds: range of mu (pyhf's default normfactor bounds by default).
        mu_init: starting value of mu (the nuisances start from 0).

    Returns:
        (mu_hat, chi2_min, theta_hat) as a :class:`Minimum`.

    Raises:
        ConfigurationError: for an unknown statistic or form.
        FitError: when the minimisation does not converge.
    """
    _check(statistic, form)
    model = compile_model(templates)
    value_and_grad = _objective(model, _data(templates, data), statistic, form)
    limits = nuisance_bounds(templates)
    bounds = [mu_bounds, *(limits[name] for name in model.names)]

    def fun(x: FloatArray) -> tuple[float, FloatArray]:
        return value_and_grad(float(x[0]), x[1:])

    x0 = np.concatenate([[mu_init], np.zeros(len(model.names))])
    x = _minimise(fun, x0, bounds)
    theta = {name: float(v) for name, v in zip(model.names, x[1:], strict=True)}
    value = chi2(templates, float(x[0]), theta, statistic=statistic, data=data, form=form)
    return Minimum(float(x[0]), value, theta)
