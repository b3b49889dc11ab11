"""Strategy parameters given from outside: `--param NAME=VALUE`, a sweep's grid, a notebook's dict.

A strategy declares its tunables and their defaults in `PARAMETERS`; an override may only name
a declared parameter and must have the default's type, so a typo (`--param fsat=5`) or a
wrong kind of value (`--param fast=fast`) stops the run with one sentence before anything
runs, instead of silently testing the default. Text values (command line, grid files) are
converted to the default's type; Python values are checked against it (an int is accepted
where the default is a float).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tradeexecutor.errors import UserError

if TYPE_CHECKING:
    from tradeexecutor.strategy.module import StrategyModule

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_KIND = {bool: "true or false", int: "a whole number", float: "a number", Decimal: "a number", str: "text"}


class ParameterError(UserError):
    """An override names no declared parameter or has the wrong type."""


def split_assignment(text: str, flag: str = "--param") -> tuple[str, str]:
    """'fast=12' -> ('fast', '12'); one sentence for anything else."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"{flag} {text!r} is not NAME=VALUE; write e.g. {flag} fast=12.")
    return name.strip(), value.strip()


def check_name(name: str, declared: Mapping[str, Any], where: str) -> None:
    if name in declared:
        return
    if not declared:
        raise ParameterError(
            f"{where} has no PARAMETERS, so there is no parameter {name!r} to set; declare it in PARAMETERS first."
        )
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ParameterError(f"{where} has no parameter {name!r}; {hint}It has {', '.join(sorted(declared))}.")


def _kind(default: Any) -> type | None:
    for kind in (bool, int, float, Decimal, str):  # bool before int: True is an int too
        if isinstance(default, kind):
            return kind
    return None


def _wrong(name: str, value: Any, default: Any, flag: str) -> ParameterError:
    kind = _KIND.get(_kind(default) or object, type(default).__name__)
    return ParameterError(
        f"{flag} {name}={value!r} is not valid: {name} is {kind} (its default is {default!r}); "
        f"give e.g. {flag} {name}={default!r}."
    )


def convert_text(name: str, text: str, default: Any, flag: str = "--param") -> Any:
    """A text value converted to the type of `default`."""
    kind = _kind(default)
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError(text)
        if kind is int:
            return int(text.replace("_", ""))
        if kind is float:
            value = float(text.replace("_", ""))
            if not math.isfinite(value):
                raise ValueError(text)
            return value
        if kind is Decimal:
            value = Decimal(text.replace("_", ""))
            if not value.is_finite():
                raise ValueError(text)
            return value
        if kind is str:
            return text
    except (ValueError, InvalidOperation):
        raise _wrong(name, text, default, flag) from None
    try:  # None, a list, a tuple...: a Python literal, else the text itself
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def check_value(name: str, value: Any, default: Any, flag: str = "parameter") -> Any:
    """A Python value checked against the type of `default` (ints widen to float/Decimal)."""
    kind = _kind(default)
    if kind is None or value is None:
        return value
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in (float, Decimal):
        ok = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        if ok and kind is float:
            value = float(value)
            ok = math.isfinite(value)
        elif ok and kind is Decimal and not isinstance(value, Decimal):
            value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise _wrong(name, value, default, flag)
    return value


def resolve_parameters(
    declared: Mapping[str, Any],
    *,
    texts: Iterable[str] = (),
    values: Mapping[str, Any] | None = None,
    where: str = "The strategy",
) -> dict[str, Any]:
    """The overrides, checked: `texts` as NAME=VALUE strings, `values` as Python values."""
    resolved: dict[str, Any] = {}
    for text in texts:
        name, raw = split_assignment(text)
        check_name(name, declared, where)
        resolved[name] = convert_text(name, raw, declared[name])
    for name, value in (values or {}).items():
        check_name(name, declared, where)
        resolved[name] = (
            convert_text(name, value, declared[name], "parameter")
            if isinstance(value, str) and not isinstance(declared[name], str)
            else check_value(name, value, declared[name])
        )
    return resolved


def with_parameters(
    module: StrategyModule, *, texts: Iterable[str] = (), values: Mapping[str, Any] | None = None
) -> StrategyModule:
    """The module with its PARAMETERS overridden (checked); the module itself is unchanged."""
    overrides = resolve_parameters(
        module.parameters, texts=texts, values=values, where=f"Strategy file {module.path}"
    )
    if not overrides:
        return module
    return dataclasses.replace(module, parameters=MappingProxyType({**module.parameters, **overrides}))
