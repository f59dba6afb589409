"""One run of a sweep, as executed on a worker: apply the values, build the simulation, run it, make the row.

The row holds the summary that ``skyhive run`` writes for the same scenario, values and seed (the same values,
read back from the same JSON conversion), with nested sections flattened (``drones_by_status.landed``) and
lists left out (they are in the optional per-run summary JSON).  A run that raises becomes a row with
``status = "error"`` and the message; it never ends the sweep.
"""

from __future__ import annotations

import os
import platform
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skyhive.experiments.check import apply_values
from skyhive.experiments.grid import Task

STATUS_OK = "ok"
STATUS_ERROR = "error"
# Columns every row has, before the varied values and the metrics.
BOOKKEEPING = ("run_id", "seed", "status", "error", "run_wall_s", "run_cpu_s", "worker")
# Summary fields that measure the machine, not the run: they differ between two runs of the same seed.
TIMING_FIELDS = ("wall_time_s", "real_time_factor")


@dataclass(frozen=True)
class RunSettings:
    """What every run of a sweep shares; shipped once to each worker."""

    doc: dict[str, Any]
    base_dir: str
    until: float | None = None
    out_dir: str | None = None
    summaries: bool = False
    record: bool = False
    numba_threads: int | None = 1  # one run per core: the sweep is the parallelism (None: numba's default)


def flatten_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Scalar fields as they are, one level of nested scalars as ``section.field``; lists are left out."""
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if inner is None or isinstance(inner, bool | int | float | str):
                    flat[f"{key}.{sub}"] = inner
        elif value is None or isinstance(value, bool | int | float | str):
            flat[key] = value
    return flat


def _worker_name() -> str:
    return f"{platform.node()}:{os.getpid()}"


def run_task(settings: RunSettings, task: Task) -> dict[str, Any]:
    """Run one task and return its row (never raises for a failing run)."""
    import numba

    threads_before = numba.get_num_threads()
    if settings.numba_threads is not None:
        numba.set_num_threads(max(1, min(settings.numba_threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    try:
        return _run(settings, task)
    finally:
        numba.set_num_threads(threads_before)


def _run(settings: RunSettings, task: Task) -> dict[str, Any]:
    from skyhive.record.writer import summary_json_data, write_summary_json
    from skyhive.scenario.load import ScenarioError, scenario_from_dict
    from skyhive.sim import Simulation

    start, cpu_start = time.perf_counter(), time.process_time()
    rid = task.run_id
    row: dict[str, Any] = {"run_id": rid, **task.values, "seed": task.seed, "status": STATUS_OK, "error": None}
    recorder = None
    try:
        base_dir = Path(settings.base_dir)
        scenario = scenario_from_dict(apply_values(settings.doc, task.values), base_dir)
        sim = Simulation(scenario, seed=task.seed, base_dir=base_dir)
        out = Path(settings.out_dir) / "runs" if settings.out_dir else None
        if settings.record and out is not None:
            from skyhive.record.attach import attach_recorder

            out.mkdir(parents=True, exist_ok=True)
            recorder = attach_recorder(sim, out / f"{rid}.mcap")
        try:
            sim.run(until=settings.until)
        finally:
            if recorder is not None:
                recorder.close()
        metrics = sim.metrics
        if settings.summaries and out is not None:
            write_summary_json(out / f"{rid}.summary.json", metrics)
        summary = summary_json_data(metrics)
        for key, value in flatten_summary(summary).items():
            row.setdefault(key, value)
    except ScenarioError as exc:
        row.update(status=STATUS_ERROR, error="invalid scenario: " + "; ".join(str(p) for p in exc.problems))
    except Exception as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # Ctrl-C inside a compiled kernel arrives as a SystemError
        where = traceback.extract_tb(exc.__traceback__)[-1]
        row.update(status=STATUS_ERROR, error=f"{type(exc).__name__}: {exc} "
                                              f"(at {Path(where.filename).name}:{where.lineno})")
    row["run_wall_s"] = round(time.perf_counter() - start, 4)
    row["run_cpu_s"] = round(time.process_time() - cpu_start, 4)
    row["worker"] = _worker_name()
    return row


def ignore_interrupts() -> None:
    """Worker-process initializer: Ctrl-C is the sweep's to handle (it stops the workers), not each worker's."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def error_row(task: Task, message: str) -> dict[str, Any]:
    """The row of a run whose worker died or that the engine could not run."""
    return {"run_id": task.run_id, **task.values, "seed": task.seed, "status": STATUS_ERROR, "error": message,
            "run_wall_s": None, "run_cpu_s": None, "worker": None}
