"""Search and rescue benchmark: probabilistic search against the lawnmower on examples/sar-prior.yaml (100 drones,
4 km x 4 km, 20 persons drawn from a lost-person prior around the last known point, 500 m radio with 10 % loss).

Cases: launch (and the ground station) at the last known point; launch 3 km south of it (1 km outside the area);
a uniform prior with launch at the area's south edge.  The lawnmower is tuned first on its own seeds (overlap
0, 0.1, 0.2 of the fixed equal-area split; the best mean time to find all wins) and then both strategies fly the
same test seeds (the same persons: both draw them from the prior with the seed).  Times are when the ground
station RECEIVED the report; a run stops once every person is reported.  The allocation comparison on sar-100
(CBBA vs a fixed split) is ``skyhive bench sar-allocation``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from skyhive.bench import BenchTable

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sar-prior.yaml"
LKP = (46.5198, 7.6)
CASES = {"at LKP": LKP, "3 km away": (46.5198 - 3000.0 / 111195.0, 7.6), "uniform": (46.5009, 7.6)}
TUNE_SEEDS = [101, 102]
OVERLAPS = [0.0, 0.1, 0.2]


def scenario(case: str, strategy: str, seed: int, overlap: float | None = None) -> Any:
    from skyhive.scenario.load import load_scenario

    sc = load_scenario(EXAMPLE)
    assert sc.mission is not None
    lat, lon = CASES[case]
    fleet = sc.fleets[0]
    fleet = fleet.model_copy(update={"launch": fleet.launch.model_copy(
        update={"sites": [fleet.launch.sites[0].model_copy(update={"lat": lat, "lon": lon})]})})
    gs = sc.ground_stations[0].model_copy(update={"lat": lat, "lon": lon})
    tasks = sc.tasks
    if case == "uniform":
        tasks = [tasks[0].model_copy(update={"prior": None})]
    m = sc.mission
    mission = m.model_copy(update={"search": m.search.model_copy(update={"strategy": strategy}),
                                   "allocation": "fixed_split" if strategy == "lawnmower" else m.allocation,
                                   **({"overlap": overlap} if overlap is not None else {})})
    return sc.model_copy(update={"fleets": [fleet], "ground_stations": [gs], "tasks": tasks, "mission": mission,
                                 "seed": seed})


def measure(case: str, strategy: str, seed: int, overlap: float | None = None, until: float | None = None
            ) -> dict[str, Any]:
    from skyhive.sim import Simulation

    sim = Simulation(scenario(case, strategy, seed, overlap), base_dir=EXAMPLE.parent)
    end = sim.scenario.duration if until is None else until
    t0 = time.perf_counter()
    from skyhive.autonomy.mission import MissionSystem

    mission = next(s for s in sim.systems if isinstance(s, MissionSystem))
    while sim.t < end - 1e-9:
        sim.run(until=min(sim.t + 25.0, end))
        if bool(np.isfinite(mission.gs_t).all()):  # every person reported: nothing left to measure
            break
    wall = time.perf_counter() - t0
    m = sim.metrics
    return {"case": case, "strategy": strategy, "seed": seed, "overlap": mission.cfg.overlap,
            "found": m["search_found_reported"], "half_s": m["search_time_to_find_half_s"],
            "all_s": m["search_time_to_find_all_s"], "detect_half_s": m["search_time_to_detect_half_s"],
            "detect_all_s": m["search_time_to_detect_all_s"], "pos_100s": _pos_at(m["search_pos_series"], 100.0),
            "coord_kB": round(int(m["mission_coord_bytes"]) / 1000.0), "sim_s": round(sim.t, 1),
            "wall_s": round(wall, 1)}


def _pos_at(series: list[tuple[float, float]], t: float) -> float | None:
    before = [p for s, p in series if s <= t]
    return before[-1] if before else None


def _mean(rows: list[dict[str, Any]], key: str, cap: float) -> float:
    """Mean of a time over runs, a run that never got there counted at ``cap`` (the run's end)."""
    return float(np.mean([cap if r[key] is None else r[key] for r in rows]))


def tune_lawnmower(case: str, seeds: list[int], until: float | None = None) -> tuple[float, list[dict[str, Any]]]:
    """The lawnmower's best overlap on ``seeds`` (by mean time to find all)."""
    rows = [measure(case, "lawnmower", s, ov, until) for ov in OVERLAPS for s in seeds]
    cap = until or 1500.0
    best = min(OVERLAPS, key=lambda ov: _mean([r for r in rows if r["overlap"] == ov], "all_s", cap))
    return best, rows


def run(quick: bool) -> BenchTable:
    cols = ["case", "strategy", "seed", "overlap", "found", "half_s", "all_s", "detect_half_s", "detect_all_s",
            "pos_100s", "coord_kB", "sim_s", "wall_s"]
    table = BenchTable("Search and rescue: probabilistic search vs the tuned lawnmower (examples/sar-prior.yaml)",
                       cols)
    seeds = [1] if quick else list(range(1, 11))
    until = 150.0 if quick else None
    for case in (["at LKP"] if quick else list(CASES)):
        best, tune = tune_lawnmower(case, TUNE_SEEDS[:1] if quick else TUNE_SEEDS, until)
        table.notes.append(f"{case}: lawnmower tuned on seeds {TUNE_SEEDS} over overlap {OVERLAPS}: best {best} "
                           "(mean time to find all " + ", ".join(
                               f"{ov}: {_mean([r for r in tune if r['overlap'] == ov], 'all_s', until or 1500.0):.0f} s"
                               for ov in OVERLAPS) + ")")
        for seed in seeds:
            for strategy, ov in (("probability", None), ("lawnmower", best)):
                r = measure(case, strategy, seed, ov, until)
                table.rows.append([r[c] for c in cols])
    table.notes.append("half_s / all_s: the ground station received the report of the 10th / 20th person; "
                       "detect_*: first seen by a drone's camera; pos_100s: probability of success after 100 s "
                       "(prior mass the fleet's effort has detected); coord_kB: mission messages on the air")
    if quick:
        table.notes.append("quick: 150 s of one seed, one case")
    return table
