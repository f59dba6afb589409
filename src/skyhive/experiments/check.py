"""Check a whole sweep before any run starts: every path, every value, every combination, all problems at once.

Each problem names the field path the scenario's own validation names (``fleets.0.count``) and, in its message,
the ``--vary`` value or the combination that causes it.  A value that is wrong on its own is reported once for
that value, not once for every combination it takes part in.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from skyhive.experiments.grid import Axis
from skyhive.experiments.paths import PathError, resolve, set_path
from skyhive.scenario.load import Problem, ScenarioError, scenario_from_dict

RESERVED = {"seed": "vary the seed with --seeds (seeds: in a sweep file), not as a path"}
MAX_COMBINATIONS_CHECKED = 20_000


class SweepError(ScenarioError):
    """A sweep that cannot start; ``problems`` lists every reason (field path and message)."""


def apply_values(doc: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the scenario document with each path set to its value."""
    out = copy.deepcopy(doc)
    for path, value in values.items():
        set_path(out, path, copy.deepcopy(value))
    return out


def _label(values: dict[str, Any]) -> str:
    return ", ".join(f"{p}={v!r}" for p, v in values.items())


def scenario_problems(doc: dict[str, Any], base_dir: Path) -> list[Problem]:
    """What ``skyhive validate`` would list for this document (without line numbers)."""
    try:
        scenario_from_dict(doc, base_dir)
    except ScenarioError as exc:
        return list(exc.problems)
    except ValidationError as exc:  # pragma: no cover - scenario_from_dict turns these into problems
        return [Problem("", str(exc))]
    return []


def _problems_with(doc: dict[str, Any], values: dict[str, Any], base_dir: Path) -> list[Problem]:
    try:
        changed = apply_values(doc, values)
    except PathError as exc:
        return [Problem(exc.where, str(exc))]
    return scenario_problems(changed, base_dir)


def check_sweep(doc: dict[str, Any], base_dir: Path, axes: Sequence[Axis], source: str = "sweep") -> None:
    """Raise SweepError listing every problem of the paths, the values and the combinations; else return."""
    problems: list[Problem] = []
    base = scenario_problems(doc, base_dir)
    problems += [Problem(p.path, f"in the scenario itself: {p.message}") for p in base]
    paths = [a.path for a in axes]
    for path in sorted({p for p in paths if paths.count(p) > 1}):
        problems.append(Problem(path, "varied twice; give all its values in one --vary"))
    good_axes: list[Axis] = []
    for axis in axes:
        if axis.path in RESERVED:
            problems.append(Problem(axis.path, RESERVED[axis.path]))
            continue
        if not axis.values:
            problems.append(Problem(axis.path, "no values to vary"))
            continue
        try:
            resolve(doc, axis.path)
        except PathError as exc:
            problems.append(Problem(exc.where, f"--vary {axis.path}: {exc}"))
            continue
        reprs = [repr(v) for v in axis.values]
        for dup in sorted({r for r in reprs if reprs.count(r) > 1}):
            problems.append(Problem(axis.path, f"value {dup} is listed more than once"))
        good_axes.append(axis)
    if base:
        raise SweepError(source, problems)

    # Each value on its own (the other axes at the scenario's values): problems are named by that value.
    known: set[tuple[str, str]] = set()
    bad: set[tuple[str, str]] = set()
    for axis in good_axes:
        for value in axis.values:
            for p in _problems_with(doc, {axis.path: value}, base_dir):
                known.add((p.path, p.message))
                bad.add((axis.path, repr(value)))
                problems.append(Problem(p.path, f"with {axis.path}={value!r}: {p.message}"))
    # Then every combination of the values that are fine on their own, for what only shows in combination.
    if len(good_axes) > 1:
        combos = list(itertools.islice(itertools.product(*(a.values for a in good_axes)),
                                       MAX_COMBINATIONS_CHECKED + 1))
        if len(combos) > MAX_COMBINATIONS_CHECKED:
            problems.append(Problem("", f"more than {MAX_COMBINATIONS_CHECKED:,} combinations of values"))
            combos = []
        for combo in combos:
            values = {a.path: v for a, v in zip(good_axes, combo, strict=True)}
            if any((p, repr(v)) in bad for p, v in values.items()):
                continue
            for p in _problems_with(doc, values, base_dir):
                if (p.path, p.message) not in known:
                    problems.append(Problem(p.path, f"with {_label(values)}: {p.message}"))
    if problems:
        raise SweepError(source, problems)


def document_fingerprint(doc: dict[str, Any]) -> str:
    """A stable hash of a scenario document (the sweep's identity on resume)."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]

