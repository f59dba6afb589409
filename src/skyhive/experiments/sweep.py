"""``sweep(...)``: check the whole grid, skip the runs already done, run the rest on an engine, keep the table.

    >>> from skyhive.experiments import sweep
    >>> table = sweep("examples/sar-small.yaml", vary={"fleets.rescue.count": [4, 8]}, seeds="0-4",
    ...               until=200, out="out/sar-sweep")
    >>> table.to_pandas()   # pyarrow Table; pandas if installed
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skyhive.experiments.check import SweepError, check_sweep, document_fingerprint
from skyhive.experiments.engines import check_engine, run_rows
from skyhive.experiments.grid import Axis, Task, axis_from, parse_seeds, parse_vary, tasks_of
from skyhive.experiments.runner import STATUS_OK, RunSettings
from skyhive.experiments.table import ResultsDir, rows_to_table
from skyhive.scenario.load import Problem, read_document

Progress = Callable[[int, int, dict[str, Any] | None], None]
VaryArg = Mapping[str, Any] | Iterable[str | Axis] | None


@dataclass
class SweepPlan:
    """A checked sweep, before it runs: what to run, what is already done, where the rows go."""

    doc: dict[str, Any]
    base_dir: Path
    source: str
    axes: list[Axis]
    seeds: list[int]
    until: float | None
    tasks: list[Task]
    todo: list[Task] = field(default_factory=list)
    results: ResultsDir | None = None


def _axes(vary: VaryArg) -> tuple[list[Axis], list[Problem]]:
    """The axes that parse, and a problem for each one that does not."""
    axes: list[Axis] = []
    problems: list[Problem] = []
    if isinstance(vary, Mapping):
        for path, values in vary.items():
            try:
                axes.append(axis_from(str(path), values))
            except ValueError as exc:
                problems.append(Problem("--vary", f"{path}: {exc}"))
    elif vary is not None:
        for item in vary:
            try:
                axes.append(item if isinstance(item, Axis) else parse_vary(item))
            except ValueError as exc:
                problems.append(Problem("--vary", str(exc)))
    return axes, problems


def _read(scenario: str | Path | Mapping[str, Any], base_dir: str | Path | None) -> tuple[dict[str, Any], Path, str]:
    if isinstance(scenario, Mapping):
        return copy.deepcopy(dict(scenario)), Path(base_dir or Path.cwd()), "<scenario>"
    path = Path(scenario)
    doc, _lines = read_document(path)
    return doc, Path(base_dir) if base_dir is not None else path.parent.resolve(), str(path)


def plan_sweep(scenario: str | Path | Mapping[str, Any], vary: VaryArg = None,
               seeds: str | int | Iterable[int] | None = None, until: float | None = None,
               out: str | Path | None = None, engine: str = "local", address: str | None = None,
               retry_errors: bool = False, base_dir: str | Path | None = None) -> SweepPlan:
    """Read and check everything a sweep needs; raise SweepError (every problem at once) before any run."""
    doc, root, source = _read(scenario, base_dir)
    axes, problems = _axes(vary)
    try:
        seed_list = parse_seeds(seeds if seeds is not None else int(doc.get("seed", 0) or 0))
    except (ValueError, TypeError) as exc:
        seed_list = []
        problems.append(Problem("--seeds", str(exc)))
    if until is not None and not until > 0:
        problems.append(Problem("--until", f"must be a positive number of seconds, not {until}"))
    try:
        check_engine(engine, address)
    except RuntimeError as exc:
        problems.append(Problem("--engine", str(exc)))
    try:
        check_sweep(doc, root, axes, source)
    except SweepError as exc:
        problems.extend(exc.problems)
    plan = SweepPlan(doc, root, source, axes, seed_list, until, tasks_of(axes, seed_list) if seed_list else [])
    if out is not None:
        plan.results = ResultsDir(out)
        plan.results.first = [a.path for a in axes]
        spec = {"scenario": source, "scenario_fingerprint": document_fingerprint(doc),
                "paths": [a.path for a in axes], "until": until}
        old = plan.results.read_spec()
        if old is not None:
            for key in ("scenario_fingerprint", "paths", "until"):
                if old.get(key) != spec[key]:
                    problems.append(Problem("--out", f"{out} holds another sweep ({key} was {old.get(key)!r}, "
                                                     f"now {spec[key]!r}); use a new --out folder to keep both"))
    if problems:
        raise SweepError(source, problems)
    done: dict[str, dict[str, Any]] = {}
    if plan.results is not None:
        plan.results.write_spec(spec)
        done = plan.results.load()
    plan.todo = [t for t in plan.tasks
                 if t.run_id not in done or (retry_errors and done[t.run_id].get("status") != STATUS_OK)]
    return plan


def execute(plan: SweepPlan, jobs: int | None = None, engine: str = "local", address: str | None = None,
            summaries: bool = False, record: bool = False, progress: Progress | None = None) -> Any:
    """Run the plan's remaining tasks; return the table (pyarrow) of every run of the sweep.

    Ctrl-C (KeyboardInterrupt) stops the engine, writes the table of the runs done and re-raises.
    """
    jobs = jobs or os.cpu_count() or 1
    out_dir = str(plan.results.path.resolve()) if plan.results is not None else None
    settings = RunSettings(plan.doc, str(plan.base_dir), plan.until, out_dir, summaries, record)
    rows: dict[str, dict[str, Any]] = {} if plan.results is None else plan.results.rows
    total, finished = len(plan.tasks), len(plan.tasks) - len(plan.todo)
    if progress is not None:
        progress(finished, total, None)
    try:
        if plan.todo:
            for row in run_rows(engine, settings, plan.todo, jobs, address):
                if plan.results is not None:
                    plan.results.add(row)
                else:
                    rows[row["run_id"]] = row
                finished += 1
                if progress is not None:
                    progress(finished, total, row)
    finally:
        if plan.results is not None:
            plan.results.close()
    if plan.results is not None:
        return plan.results.table()
    return rows_to_table(list(rows.values()), [a.path for a in plan.axes])


def sweep(scenario: str | Path | Mapping[str, Any], vary: VaryArg = None,
          seeds: str | int | Iterable[int] | None = None, until: float | None = None, jobs: int | None = None,
          engine: str = "local", address: str | None = None, out: str | Path | None = None,
          summaries: bool = False, record: bool = False, retry_errors: bool = False,
          progress: Progress | None = None, base_dir: str | Path | None = None) -> Any:
    """Run ``scenario`` for every combination of the ``vary`` values and every seed; return a pyarrow Table.

    ``vary`` maps a dotted path to its values (a list, or a string as on the command line: ``"0:0.3:0.1"``), or
    is a list of ``"PATH=V1,V2"`` strings.  ``seeds``: ``"0-49"``, a list, or one number (default: the
    scenario's seed).  With ``out``, rows are kept in that folder and a second call skips the runs done.
    Raises SweepError listing every problem of the grid before any run starts.
    """
    plan = plan_sweep(scenario, vary, seeds, until, out, engine, address, retry_errors, base_dir)
    return execute(plan, jobs, engine, address, summaries, record, progress)


__all__: Sequence[str] = ["SweepPlan", "execute", "plan_sweep", "sweep"]
