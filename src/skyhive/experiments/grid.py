"""The grid of a sweep: parameter axes (``PATH=V1,V2``, ranges ``start:stop:step``), seeds, and the runs.

Values are read as YAML scalars (``0.1`` a number, ``true`` a boolean, ``cbba`` a string, ``[1, 2]`` a list);
a range ``start:stop:step`` includes ``stop`` when the steps land on it (``0:0.3:0.1`` is 0, 0.1, 0.2, 0.3).
Each run is one combination of axis values and one seed; its ``run_id`` depends only on those, so a re-run
of the same sweep finds the runs it already has.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?$")
MAX_RANGE_VALUES = 10_000


@dataclass(frozen=True)
class Axis:
    """One varied parameter: a dotted path into the scenario and the values it takes."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Task:
    """One run of the sweep: a value per axis (by path, in axis order) and a seed."""

    values: dict[str, Any] = field(hash=False)
    seed: int

    @property
    def run_id(self) -> str:
        return run_id(self.values, self.seed)


def run_id(values: Mapping[str, Any], seed: int) -> str:
    text = json.dumps({"values": dict(values), "seed": int(seed)}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _decimals(text: str) -> int:
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def expand_range(text: str) -> list[Any] | None:
    """``start:stop[:step]`` as a list of numbers (``None`` when ``text`` is not a range)."""
    m = _RANGE.match(text)
    if m is None:
        return None
    a, b, c = m.group(1), m.group(2), m.group(3) or "1"
    start, stop, step = float(a), float(b), float(c)
    if step == 0 or (stop - start) * step < 0:
        raise ValueError(f"range {text!r}: the step {c} never gets from {a} to {b}")
    n = math.floor((stop - start) / step + 1e-9) + 1
    if n > MAX_RANGE_VALUES:
        raise ValueError(f"range {text!r} has {n:,} values (at most {MAX_RANGE_VALUES:,})")
    if all(re.fullmatch(r"[-+]?\d+", s) for s in (a, b, c)):
        return [int(a) + k * int(c) for k in range(n)]
    places = max(_decimals(a), _decimals(c))
    return [round(start + k * step, places) for k in range(n)]


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets or braces (``[1, 2],[3, 4]`` is two values)."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"value {text!r} is not a YAML scalar or list: {str(exc).splitlines()[0]}") from None


def parse_values(text: str) -> list[Any]:
    """``V1,V2,...`` with ranges expanded, e.g. ``0:0.2:0.1,0.5`` -> [0.0, 0.1, 0.2, 0.5]."""
    values: list[Any] = []
    for item in _split_top_level(text):
        if item == "":
            raise ValueError(f"empty value in {text!r}")
        expanded = expand_range(item)
        values.extend(expanded if expanded is not None else [parse_value(item)])
    return values


def parse_vary(text: str) -> Axis:
    """``PATH=V1,V2,...`` as an Axis."""
    path, sep, rest = text.partition("=")
    if not sep or not path.strip() or not rest.strip():
        raise ValueError(f"--vary {text!r}: expected PATH=V1,V2,... (e.g. wind.speed_mps=0,5,10)")
    return Axis(path.strip(), tuple(parse_values(rest)))


def axis_from(path: str, values: Any) -> Axis:
    """An axis from a sweep file or the Python API: a list of values, or a string as on the command line."""
    if isinstance(values, str):
        return Axis(path, tuple(parse_values(values)))
    if isinstance(values, Sequence):
        return Axis(path, tuple(values))
    return Axis(path, (values,))


def parse_seeds(spec: str | int | Iterable[int]) -> list[int]:
    """``0-49``, ``0,3,7``, ``0-9,20``, a number or a list of numbers; duplicates dropped, order kept."""
    if isinstance(spec, bool):
        raise ValueError("seeds are integers, not true/false")
    if isinstance(spec, int):
        seeds = [spec]
    elif isinstance(spec, str):
        seeds = []
        for item in _split_top_level(spec):
            m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", item)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2))
                if hi < lo:
                    raise ValueError(f"seeds {item!r}: the range runs backwards")
                if hi - lo >= 1_000_000:
                    raise ValueError(f"seeds {item!r}: more than a million seeds")
                seeds.extend(range(lo, hi + 1))
            elif re.fullmatch(r"\d+", item):
                seeds.append(int(item))
            else:
                raise ValueError(f"seeds {spec!r}: expected e.g. 0-49, 0,3,7 or 0-9,20 (non-negative integers)")
    else:
        seeds = [int(s) for s in spec]
    if any(s < 0 or s >= 2**63 for s in seeds):
        raise ValueError("a seed is a non-negative integer below 2**63")
    if not seeds:
        raise ValueError("no seeds")
    return list(dict.fromkeys(seeds))


def tasks_of(axes: Sequence[Axis], seeds: Sequence[int]) -> list[Task]:
    """Every combination of axis values times every seed (seeds innermost)."""
    combos = itertools.product(*(a.values for a in axes)) if axes else [()]
    return [Task({a.path: v for a, v in zip(axes, combo, strict=True)}, s) for combo in combos for s in seeds]
