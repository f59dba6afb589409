"""Sweep engines: 200 short runs of examples/sar-small.yaml (seeds 0-199, the first 30 s of the mission) in
series (in-process), on the local process pool and on a local Dask cluster (and Ray if installed), both with
2 workers.  Speed-up is against the serial run; the per-run overhead is the worker time not spent inside runs:
``(wall - start) * workers - sum(run wall)`` over the runs, with ``start`` the time before the first run began
(starting the pool or cluster and the workers' imports) shown on its own."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Any

from skyhive.bench import BenchTable

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sar-small.yaml"
UNTIL_S = 30.0


def measure(engine: str, jobs: int, runs: int) -> dict[str, Any]:
    from skyhive.experiments import sweep

    first: list[float] = []
    t0 = time.perf_counter()

    def progress(done: int, total: int, row: dict[str, Any] | None) -> None:
        if row is not None and not first:
            first.append(time.perf_counter() - t0 - float(row["run_wall_s"] or 0.0))

    table = sweep(EXAMPLE, seeds=f"0-{runs - 1}", until=UNTIL_S, jobs=jobs, engine=engine, progress=progress)
    wall = time.perf_counter() - t0
    rows = table.to_pylist()
    busy = sum(float(r["run_wall_s"] or 0.0) for r in rows)
    start = first[0] if first else 0.0
    return {"engine": engine, "workers": jobs, "runs": len(rows),
            "errors": sum(1 for r in rows if r["status"] != "ok"), "wall_s": wall, "start_s": start,
            "run_s_mean": busy / max(len(rows), 1),
            "overhead_ms": 1000.0 * ((wall - start) * jobs - busy) / max(len(rows), 1)}


def run(quick: bool) -> BenchTable:
    runs = 20 if quick else 200
    cols = ["engine", "workers", "runs", "errors", "wall_s", "runs/hour", "speed-up", "start_s", "run_s_mean",
            "overhead_ms/run"]
    table = BenchTable(f"Sweep engines: {runs} runs of examples/sar-small.yaml (until {UNTIL_S:g} s)", cols)
    plan = [("local", 1), ("local", 2)]
    plan += [("dask", 2)] if importlib.util.find_spec("distributed") else []
    plan += [("ray", 2)] if importlib.util.find_spec("ray") else []
    serial = None
    load_before = os.getloadavg()
    for engine, jobs in plan:
        r = measure(engine, jobs, runs)
        serial = serial or r["wall_s"]
        table.rows.append([engine, jobs, r["runs"], r["errors"], round(r["wall_s"], 1),
                           f"{3600.0 * r['runs'] / r['wall_s']:,.0f}", f"{serial / r['wall_s']:.2f}",
                           round(r["start_s"], 2), round(r["run_s_mean"], 3), round(r["overhead_ms"], 1)])
    table.notes.append("local with 1 worker runs in-process (the serial baseline); speed-up = serial wall / wall; "
                       "overhead per run = ((wall - start) * workers - sum of run wall times) / runs, with start "
                       "= the time before the first run began (pool/cluster start, worker imports)")
    load_after = os.getloadavg()
    table.notes.append(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
                       f"after: {', '.join(f'{x:.2f}' for x in load_after)}")
    if quick:
        table.notes.append(f"quick: {runs} runs only")
    return table
