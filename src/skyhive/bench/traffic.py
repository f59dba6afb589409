"""The traffic suite: encounters that a shared airspace really produces, as scenario dicts.

Every case puts fleets at **one altitude** on paths that meet, so only the safety layer keeps them apart:
head-on fleets, fleets crossing at an angle, an antipodal circle swap (every drone flies to the opposite
point of a circle, all through the centre), a keep-out switching on where crossing fleets meet, the same
crossing in strong gusty wind, and four fleets of 500 meeting in the middle.  ``run_case`` flies a case and
measures what the issue asks of it: losses of separation, minimum separation, share of routes completed,
completion time against the same fleets flown alone (unobstructed), and milliseconds per tick.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from skyhive.geo.frames import LocalFrame
from skyhive.scenario.load import scenario_from_dict
from skyhive.sim import Simulation

ORIGIN = (47.0, 8.0, 500.0)
ALT_M = 50.0


def _ll(frame: LocalFrame, x: float, y: float, z: float = 0.0) -> dict[str, float]:
    lat, lon, _ = frame.geodetic(np.array([x, y, 0.0]))
    return {"lat": round(float(lat), 9), "lon": round(float(lon), 9), "alt_m": z}


def _ring(frame: LocalFrame, x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    pts = [_ll(frame, x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return [[p["lon"], p["lat"]] for p in pts]


def _fleet(frame: LocalFrame, name: str, count: int, start: tuple[float, float], goal: tuple[float, float],
           spacing: float, alt: float) -> dict[str, Any]:
    return {"name": name, "count": count,
            "launch": {"sites": [_ll(frame, *start)], "layout": "grid", "spacing_m": spacing},
            "route": {"waypoints": [_ll(frame, *start, alt), _ll(frame, *goal, alt)], "on_complete": "hold"}}


def _scenario(name: str, fleets: list[dict[str, Any]], duration: float, seed: int,
              wind: dict[str, Any] | None = None, geofences: list[dict[str, Any]] | None = None,
              events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "name": name, "origin": dict(zip(("lat", "lon", "alt"), ORIGIN, strict=True)),
            "duration": duration, "dt": 0.1, "seed": seed, "wind": wind or {},
            "airspace": {"geofences": geofences or []}, "fleets": fleets, "events": events or [],
            "safety": {"separation_m": 10.0}}


def head_on(per_fleet: int = 25, distance_m: float = 1200.0, spacing_m: float = 15.0, seed: int = 0,
            wind: dict[str, Any] | None = None) -> dict[str, Any]:
    """Two grid formations at one altitude flying straight at each other along the east axis."""
    frame = LocalFrame(*ORIGIN)
    half = distance_m / 2.0
    fleets = [_fleet(frame, "west", per_fleet, (-half, 0.0), (half, 0.0), spacing_m, ALT_M),
              _fleet(frame, "east", per_fleet, (half, 0.0), (-half, 0.0), spacing_m, ALT_M)]
    return _scenario("traffic-head-on", fleets, 600.0, seed, wind)


def crossing(per_fleet: int = 25, distance_m: float = 1200.0, angle_deg: float = 90.0, spacing_m: float = 15.0,
             seed: int = 0, wind: dict[str, Any] | None = None, keep_out_at_s: float | None = None,
             keep_out_m: float = 150.0) -> dict[str, Any]:
    """Two formations at one altitude whose routes cross at the origin at ``angle_deg``; optionally a square
    keep-out of side ``keep_out_m`` centred on the crossing point switches on at ``keep_out_at_s``."""
    frame = LocalFrame(*ORIGIN)
    half = distance_m / 2.0
    a = math.radians(angle_deg)
    dx, dy = math.cos(a) * half, math.sin(a) * half
    fleets = [_fleet(frame, "a", per_fleet, (-half, 0.0), (half, 0.0), spacing_m, ALT_M),
              _fleet(frame, "b", per_fleet, (-dx, -dy), (dx, dy), spacing_m, ALT_M)]
    fences: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    if keep_out_at_s is not None:
        k = keep_out_m / 2.0
        fences.append({"name": "tfr", "kind": "keep_out", "polygon": _ring(frame, -k, -k, k, k),
                       "ceiling_m": 300.0, "active": False})
        events.append({"type": "geofence", "at_s": keep_out_at_s, "name": "tfr", "active": True})
    return _scenario("traffic-crossing", fleets, 600.0, seed, wind, fences, events)


def circle_swap(n: int = 500, spacing_m: float = 15.0, seed: int = 0) -> dict[str, Any]:
    """``n`` single-drone fleets evenly on a circle, each flying to the antipodal point at one altitude."""
    frame = LocalFrame(*ORIGIN)
    radius = max(150.0, n * spacing_m / (2.0 * math.pi))
    fleets = []
    for k in range(n):
        a = 2.0 * math.pi * k / n
        start = (radius * math.cos(a), radius * math.sin(a))
        fleets.append(_fleet(frame, f"d{k}", 1, start, (-start[0], -start[1]), spacing_m, ALT_M))
    return _scenario("traffic-circle-swap", fleets, 900.0, seed)


def four_way(per_fleet: int = 500, distance_m: float = 2400.0, spacing_m: float = 15.0,
             seed: int = 0) -> dict[str, Any]:
    """Four formations from west, east, south and north meeting at the origin at one altitude."""
    frame = LocalFrame(*ORIGIN)
    h = distance_m / 2.0
    fleets = [_fleet(frame, "west", per_fleet, (-h, 0.0), (h, 0.0), spacing_m, ALT_M),
              _fleet(frame, "east", per_fleet, (h, 0.0), (-h, 0.0), spacing_m, ALT_M),
              _fleet(frame, "south", per_fleet, (0.0, -h), (0.0, h), spacing_m, ALT_M),
              _fleet(frame, "north", per_fleet, (0.0, h), (0.0, -h), spacing_m, ALT_M)]
    return _scenario("traffic-four-way", fleets, 900.0, seed)


GUSTY_WIND = {"speed_mps": 8.0, "from_deg": 300.0,
              "gusts": {"sigma_mps": 2.0, "sigma_vertical_mps": 0.5, "length_scale_m": 150.0}}

CASES: dict[str, Callable[[bool], dict[str, Any]]] = {
    # name -> builder(quick): quick sizes keep the test suite short, full sizes are the benchmark
    "head-on": lambda quick: head_on(9 if quick else 25),
    "crossing-90": lambda quick: crossing(9 if quick else 25),
    "circle-swap": lambda quick: circle_swap(40 if quick else 500),
    "keep-out-in-path": lambda quick: crossing(9 if quick else 25, keep_out_at_s=30.0),
    "gusty-wind": lambda quick: crossing(9 if quick else 25, angle_deg=60.0, wind=GUSTY_WIND),
    "four-way-2000": lambda quick: four_way(25 if quick else 500),
}


@dataclass
class CaseResult:
    name: str
    drones: int
    loss_of_separation_events: int
    min_separation_m: float | None
    routes_completed_frac: float
    completion_s: float | None  # when the last route was completed (None: not all)
    unobstructed_s: float
    ms_per_tick: float
    breach_events: int

    @property
    def slowdown(self) -> float | None:
        return None if self.completion_s is None else self.completion_s / self.unobstructed_s


def _fly(data: dict[str, Any]) -> tuple[Simulation, float]:
    sim = Simulation(scenario_from_dict(data))
    follower = sim.waypoints
    t0 = time.perf_counter()
    while sim.step_count * sim.dt < sim.duration:
        sim.step()
        if bool(follower.done.all()):
            break
    return sim, time.perf_counter() - t0


def unobstructed_time(data: dict[str, Any]) -> float:
    """The latest completion time of the case's fleets when each flies alone (the same routes, no traffic).

    Fleets with the same route length and formation fly alike, so one of each kind is flown.
    """
    seen: dict[tuple[int, float], float] = {}
    frame = LocalFrame(*ORIGIN)
    worst = 0.0
    for fleet in data["fleets"]:
        wps = fleet["route"]["waypoints"]
        ends = [frame.local(w["lat"], w["lon"]).reshape(3) for w in wps]
        length = round(sum(float(np.linalg.norm(b - a)) for a, b in itertools.pairwise(ends)), 1)
        key = (int(fleet["count"]), length)
        if key not in seen:
            alone = {**data, "fleets": [fleet], "events": [], "airspace": {"geofences": []}}
            sim, _ = _fly(alone)
            seen[key] = float(np.nanmax(sim.waypoints.completed_at))
        worst = max(worst, seen[key])
    return worst


def run_case(name: str, quick: bool = False) -> CaseResult:
    data = CASES[name](quick)
    sim, wall = _fly(data)
    m = sim.metrics
    completed = sim.waypoints.completed_at
    done = ~np.isnan(completed)  # routes flown to their end (a fleet holding at a blocked route is not done)
    finish = float(np.nanmax(completed)) if bool(done.all()) else None
    return CaseResult(name, sim.n_drones, int(m["loss_of_separation_events"]), m["min_separation_m"],
                      float(done.mean()), finish, unobstructed_time(data), 1000.0 * wall / max(sim.step_count, 1),
                      int(m["geofence_breach_events"]))
