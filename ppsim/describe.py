"""What a protocol takes, for ``ppsim list --params NAME``: one row per parameter.

The rows come from the protocol's pydantic model: the type with its bounds
(``int in [2, 64]``), the default as a scenario file writes it, the field's
description (its docstring) and the name it had before a rename.
"""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from sim import ProtocolSpec


def parameters(spec: ProtocolSpec) -> list[dict[str, str]]:
    """One row per parameter of `spec`: ``name``, ``type`` (with its bounds),
    ``default`` (as a scenario would write it; "required" when there is none) and
    ``description`` (the field's docstring), in declaration order."""
    formerly = {new: old for old, new in spec.params.renamed.items()}
    rows = []
    for name, info in spec.params.model_fields.items():
        description = " ".join((info.description or "").split())
        if name in formerly:
            description += f" (formerly {formerly[name]!r})"
        default = "required" if info.is_required() else _toml(info.default)
        rows.append({"name": name, "type": _type(info.annotation, info.metadata),
                     "default": default, "description": description.strip()})
    return rows


def _type(annotation: Any, metadata: list[Any] = ()) -> str:
    """A short text for a parameter's type: ``int in [2, 64]``, ``additive | shamir``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        inner = [m for info in args[1:] for m in getattr(info, "metadata", [info])]
        return _type(args[0], [*inner, *metadata])
    if origin is Literal:
        text = " | ".join(str(a) for a in args)
    elif origin in (Union, UnionType):
        text = " | ".join(_type(a) for a in args if a is not type(None))
        text += " (or unset)" if type(None) in args else ""
    elif origin in (list, tuple):
        text = f"list of {_type(args[0])}" if args else "list"
    else:
        text = getattr(annotation, "__name__", str(annotation))
    return text + _bounds(metadata)


def _bounds(metadata: list[Any]) -> str:
    low = next(((m.ge, "[") for m in metadata if getattr(m, "ge", None) is not None),
               next(((m.gt, "(") for m in metadata if getattr(m, "gt", None) is not None), None))
    high = next(((m.le, "]") for m in metadata if getattr(m, "le", None) is not None),
                next(((m.lt, ")") for m in metadata if getattr(m, "lt", None) is not None), None))
    if low and high:
        return f" in {low[1]}{_number(low[0])}, {_number(high[0])}{high[1]}"
    if low:
        return f" {'>=' if low[1] == '[' else '>'} {_number(low[0])}"
    if high:
        return f" {'<=' if high[1] == ']' else '<'} {_number(high[0])}"
    return ""


def _number(value: float) -> str:
    return f"{value:,}".replace(",", "_") if isinstance(value, int) else f"{value:.15g}"


def _toml(value: Any) -> str:
    """`value` as a scenario file writes it (TOML); "unset" for None."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)
