"""Typed parameter blocks: one frozen dataclass per block of ``conf/<env>/parameters*.yml``.

A block class is declared once, with its fields' types, defaults and bounds::

    @parameters("listening.bpr")
    class BPRConfig:
        factors: int = setting(200, minimum=1)
        weighting: Literal["binary", "log1p", "raw"] = "log1p"

and built from a plain mapping: ``BPRConfig(**yaml_block)``. That is how Kedro (1.3 and
later) builds the typed ``params:`` input of a node, before the first node runs, so a
wrong parameter stops the run at its start with a :class:`~msd_tagging.core.errors.ParameterError`
that names it by its dotted path (``listening.bpr.factors``) and says what it accepts.

Every field is checked against its annotation: ``int`` and ``float`` (with the bounds
given to :func:`setting`), ``bool``, ``str``, ``Literal[...]`` (a choice), ``X | None``,
``tuple[...]`` and ``list[...]`` (YAML lists become tuples), ``dict`` and nested blocks (a
mapping becomes that block's class). Unknown keys (usually typos, which would otherwise be
ignored) and missing required keys are named. Checks across fields stay in the class's
own ``__post_init__``, which runs after these. No Kedro import: any layer may use it.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from msd_tagging.core.errors import ParameterError

T = TypeVar("T")

BLOCK = "__parameter_block__"


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
    if value != value:  # NaN passes every comparison below
        raise ParameterError(name, "NaN is not a number here.", fix=_bounds_text(minimum, maximum, "a number"))
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


def setting(
    default: Any = MISSING,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    factory: Any = MISSING,
) -> Any:
    """A field of a parameter block with bounds (for numbers, or each number of a tuple).

    Args:
        default: the default value; leave it out for a required setting.
        minimum, maximum: inclusive bounds; above: a strict lower bound.
        factory: a callable giving the default (for mutable defaults).
    """
    metadata = {"minimum": minimum, "maximum": maximum, "above": above}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def parameters(name: str, *, blocks: Mapping[str, type] | None = None):
    """Class decorator: ``cls`` becomes a frozen dataclass for the parameter block ``name``.

    Building it checks every field against its annotation and bounds, then runs the class's
    own ``__post_init__`` (checks across fields). See the module docstring.

    Args:
        blocks: more fields, one sub-block each, declared elsewhere (a registry's settings:
            ``{"bpr": BPRConfig, "als": ALSConfig}``), each defaulting to its class's defaults.
    """

    def wrap(cls: type[T]) -> type[T]:
        for key, block_cls in (blocks or {}).items():
            cls.__annotations__[key] = block_cls
            setattr(cls, key, field(default_factory=block_cls))
        own_post_init = cls.__dict__.get("__post_init__")

        def __post_init__(self) -> None:
            hints = _hints(type(self))
            for f in fields(self):
                value = getattr(self, f.name)
                checked = _check(value, hints[f.name], f"{name}.{f.name}", f.metadata)
                if checked is not value:
                    object.__setattr__(self, f.name, checked)
            if own_post_init is not None:
                own_post_init(self)

        cls.__post_init__ = __post_init__
        cls = dataclass(frozen=True)(cls)
        generated = cls.__init__

        @functools.wraps(generated)
        def __init__(self, *args, **kwargs):
            _check_keys(type(self), name, len(args), kwargs)
            generated(self, *args, **kwargs)

        cls.__init__ = __init__
        setattr(cls, BLOCK, name)
        return cls

    return wrap


def block_name(cls_or_instance: Any) -> str | None:
    """The dotted name of a parameter block class (or instance), ``None`` for other types."""
    return getattr(cls_or_instance, BLOCK, None)


def is_block(cls: Any) -> bool:
    return isinstance(cls, type) and dataclasses.is_dataclass(cls) and block_name(cls) is not None


def as_dict(block: Any) -> dict:
    """A block as plain data (tuples as lists), e.g. to record it in a report."""

    def plain(value):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(block)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_keys(cls: type, name: str, n_positional: int, given: Mapping) -> None:
    """Unknown keys and missing required keys, named by their dotted path."""
    names = [f.name for f in fields(cls) if f.init]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ParameterError(f"{name}.{unknown[0]}", f"unknown setting; {name} accepts {', '.join(sorted(names))}.")
    supplied = set(names[:n_positional]) | set(given)
    for f in fields(cls):
        if f.init and f.name not in supplied and f.default is MISSING and f.default_factory is MISSING:
            raise ParameterError(
                f"{name}.{f.name}",
                "is required but missing.",
                fix=f"set it in conf/base/parameters_*.yml under {name}.",
            )


def _check(value: Any, annotation: Any, key: str, meta: Mapping) -> Any:
    """``value`` checked against ``annotation`` (and converted: lists to tuples, mappings
    to nested blocks); a :class:`ParameterError` naming ``key`` otherwise."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or isinstance(annotation, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return None
        if len(options) == 1:
            return _check(value, options[0], key, meta)
        return value
    if origin is Literal:
        return choice(value, key, args)
    if annotation is Any or annotation is object:
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ParameterError(key, f"{value!r} is not true or false.", fix="use true or false.")
        return value
    if annotation is int:
        return integer(value, key, minimum=meta.get("minimum"), maximum=meta.get("maximum"))
    if annotation is float:
        return number(value, key, minimum=meta.get("minimum"), maximum=meta.get("maximum"), above=meta.get("above"))
    if annotation is str:
        if not isinstance(value, str):
            raise ParameterError(key, f"{value!r} is not text.", fix="quote it in the YAML file.")
        return value
    if origin in (tuple, list) or annotation in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ParameterError(key, f"{value!r} is not a list.", fix="write it as a YAML list, e.g. [a, b].")
        if not args:
            items = list(value)
        elif origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ParameterError(key, f"needs {len(args)} values, got {len(value)}.")
            items = [_check(v, a, f"{key}[{i}]", meta) for i, (v, a) in enumerate(zip(value, args, strict=True))]
        else:
            items = [_check(v, args[0], f"{key}[{i}]", meta) for i, v in enumerate(value)]
        return tuple(items) if (origin or annotation) is tuple else items
    if origin is dict or annotation is dict:
        if not isinstance(value, Mapping):
            raise ParameterError(key, f"{value!r} is not a block of settings.")
        return dict(value)
    if is_block(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, Mapping):
            raise ParameterError(key, f"expected a block of settings, found {value!r}.")
        return annotation(**value)
    return value


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
