"""Core benchmark: steps/s and memory per drone with dynamics, wind, separation and geofences on.

The workload is two interleaved grids of drones (40 m apart) flying crossing
routes back and forth inside a keep-in fence with a keep-out block in their
path, in gusty wind: every safety barrier and the spatial index are busy.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from typing import Any

import numpy as np

from skyhive.bench import BenchTable
from skyhive.geo.frames import LocalFrame
from skyhive.scenario.load import scenario_from_dict
from skyhive.sim import Simulation

ORIGIN = (46.5197, 6.6323, 400.0)  # Lausanne


def crossing_scenario(n: int, spacing_m: float = 40.0, seed: int = 0) -> dict[str, Any]:
    """A scenario dict: n drones in two crossing flows, fenced, with gusts."""
    frame = LocalFrame(*ORIGIN)
    half = max(1, n // 2)
    side = math.ceil(math.sqrt(half)) * spacing_m
    span = side + 600.0

    def ll(x: float, y: float, z: float = 0.0) -> dict[str, float]:
        lat, lon, _ = frame.geodetic(np.array([x, y, z]))
        return {"lat": float(lat), "lon": float(lon), "alt_m": z}

    def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
        pts = [ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)]
        return [[p["lon"], p["lat"]] for p in pts]

    leg = 300.0
    fleets = [
        {"name": "east", "count": half, "launch": {"sites": [ll(0.0, 0.0)], "spacing_m": spacing_m},
         "route": {"waypoints": [ll(0, 0, 50), ll(leg, 0, 50), ll(0, 0, 50)], "loop": True}},
        {"name": "north", "count": n - half,
         "launch": {"sites": [ll(spacing_m / 2, spacing_m / 2)], "spacing_m": spacing_m},
         "route": {"waypoints": [ll(spacing_m / 2, spacing_m / 2, 55), ll(spacing_m / 2, leg, 55),
                                 ll(spacing_m / 2, spacing_m / 2, 55)], "loop": True}},
    ]
    if n - half == 0:
        fleets.pop()
    return {
        "schema_version": 1,
        "name": f"bench-crossing-{n}",
        "origin": dict(zip(("lat", "lon", "alt"), ORIGIN, strict=True)),
        "duration": 3600.0,
        "dt": 0.1,
        "seed": seed,
        "wind": {"speed_mps": 5.0, "from_deg": 270.0, "gusts": {"sigma_mps": 1.5, "length_scale_m": 200.0}},
        "airspace": {"geofences": [
            {"name": "area", "kind": "keep_in", "polygon": ring(-span, -span, span + leg, span + leg),
             "ceiling_m": 120.0},
            {"name": "block", "kind": "keep_out", "polygon": ring(side * 0.2, side * 0.2, side * 0.2 + 60,
                                                                  side * 0.2 + 60), "ceiling_m": 200.0},
        ]},
        "fleets": fleets,
        "safety": {"separation_m": 10.0},
    }


def measure(n: int, steps: int, warmup: int = 20) -> dict[str, float]:
    sim = Simulation(scenario_from_dict(crossing_scenario(n)))
    for _ in range(warmup):
        sim.step()
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.step()
    wall = time.perf_counter() - t0
    state_bytes = sim.world.drones.nbytes()
    # peak traced memory of a few more steps, on top of what already exists, per drone
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(max(3, steps // 20)):
        sim.step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return {
        "n": n,
        "steps_per_s": steps / wall,
        "drone_steps_per_s": n * steps / wall,
        "real_time_x": steps * sim.dt / wall,
        "state_bytes_per_drone": state_bytes / n,
        "tick_peak_bytes_per_drone": peak / n,
        "los": float(sim.metrics["loss_of_separation_events"]),
    }


def run(quick: bool) -> BenchTable:
    sizes = [(100, 60), (2_000, 60)] if quick else [(100, 2000), (2_000, 1000), (10_000, 200), (100_000, 30)]
    table = BenchTable(
        title="core: dynamics + wind + separation + geofences (dt = 0.1 s)",
        columns=["drones", "steps/s", "drone-steps/s", "x real time", "state B/drone", "tick peak B/drone"],
    )
    for n, steps in sizes:
        r = measure(n, steps)
        table.rows.append([f"{n:,}", f"{r['steps_per_s']:.0f}", f"{r['drone_steps_per_s']:,.0f}",
                           f"{r['real_time_x']:.0f}", f"{r['state_bytes_per_drone']:.0f}",
                           f"{r['tick_peak_bytes_per_drone']:.0f}"])
    table.notes.append("targets (2 cores): 2,000 drones >= 1,000 steps/s; 100,000 >= 10 steps/s; <= 2 KB/drone state")
    return table
