"""Search-and-rescue benchmark: examples/sar-100.yaml (100 drones, 4 km x 4 km, 20 hidden persons, 500 m
radio range, 10 % loss, one ground station) flown with decentralized allocation (CBBA over the mesh) and with
the plain lawnmower-split baseline (same drones, same equal-area strips, worker q flies strip q, no
allocation, no re-planning).  Times to find are when the ground station *received* the report."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from skyhive.bench import BenchTable

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sar-100.yaml"


FAILED = list(range(0, 100, 10))  # drones 0, 10, ..., 90 fail at FAIL_AT_S in the failure variant
FAIL_AT_S = 200.0


def measure(allocation: str, seed: int, duration: float | None = None, failures: bool = False
            ) -> dict[str, object]:
    from skyhive.scenario.load import load_scenario
    from skyhive.scenario.models import DroneFailure
    from skyhive.sim import Simulation

    sc = load_scenario(EXAMPLE)
    assert sc.mission is not None
    upd: dict[str, object] = {"mission": sc.mission.model_copy(update={"allocation": allocation}), "seed": seed}
    if failures:
        upd["events"] = [*sc.events, DroneFailure(type="drone_failure", at_s=FAIL_AT_S, fleet="rescue",
                                                  drones=FAILED)]
    if duration is not None:
        upd["duration"] = duration
    sim = Simulation(sc.model_copy(update=upd), base_dir=EXAMPLE.parent)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    m = sim.metrics
    ttf = np.array([np.nan if x is None else x for x in m["search_time_to_find_s"]], float)
    return {"allocation": allocation, "failures": len(FAILED) if failures else 0, "seed": seed,
            "found": m["search_found_reported"],
            "all_s": m["search_time_to_find_all_s"],
            "median_s": None if np.isnan(ttf).all() else round(float(np.nanmedian(ttf)), 1),
            "makespan_s": m["mission_makespan_s"], "coverage_pct": m["mission_coverage_pct"],
            "coord_kB": round(int(m["mission_coord_bytes"]) / 1000.0), "conflicts": m["mission_conflicts"],
            "wall_s": round(wall, 1)}


def run(quick: bool) -> BenchTable:
    cols = ["allocation", "failures", "seed", "found", "all_s", "median_s", "makespan_s", "coverage_pct", "coord_kB",
            "conflicts", "wall_s"]
    table = BenchTable("Search and rescue: time to find (examples/sar-100.yaml)", cols)
    seeds = [7] if quick else [7, 8, 9]
    for failures in (False, True):
        for seed in seeds:
            for alloc in ("cbba", "fixed_split"):
                r = measure(alloc, seed, 120.0 if quick else None, failures)
                table.rows.append([r[c] for c in cols])
    table.notes.append("found: persons whose report reached the ground station; all_s / median_s: time the "
                       "ground station received the report of the last / median person; coord_kB: bytes on "
                       "the air for coordination (CBBA rows, done notices, orders, finds, acks); failures: "
                       f"drones {FAILED} fail at {FAIL_AT_S:.0f} s")
    if quick:
        table.notes.append("quick: 120 s of the mission only")
    return table
