"""Comms benchmark: a swarm in flight where every drone broadcasts a 64-byte state message at 1 Hz and a
ground station floods 10 multi-hop messages per second through the whole swarm (issue #3).

Drones fly a grid (100 m apart) back and forth with dynamics, wind and the safety filter on; radios have a
300 m range cap with log-distance loss (exponent 2.7) and 4 dB shadowing, so each drone has ~25 neighbours and
a flood crosses the swarm in many hops.  The same run without the comms section gives the core's own speed.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

import numpy as np

from skyhive.bench import BenchTable
from skyhive.geo.frames import LocalFrame
from skyhive.scenario.load import scenario_from_dict
from skyhive.sim import Simulation

ORIGIN = (46.5197, 6.6323, 400.0)


def mesh_scenario(n: int, comms: bool = True, spacing_m: float = 100.0, seed: int = 0) -> dict[str, Any]:
    """n drones in a grid flying a 400 m leg east and back; one ground station at the south-west corner."""
    frame = LocalFrame(*ORIGIN)
    half = math.ceil(math.sqrt(n)) * spacing_m / 2.0

    def ll(x: float, y: float, z: float = 0.0) -> dict[str, float]:
        lat, lon, _ = frame.geodetic(np.array([x, y, z]))
        return {"lat": float(lat), "lon": float(lon), "alt_m": z}

    radio = {"max_range_m": 300.0, "path_loss_exponent": 2.7, "shadowing_sigma_db": 4.0}
    sc: dict[str, Any] = {
        "schema_version": 1, "name": f"bench-comms-{n}",
        "origin": dict(zip(("lat", "lon", "alt"), ORIGIN, strict=True)),
        "duration": 3600.0, "dt": 0.1, "seed": seed,
        "wind": {"speed_mps": 4.0, "from_deg": 250.0, "gusts": {"sigma_mps": 1.0, "length_scale_m": 200.0}},
        "fleets": [{"name": "swarm", "count": n, "radio": radio,
                    "launch": {"sites": [ll(0.0, 0.0)], "layout": "grid", "spacing_m": spacing_m},
                    "route": {"waypoints": [ll(0, 0, 50), ll(400, 0, 50), ll(0, 0, 50)], "loop": True}}],
    }
    if comms:
        # beside the south-west corner drone's 400 m east-west track, within 300 m of all of it
        gs = ll(-half + 50.0 + 200.0, -half)
        sc["ground_stations"] = [{"name": "base", "lat": gs["lat"], "lon": gs["lon"], "antenna_height_m": 10.0,
                                  "radio": radio}]
        sc["comms"] = {"record_hz": 0.0, "traffic": {"state_hz": 1.0, "state_bytes": 64, "ping_hz": 10.0,
                                                     "ping_bytes": 64, "ping_ttl": 255}}
    return sc


def measure(n: int, steps: int, comms: bool, warmup: int = 100) -> dict[str, Any]:
    """Real-time factor over ``steps`` ticks after ``warmup`` ticks (10 s: floods reach steady state)."""
    sim = Simulation(scenario_from_dict(mesh_scenario(n, comms)))
    for _ in range(warmup):
        sim.step()
    gc.collect()
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        sim.step()
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    m = sim.metrics
    # CPU time of this thread as well: on a shared machine wall time also counts waiting for a core
    return {"real_time_x": steps * sim.dt / wall, "ms_per_step": 1e3 * wall / steps,
            "cpu_ms_per_step": 1e3 * cpu / steps, "metrics": m, "sim_s": (warmup + steps) * sim.dt}


def run(quick: bool) -> BenchTable:
    sizes = [(200, 30)] if quick else [(2_000, 600), (10_000, 150)]
    table = BenchTable(
        title="comms: 64 B state at 1 Hz from every drone + 10 floods/s from a ground station (dt = 0.1 s)",
        columns=["drones", "x real time", "ms/step", "CPU ms/step", "x real time, no comms", "CPU ms/step, no comms",
                 "comms CPU ms/step", "link evaluations per sim s", "state delivery ratio", "ping delivery ratio",
                 "ping hops max", "ping age p95 ms"],
    )
    for n, steps in sizes:
        base = measure(n, steps, comms=False)
        r = measure(n, steps, comms=True)
        m = r["metrics"]
        st, pg = m["comms_state"], m["comms_ping"]
        sim_s = r["sim_s"]
        table.rows.append([f"{n:,}", f"{r['real_time_x']:.1f}", f"{r['ms_per_step']:.2f}",
                           f"{r['cpu_ms_per_step']:.2f}", f"{base['real_time_x']:.1f}",
                           f"{base['cpu_ms_per_step']:.2f}", f"{r['cpu_ms_per_step'] - base['cpu_ms_per_step']:.2f}",
                           f"{(st['link_attempts'] + pg['link_attempts']) / sim_s:,.0f}",
                           f"{st['delivery_ratio']}", f"{pg['delivery_ratio']}", f"{pg['hops_max']}",
                           f"{pg['age_p95_ms']}"])
    table.notes.append("target (issue #3, 2 cores): 2,000 drones >= 100x real time with dynamics on")
    table.notes.append("CPU ms/step: this thread's CPU time (time.thread_time), less sensitive than wall time to other "
                       "jobs on a shared machine; comms CPU ms/step = CPU ms/step with comms minus without")
    table.notes.append("grid 100 m apart, range cap 300 m, path-loss exponent 2.7, shadowing 4 dB; link evaluations "
                       "= link_attempts of both kinds; ping delivery ratio = nodes reached / nodes alive")
    return table
