"""Build the initial world from a validated scenario: launch layouts, limits, routes, fences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skyhive.geo.fences import FencePrism, FenceSet, plan_geofences, polygon_from_geojson
from skyhive.geo.frames import LocalFrame
from skyhive.scenario.models import Fleet, Scenario
from skyhive.world.world import DroneState, DroneStatus, MannedState

F64 = NDArray[np.float64]


def launch_spacing(fleet: Fleet, separation_m: float) -> float:
    """The pad spacing of a fleet: as given, or 1.5 x the separation minimum when not given."""
    return fleet.launch.spacing_m if fleet.launch.spacing_m is not None else 1.5 * separation_m


def layout_offsets(count: int, layout: str, spacing: float) -> F64:
    """(count, 3) horizontal offsets of launch slots around a site, centred on it."""
    k = np.arange(count, dtype=np.float64)
    out = np.zeros((count, 3))
    if layout == "line":
        out[:, 0] = (k - (count - 1) / 2.0) * spacing
    elif layout == "grid":
        side = max(1, math.ceil(math.sqrt(count)))
        out[:, 0] = (k % side - (side - 1) / 2.0) * spacing
        out[:, 1] = (k // side - (math.ceil(count / side) - 1) / 2.0) * spacing
    else:  # circle: concentric rings with arc spacing ~ spacing, first ring radius = spacing
        ring = np.zeros(count, np.int64)
        slot = np.zeros(count, np.int64)
        per = np.zeros(count, np.int64)
        i, r = 0, 1
        while i < count:
            cap = max(1, int(2 * math.pi * r))
            take = min(cap, count - i)
            ring[i:i + take], slot[i:i + take], per[i:i + take] = r, np.arange(take), take
            i, r = i + take, r + 1
        ang = 2.0 * math.pi * slot / per
        out[:, 0] = ring * spacing * np.cos(ang)
        out[:, 1] = ring * spacing * np.sin(ang)
    return out


def fleet_slices(scenario: Scenario) -> dict[str, slice]:
    out, start = {}, 0
    for f in scenario.fleets:
        out[f.name] = slice(start, start + f.count)
        start += f.count
    return out


def site_assignment(fleet: Fleet) -> NDArray[np.int64]:
    """Which launch site each drone of the fleet uses: contiguous equal shares."""
    return (np.arange(fleet.count) * len(fleet.launch.sites)) // fleet.count


@dataclass
class InitialWorld:
    drones: DroneState
    manned: MannedState
    fences: FenceSet
    slot_offsets: F64
    routes: list[F64 | None]
    fleet_origins: list[F64]


def build_fences(scenario: Scenario, frame: LocalFrame, base_dir: Path) -> FenceSet:
    prisms = [
        FencePrism.build(g.name, g.kind, polygon_from_geojson(g.polygon), g.floor_m, g.ceiling_m, frame, g.active)
        for g in scenario.airspace.geofences
    ]
    plan = scenario.airspace.import_plan
    if plan is not None:
        path = Path(plan.path) if Path(plan.path).is_absolute() else base_dir / plan.path
        for name, kind, poly in plan_geofences(path, frame):
            prisms.append(FencePrism.build(name, kind, poly, plan.floor_m, plan.ceiling_m, frame))
    return FenceSet(prisms)


def build_world(scenario: Scenario, frame: LocalFrame, base_dir: Path) -> InitialWorld:
    n = scenario.n_drones
    d = DroneState.empty(n)
    slots = np.zeros((n, 3))
    routes: list[F64 | None] = []
    origins: list[F64] = []
    for f_idx, (fleet, sl) in enumerate(zip(scenario.fleets, fleet_slices(scenario).values(), strict=True)):
        sites = fleet.launch.sites
        site_enu = frame.local([s.lat for s in sites], [s.lon for s in sites], [s.alt_m for s in sites])
        which = site_assignment(fleet)
        pos = np.zeros((fleet.count, 3))
        for s_idx in range(len(sites)):
            members = np.flatnonzero(which == s_idx)
            off = layout_offsets(members.size, fleet.launch.layout, launch_spacing(fleet, scenario.safety.separation_m))
            pos[members] = site_enu[s_idx] + off
        # a drone's slot in the fleet's formation: where it launched relative to the first site
        slots[sl] = pos - site_enu[0]
        slots[sl, 2] = 0.0
        origins.append(site_enu[0])
        d.pos[sl] = pos
        d.home[sl] = pos
        d.fleet[sl] = f_idx
        v, b = fleet.vehicle, fleet.battery
        d.max_h_speed[sl], d.max_climb[sl], d.max_descent[sl] = v.max_speed_mps, v.climb_rate_mps, v.descent_rate_mps
        d.max_accel[sl], d.tau[sl] = v.max_accel_mps2, v.response_time_s
        d.capacity_wh[sl], d.reserve_frac[sl] = b.capacity_wh, b.reserve_frac
        d.battery_wh[sl] = b.capacity_wh * b.initial_frac
        d.hover_power_w[sl], d.drag_power_coef[sl], d.climb_power_coef[sl] = (
            b.hover_power_w, b.drag_power_coef, b.climb_power_coef)
        if fleet.route is None:
            routes.append(None)
        else:
            wps = fleet.route.waypoints
            r = frame.local([w.lat for w in wps], [w.lon for w in wps], [w.alt_m for w in wps])
            routes.append(r)
            if not fleet.route.keep_layout:
                slots[sl] = 0.0
    d.status[:] = DroneStatus.ACTIVE

    m = scenario.manned
    manned = MannedState.empty()
    if m:
        route_enu = [frame.local([p.lat for p in v.route], [p.lon for p in v.route], [p.alt_m for p in v.route])
                     for v in m]
        manned = MannedState(
            names=[v.name for v in m],
            is_aircraft=np.array([v.kind == "aircraft" for v in m]),
            pos=np.stack([r[0] for r in route_enu]).astype(np.float64),
            vel=np.zeros((len(m), 3)),
            routes=route_enu,
            speeds=np.array([v.speed_mps for v in m], np.float64),
            leg=np.ones(len(m), np.int64),
            loop=np.array([v.loop for v in m]),
        )
    return InitialWorld(d, manned, build_fences(scenario, frame, base_dir), slots, routes, origins)
