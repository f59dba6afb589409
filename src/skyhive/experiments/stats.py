"""Statistics of a sweep table: per combination of varied values, each metric's mean and 95 % confidence
interval over seeds (Student's t: mean +/- t(0.975, n-1) * s / sqrt(n), with s the sample standard deviation).

A run whose metric is null (e.g. ``search_time_to_find_all_s`` when not every person was found) does not count
towards that metric's n; n is shown next to every mean.  Error rows count towards nothing (they are listed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skyhive.experiments.runner import BOOKKEEPING, STATUS_OK, TIMING_FIELDS


@dataclass(frozen=True)
class Estimate:
    """One metric over the seeds of one combination."""

    n: int
    mean: float
    low: float
    high: float
    std: float


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95 % t-interval; with one value the interval is that value's point (NaN half-width)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return Estimate(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return Estimate(1, mean, math.nan, math.nan, math.nan)
    from scipy.stats import t

    std = float(x.std(ddof=1))
    half = float(t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return Estimate(n, mean, mean - half, mean + half, std)


def metric_columns(rows: list[dict[str, Any]], axes: Sequence[str]) -> list[str]:
    """Numeric (or boolean) metrics that vary between the ok runs, in table order."""
    skip = {*BOOKKEEPING, *axes, *TIMING_FIELDS, "run_cpu_s"} - {"run_wall_s"}
    ok = [r for r in rows if r.get("status") == STATUS_OK]
    names: dict[str, None] = {}
    for row in ok:
        names.update(dict.fromkeys(k for k in row if k not in skip))
    out = []
    for name in names:
        values = [r.get(name) for r in ok]
        present = [v for v in values if v is not None]
        if not present or not all(isinstance(v, int | float) for v in present):
            continue
        if len({float(v) for v in present}) <= 1 and len(present) == len(values):
            continue  # the same in every run: nothing to plot
        out.append(name)
    return out


def combos(rows: list[dict[str, Any]], axes: Sequence[str]) -> list[tuple[Any, ...]]:
    """The combinations of varied values that occur, in the order of the table."""
    return list(dict.fromkeys(tuple(r.get(a) for a in axes) for r in rows))


def group_estimates(rows: list[dict[str, Any]], axes: Sequence[str], metric: str,
                    by: Sequence[str] | None = None) -> dict[tuple[Any, ...], Estimate]:
    """Estimate of ``metric`` per combination of the ``by`` columns (default: every axis), ok rows only."""
    keys = list(axes if by is None else by)
    groups: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        if row.get("status") != STATUS_OK:
            continue
        value = row.get(metric)
        groups.setdefault(tuple(row.get(a) for a in keys), []).append(
            float(value) if isinstance(value, int | float) else math.nan)
    return {key: estimate(values) for key, values in groups.items()}
