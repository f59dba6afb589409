"""Sweep engines: 200 short runs of examples/sar-small.yaml (seeds 0-199, the first 30 s of the mission) in
series (in-process), on the local process pool and on a local Dask cluster (and Ray if installed), both with
2 workers.  Speed-up is against the serial run.

Per-run overhead, two ways:

* wall: the worker time not spent inside runs, ``((wall - start) * workers - sum(run wall)) / runs``, with
  ``start`` (the time before the first run began: starting the pool or cluster, the workers' imports) shown on
  its own.  On a machine that other jobs load, this grows with the load.
* CPU: every CPU second this process and the processes it started (workers, nannies, schedulers, raylets) spent
  during the sweep, less the CPU seconds inside the runs, per run (start-up included).  It does not depend on
  how long the scheduler made a process wait, so it is the figure to read on a loaded machine.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Any

from skyhive.bench import BenchTable

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sar-small.yaml"
UNTIL_S = 30.0


def _tree_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of this process and every live descendant, by pid ({} without psutil)."""
    try:
        import psutil
    except ImportError:
        return {}
    me = psutil.Process()
    out: dict[int, float] = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            out[proc.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


def measure(engine: str, jobs: int, runs: int) -> dict[str, Any]:
    from skyhive.experiments import sweep

    first: list[float] = []
    cpu_end: list[dict[int, float]] = []
    cpu_start = _tree_cpu()
    t0 = time.perf_counter()

    def progress(done: int, total: int, row: dict[str, Any] | None) -> None:
        if row is not None and not first:
            first.append(time.perf_counter() - t0 - float(row["run_wall_s"] or 0.0))
        if row is not None and done == total:
            cpu_end.append(_tree_cpu())  # before the engine stops the processes it started

    table = sweep(EXAMPLE, seeds=f"0-{runs - 1}", until=UNTIL_S, jobs=jobs, engine=engine, progress=progress)
    wall = time.perf_counter() - t0
    rows = table.to_pylist()
    busy = sum(float(r["run_wall_s"] or 0.0) for r in rows)
    in_runs = sum(float(r["run_cpu_s"] or 0.0) for r in rows)
    start = first[0] if first else 0.0
    spent = sum(c - cpu_start.get(pid, 0.0) for pid, c in cpu_end[0].items()) if cpu_end and cpu_start else None
    n = max(len(rows), 1)
    return {"engine": engine, "workers": jobs, "runs": len(rows),
            "errors": sum(1 for r in rows if r["status"] != "ok"), "wall_s": wall, "start_s": start,
            "run_s_mean": busy / n, "run_cpu_s_mean": in_runs / n,
            "overhead_ms": 1000.0 * ((wall - start) * jobs - busy) / n,
            "overhead_cpu_ms": None if spent is None else 1000.0 * (spent - in_runs) / n}


def run(quick: bool) -> BenchTable:
    runs = 20 if quick else 200
    cols = ["engine", "workers", "runs", "errors", "wall_s", "runs/hour", "speed-up", "start_s", "run_s_mean",
            "run_cpu_s_mean", "overhead_ms/run", "overhead_cpu_ms/run"]
    table = BenchTable(f"Sweep engines: {runs} runs of examples/sar-small.yaml (until {UNTIL_S:g} s)", cols)
    plan = [("local", 1), ("local", 2)]
    plan += [("dask", 2)] if importlib.util.find_spec("distributed") else []
    plan += [("ray", 2)] if importlib.util.find_spec("ray") else []
    serial = None
    load_before = os.getloadavg()
    for engine, jobs in plan:
        r = measure(engine, jobs, runs)
        serial = serial or r["wall_s"]
        cpu = r["overhead_cpu_ms"]
        table.rows.append([engine, jobs, r["runs"], r["errors"], round(r["wall_s"], 1),
                           f"{3600.0 * r['runs'] / r['wall_s']:,.0f}", f"{serial / r['wall_s']:.2f}",
                           round(r["start_s"], 2), round(r["run_s_mean"], 3), round(r["run_cpu_s_mean"], 3),
                           round(r["overhead_ms"], 1), "n/a (no psutil)" if cpu is None else round(cpu, 1)])
    load_after = os.getloadavg()
    table.notes.append("local with 1 worker runs in-process (the serial baseline); speed-up = serial wall / wall; "
                       "overhead_ms = ((wall - start) * workers - sum of run wall times) / runs, start = the time "
                       "before the first run began; overhead_cpu_ms = (CPU of this process and all it started "
                       "- CPU inside the runs) / runs, start-up included")
    table.notes.append(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
                       f"after: {', '.join(f'{x:.2f}' for x in load_after)}")
    if quick:
        table.notes.append(f"quick: {runs} runs only")
    return table
