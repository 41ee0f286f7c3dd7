"""Checks for parameter blocks, used where each config dataclass is built.

A wrong parameter stops the run at its start with a :class:`~msd_tagging.errors.ParameterError`
that names it by its dotted path (``listening.bpr.factors``) and says what it accepts,
instead of a ``KeyError`` or a numpy message minutes later.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from msd_tagging.errors import ParameterError

T = TypeVar("T")


def integer(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` if it is a whole number within bounds, else a :class:`ParameterError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(
            name, f"{value!r} is not a whole number.", fix=_bounds_text(minimum, maximum, "a whole number")
        )
    _check_bounds(int(value), name, minimum, maximum, "a whole number")
    return int(value)


def number(
    value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None, above: float | None = None
) -> float:
    """``value`` if it is a real number within bounds (``above``: strictly greater)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(name, f"{value!r} is not a number.", fix=_bounds_text(minimum, maximum, "a number"))
    if above is not None and not value > above:
        raise ParameterError(name, f"{value!r} must be above {above}.")
    _check_bounds(value, name, minimum, maximum, "a number")
    return float(value)


def choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ParameterError(name, f"{value!r} is not one of {', '.join(map(repr, choices))}.")
    return value


def block(params: Any, name: str, cls: type[T], **extra: Any) -> T:
    """Build the dataclass ``cls`` from the parameter block ``name``.

    Missing required keys and unknown keys are named (an unknown key is usually a typo
    that would otherwise be ignored); the dataclass's own ``__post_init__`` checks values.
    """
    if not isinstance(params, Mapping):
        raise ParameterError(name, f"expected a block of settings, found {params!r}.")
    known = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    given = {**params, **extra}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ParameterError(f"{name}.{unknown[0]}", f"unknown setting; {name} accepts {', '.join(sorted(known))}.")
    missing = sorted(required - set(given))
    if missing:
        raise ParameterError(
            f"{name}.{missing[0]}",
            "is required but missing.",
            fix=f"set it in conf/base/parameters_*.yml under {name}.",
        )
    return cls(**given)


def require(params: Mapping, name: str, *keys: str) -> None:
    """Every key of ``keys`` is in the block ``params`` (named ``name``)."""
    for key in keys:
        if key not in params:
            raise ParameterError(
                f"{name}.{key}", "is required but missing.", fix=f"set it in conf/base/parameters_*.yml under {name}."
            )


def _check_bounds(value, name: str, minimum, maximum, what: str) -> None:
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParameterError(name, f"{value!r} is out of range.", fix=_bounds_text(minimum, maximum, what))


def _bounds_text(minimum, maximum, what: str) -> str:
    if minimum is not None and maximum is not None:
        return f"use {what} from {minimum} to {maximum}."
    if minimum is not None:
        return f"use {what} of at least {minimum}."
    if maximum is not None:
        return f"use {what} of at most {maximum}."
    return f"use {what}."
