r"""The reference analyses' predictions: product, additive and pyhf forms of the nuisance model.

:func:`expected` gives :math:`N^{th}(\mu, \theta)` of :mod:`cevns_hf.reference.chi2` (see its docstring for the
three forms and their references); :class:`Model` evaluates it with its Jacobian for the minimisations.
The nuisance bounds come from the one modifier rule, :func:`cevns_hf.workspace.modifiers.nuisance_bounds`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.templates.histograms import Templates
from cevns_hf.workspace.modifiers import DEFAULT_BOUNDS
from cevns_hf.workspace.modifiers import nuisance_bounds as modifier_bounds

__all__ = [
    "FORMS",
    "SIGNAL",
    "Model",
    "check_form",
    "compile_model",
    "expected",
    "nuisance_bounds",
    "nuisances",
    "theta_vector",
]


def __dir__() -> list[str]:
    return __all__


def check_form(form: str) -> None:
    """Raise :class:`~cevns_hf.exceptions.ConfigurationError` unless ``form`` is one of :data:`FORMS`."""
    if form not in FORMS:
        msg = f"unknown form {form!r}; valid choices: {list(FORMS)}"
        raise ConfigurationError(msg)


#: Name of the sample scaled by the signal strength mu.
SIGNAL = "cevns"


#: Valid values of the ``form`` arguments (see :func:`expected`).
FORMS = ("product", "additive", "pyhf")


@dataclass(frozen=True)
class _Term:
    """One sample, flattened: nominal, (nuisance index, sigma) norms, (index, up - N0, N0 - down) shapes."""

    signal: bool
    nominal: FloatArray
    norms: tuple[tuple[int, float], ...]
    shapes: tuple[tuple[int, FloatArray, FloatArray], ...]


def _shape_delta(theta: float, d_up: FloatArray, d_down: FloatArray, smooth: bool) -> tuple[FloatArray, FloatArray]:
    """Shape delta and its derivative: piecewise linear, or pyhf's code4p (6th-order polynomial inside |theta| < 1)."""
    if not smooth or abs(theta) > 1.0:
        slope = d_up if theta >= 0 else d_down
        return theta * slope, slope
    s = 0.5 * (d_up + d_down)
    a = 0.0625 * (d_up - d_down)
    t2 = theta * theta
    delta = theta * s + t2 * (t2 * (3.0 * t2 - 10.0) + 15.0) * a
    return delta, s + theta * (t2 * (18.0 * t2 - 40.0) + 30.0) * a


@dataclass(frozen=True)
class Model:
    """A Templates object compiled for fast evaluation of the prediction and its Jacobian."""

    names: tuple[str, ...]
    terms: tuple[_Term, ...]
    shape: tuple[int, ...]

    def predict(self, mu: float, theta: FloatArray, form: str) -> tuple[FloatArray, FloatArray]:
        """Flat prediction and its Jacobian with respect to (mu, theta_0, theta_1, ...)."""
        product = form == "product"
        n_bins = int(np.prod(self.shape))
        total = np.zeros(n_bins)
        jac = np.zeros((n_bins, 1 + len(self.names)))
        for term in self.terms:
            scale = mu if term.signal else 1.0
            norm = 1.0 + sum(sigma * theta[k] for k, sigma in term.norms)
            body = term.nominal.copy()
            slopes: list[tuple[int, FloatArray]] = []
            for k, d_up, d_down in term.shapes:
                delta, slope = _shape_delta(float(theta[k]), d_up, d_down, smooth=form == "pyhf")
                body += delta
                slopes.append((k, slope))
            # product: norm x (N0 + deltas); additive and pyhf: N0 + (norm - 1) N0 + deltas
            unscaled = norm * body if product else body + (norm - 1.0) * term.nominal
            total += scale * unscaled
            if term.signal:
                jac[:, 0] += unscaled
            for k, sigma in term.norms:
                jac[:, 1 + k] += scale * sigma * (body if product else term.nominal)
            for k, slope in slopes:
                jac[:, 1 + k] += scale * (norm if product else 1.0) * slope
        return total, jac


def compile_model(templates: Templates) -> Model:
    """Flatten the templates' samples into :class:`Model` terms (nuisances in the order of :func:`nuisances`)."""
    names = nuisances(templates)
    index = {name: i for i, name in enumerate(names)}
    terms = []
    for s in templates.samples:
        nominal = np.asarray(s.nominal, dtype=float).ravel()
        shapes = tuple(
            (
                index[name],
                np.asarray(up, dtype=float).ravel() - nominal,
                nominal - np.asarray(down, dtype=float).ravel(),
            )
            for name, (up, down) in s.shapes.items()
        )
        norms = tuple((index[name], float(sigma)) for name, sigma in s.norms.items())
        terms.append(_Term(s.name == SIGNAL, nominal, norms, shapes))
    return Model(names, tuple(terms), tuple(np.shape(templates.observed)))


def nuisances(templates: Templates) -> tuple[str, ...]:
    """Sorted names of every nuisance parameter (normalisation or shape) of the templates."""
    names: set[str] = set()
    for s in templates.samples:
        names.update(s.norms)
        names.update(s.shapes)
    return tuple(sorted(names))


def nuisance_bounds(templates: Templates) -> dict[str, tuple[float, float]]:
    r"""Bounds of the nuisances in the minimisations: the normalisation factors stay non-negative.

    Every nuisance is limited to (-5, 5) (pyhf's default histosys bounds) and a linear normalisation to
    :math:`1 + \sigma_k \theta_k \ge 0`, i.e. :math:`\theta_k \ge -1/\sigma_k` (the bounds of
    :func:`cevns_hf.workspace.modifiers.nuisance_bounds` of the linear mirror, ``linear_norms=True``, so that both
    minimisations see the same parameter space).

    Shape nuisances get no tighter box: a per-sample non-negativity bound is far too strict for them.
    The CsI beam-timing shift at +1 sigma empties the first time bin of the BRN template (1.3% of its
    nominal left), which would cap alpha_6 at 1.013 although the data prefer 0.96 +- 0.55. The total
    prediction is kept positive where events are observed by the logarithm of the Poisson chi-square
    (a barrier); where no event is observed its term :math:`2 N^{th}` is defined for either sign, as in
    pyhf's Poisson likelihood.
    """
    return {**dict.fromkeys(nuisances(templates), DEFAULT_BOUNDS), **modifier_bounds([templates], linear_norms=True)}


def theta_vector(names: Sequence[str], theta: Mapping[str, float] | None) -> FloatArray:
    """Nuisance values in the order of ``names`` (missing ones 0); unknown names raise."""
    values = dict(theta or {})
    unknown = sorted(set(values) - set(names))
    if unknown:
        msg = f"unknown nuisance parameter(s) {unknown}; valid: {list(names)}"
        raise ConfigurationError(msg)
    return np.array([float(values.get(name, 0.0)) for name in names])


def expected(
    templates: Templates, mu: float, theta: Mapping[str, float] | None = None, *, form: str = "product"
) -> FloatArray:
    r"""Predicted counts per bin, by default in the reference product form (CsI 2021).

    .. math::
        N^{th} = \sum_s \mu_s \Big(1 + \sum_{k \in s} \sigma_k \theta_k\Big)
                 \Big(N^0_s + \sum_{j \in s} \Delta_{s,j}(\theta_j)\Big)

    with piecewise-linear shape deltas (:math:`\Delta = \theta (N^+ - N^0)` for
    :math:`\theta \ge 0`, :math:`\theta (N^0 - N^-)` below), as in Akimov et al., PRL 129 (2022) 081801
    and Atzori Corona et al., JHEP 09 (2022) 164 (CsI), and Akimov et al., PRL 126 (2021) 012002 (LAr).

    Args:
        templates: the experiment's templates.
        mu: signal strength, scaling the ``cevns`` sample.
        theta: nuisance name -> value in units of its sigma; missing nuisances are 0.
        form: ``"product"`` (above), ``"additive"`` (normalisations added to the shape deltas,
            :math:`N^0 + \sum_k \sigma_k \theta_k N^0 + \sum_j \Delta_j`: the LAr 2020 reference) or
            ``"pyhf"`` (additive, code4p shape interpolation: the model of
            :func:`cevns_hf.workspace.build.build_workspace`).

    Returns:
        The prediction, in the templates' histogram shape.

    Raises:
        ConfigurationError: for a nuisance the templates do not have, or an unknown form.
    """
    check_form(form)
    model = compile_model(templates)
    total, _ = model.predict(float(mu), theta_vector(model.names, theta), form)
    return total.reshape(model.shape)
