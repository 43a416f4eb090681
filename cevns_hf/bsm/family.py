"""Hypotheses: a BSM family plus named parameter values, in one text form everywhere.

Text form (CLI and config files): ``family:name=value,name=value``, e.g. ``nsi:eps_ee_u=0.1,eps_ee_d=-0.05``;
``sm`` (or any family with no values) is the Standard Model. Parameters not given take their SM value.
Every family is registered in :mod:`cevns_hf.bsm`; its parameter names and units are a public contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._parse import parse_float
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel, StandardModel

__all__ = [
    "Family",
    "Hypothesis",
    "HypothesisError",
    "LinearPOI",
    "Parameter",
    "Polynomial",
    "get_family",
    "parse_hypothesis",
    "resolve_family",
]


def __dir__() -> list[str]:
    return __all__


def _as_object(value: object) -> object:
    """``value`` typed as ``object``, for run-time checks of arguments that callers may get wrong."""
    return value


class HypothesisError(ConfigurationError):
    """An invalid hypothesis: unknown family or parameter, or a value out of its physical range."""


@dataclass(frozen=True)
class Parameter:
    """A named parameter of a family.

    Attributes:
        name: public name (``eps_ee_u``).
        unit: unit of the value (``""`` for dimensionless).
        description: one line.
        sm: the Standard-Model value (zero coupling).
        lo: smallest allowed value (inclusive).
        hi: largest allowed value (inclusive).
        lo_open: ``lo`` itself is excluded (e.g. a radius or mass must be > 0).
        off: a value outside [lo, hi] that is also accepted and switches the parameter off (e.g. the
            common neutron radius ``r_n = 0``: use the per-nucleus radii).
    """

    name: str
    unit: str
    description: str
    sm: float = 0.0
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    off: float | None = None

    def describe(self) -> str:
        """``name [unit] in [lo, hi]`` for error messages."""
        unit = f" [{self.unit}]" if self.unit else ""
        left = "(" if self.lo_open else "["
        off = f" or {self.off:g} (off)" if self.off is not None else ""
        return f"{self.name}{unit} in {left}{self.lo:g}, {self.hi:g}]{off}"

    def check(self, value: Any) -> None:
        """Raise :class:`HypothesisError` unless every entry of ``value`` is finite and in range."""
        arr = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(arr)):
            shown = value if arr.ndim == 0 else arr[~np.isfinite(arr)].ravel()[0]
            msg = f"{self.name} must be a finite number, got {shown!r}; expected {self.describe()}"
            raise HypothesisError(msg)
        low = arr <= self.lo if self.lo_open else arr < self.lo
        bad = low | (arr > self.hi)
        if self.off is not None:
            bad &= arr != self.off
        if np.any(bad):
            shown = value if arr.ndim == 0 else f"{float(arr[bad].ravel()[0]):g} (one of {arr.size} values)"
            msg = f"{self.name} = {shown} is outside its physical range: expected {self.describe()}"
            raise HypothesisError(msg)


@dataclass(frozen=True)
class LinearPOI:
    """A quantity X in which the BSM rate change is exactly linear (for a workspace whose POI is X).

    Attributes:
        name: POI name in the workspace (``mu_nu_e_sq``).
        unit: unit of X.
        parameter: the family parameter X is computed from.
        to_poi: X as a function of the parameter value (e.g. ``lambda v: v**2``).
        from_poi: the parameter value giving X (the inverse of ``to_poi`` on the parameter's range).
        fixed: other parameters that must be set (and are held fixed), e.g. ``dm41_ev2`` for sterile.
        scale: the workspace POI is X / scale, so that it is of order one near the sensitivity; one value per
            quantity, so every command writes the same POI unit (``f"{scale:g} {unit}"``).
    """

    name: str
    unit: str
    parameter: str
    to_poi: Callable[[float], float]
    from_poi: Callable[[float], float]
    fixed: tuple[str, ...] = ()
    scale: float = 1.0

    @property
    def poi_unit(self) -> str:
        """The unit of the workspace POI: ``"1e-18 mu_B^2"``, ``"0.01"``, or ``""`` for scale 1 and no unit."""
        if self.scale == 1.0:
            return self.unit
        return f"{self.scale:g} {self.unit}".strip()


@dataclass(frozen=True)
class Polynomial:
    """How a family's rate depends on some of its parameters: a polynomial, at fixed values of the others.

    The expected counts of every template (each target, flavour and systematic variant) are then
    :math:`T(x) = \\sum_m x^{e_m} B_m` over the monomials :math:`x^{e_m}` of total degree at most ``degree``
    in ``variables``: :mod:`cevns_hf.templates.basis` computes the basis templates :math:`B_m` once per value
    of the other parameters (a *slice*, e.g. one mediator mass) and checks that they reproduce the engine.

    Attributes:
        variables: the parameters the rate is a polynomial in.
        degree: its total degree (2 where a coupling enters the amplitude linearly, 4 where a product of two
            couplings does, as for light mediators :math:`g_\\nu g_q`).
    """

    variables: tuple[str, ...]
    degree: int


@dataclass(frozen=True)
class Family:
    """A BSM family: its parameters, its model and its references.

    Attributes:
        name: family name used in the text form.
        description: one line.
        parameters: the parameters, in their documented order.
        make_model: builds the physics model from a complete parameter mapping (values may be numpy
            arrays of shape (H, 1) for a grid of H hypotheses).
        references: the papers the formulas come from.
        linear_pois: quantities in which the rate is linear (optional).
        check: extra validation across parameters (optional).
        polynomial: the parameters in which the rate is a polynomial (optional; see :class:`Polynomial`).
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    make_model: Callable[[Mapping[str, Any]], PhysicsModel]
    references: tuple[str, ...] = ()
    linear_pois: tuple[LinearPOI, ...] = ()
    check: Callable[[Mapping[str, Any]], None] | None = None
    polynomial: Polynomial | None = None

    def __post_init__(self) -> None:
        if self.polynomial is not None:
            for name in self.polynomial.variables:
                self.parameter(name)

    def __repr__(self) -> str:
        return f"Family({self.name!r})"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the parameters."""
        return tuple(p.name for p in self.parameters)

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p
        valid = ", ".join(p.describe() for p in self.parameters) or "(none)"
        msg = f"family {self.name!r} has no parameter {name!r}; valid parameters: {valid}"
        raise HypothesisError(msg)

    def complete(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """All parameters: given values validated, the others at their SM values."""
        full: dict[str, Any] = {p.name: p.sm for p in self.parameters}
        for name, value in values.items():
            self.parameter(name).check(value)
            full[name] = value
        if self.check is not None:
            self.check(full)
        return full

    def model(self, values: Mapping[str, Any] | None = None) -> PhysicsModel:
        """The physics model at ``values`` (missing parameters at their SM values)."""
        return self.make_model(self.complete(values or {}))

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickle a registered family by name (its model factory may be a lambda), others by value."""
        from cevns_hf.bsm import FAMILIES

        if FAMILIES.get(self.name) is self:
            return (get_family, (self.name,))
        return super().__reduce__()


@dataclass(frozen=True)
class Hypothesis:
    """A family and parameter values (validated on construction; hashable; canonical text form).

    Attributes:
        family: the :class:`Family` object.
        values: (name, value) pairs of the parameters given, sorted by name.
    """

    family: Family
    values: tuple[tuple[str, float], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(_as_object(self.family), Family):
            msg = f"Hypothesis needs a Family object, got {self.family!r}; use Hypothesis.from_mapping(name, ...)"
            raise HypothesisError(msg)
        self.family.complete(dict(self.values))

    @classmethod
    def from_mapping(cls, family: str | Family, values: Mapping[str, float]) -> Hypothesis:
        """Build from a family (object, or registered name) and a mapping of values (order-independent)."""
        fam = resolve_family(family)
        return cls(fam, tuple(sorted((k, float(v)) for k, v in values.items())))

    @property
    def parameters(self) -> dict[str, float]:
        """All parameters of the family, the SM values filled in."""
        return self.family.complete(dict(self.values))

    def model(self) -> PhysicsModel:
        """The physics model of this hypothesis."""
        return self.family.model(dict(self.values))

    @property
    def is_sm(self) -> bool:
        """True when every parameter is at its SM value."""
        return all(v == self.family.parameter(k).sm for k, v in self.values)

    def __str__(self) -> str:
        if not self.values:
            return self.family.name
        return self.family.name + ":" + ",".join(f"{k}={v:.12g}" for k, v in self.values)


def get_family(name: str) -> Family:
    """The registered family called ``name`` (see :data:`cevns_hf.bsm.FAMILIES`)."""
    from cevns_hf.bsm import FAMILIES

    try:
        return FAMILIES[name]
    except KeyError:
        msg = f"unknown hypothesis family {name!r}; valid families: {', '.join(sorted(FAMILIES))}"
        raise HypothesisError(msg) from None


def resolve_family(family: str | Family) -> Family:
    """A :class:`Family` object from itself or its registered name (resolution at the edge)."""
    return family if isinstance(family, Family) else get_family(family)


def parse_hypothesis(text: str) -> Hypothesis:
    """Parse ``family:name=value,name=value`` (``sm`` alone is the Standard Model).

    Example:
        >>> str(parse_hypothesis("weak_mixing:sin2_theta_w=0.24"))
        'weak_mixing:sin2_theta_w=0.24'
    """
    text = text.strip()
    family, _, rest = text.partition(":")
    family = family.strip()
    fam = get_family(family)
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        name, eq, raw = item.partition("=")
        name = name.strip()
        if not eq:
            msg = f"expected name=value in {item!r} of {text!r} (form: family:name=value,name=value)"
            raise HypothesisError(msg)
        fam.parameter(name)
        if name in values:
            msg = f"parameter {name!r} given twice in {text!r}"
            raise HypothesisError(msg)
        try:
            values[name] = parse_float(raw, name)
        except ConfigurationError as err:
            msg = f"{err}; expected {fam.parameter(name).describe()}"
            raise HypothesisError(msg) from None
    return Hypothesis.from_mapping(fam, values)


def sm_family() -> Family:
    """The Standard Model as a family without parameters."""
    return Family("sm", "the Standard Model", (), lambda _: StandardModel(), ("physics.md section 1",))
