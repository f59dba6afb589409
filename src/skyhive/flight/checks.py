"""Flight checks on a scenario before it runs: launch layouts, routes, operational intents.

* A launch layout whose neighbouring pads are closer than the separation minimum is refused: drones
  taking off together from it would lose separation on the pad.
* A route waypoint inside an active keep-out (within its altitude band), outside every active keep-in or
  above its ceiling is refused, and so is a leg no path around the active keep-outs can fly (a goal
  enclosed by keep-outs), naming the fleet and waypoint.
* Operational intents (in the spirit of ASTM F3548-21): each route leg of each fleet is a 4-D volume — the
  leg's corridor widened by the formation's radius and the separation minimum, its altitude band, and the
  time window the schedule flies it in.  Two fleets' volumes that overlap in space, height and time are a
  conflict; they are reported as warnings (fleets, legs, place and time) and flown through the tactical
  layer, which is what it is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from skyhive.flight.routing import Obstacles, plan_leg
from skyhive.flight.waypoints import Legs, kinematics
from skyhive.geo.frames import LocalFrame
from skyhive.scenario.models import Scenario
from skyhive.world.build import build_fences, launch_spacing, layout_offsets


def route_problems(scenario: Scenario, base_dir: Path | None = None) -> list[tuple[str, str]]:
    """(field path, message) for every launch layout and route the safety layer could not fly as written."""
    problems: list[tuple[str, str]] = []
    sep = scenario.safety.separation_m
    frame = LocalFrame(scenario.origin.lat, scenario.origin.lon, scenario.origin.alt)
    for k, fleet in enumerate(scenario.fleets):
        per_site = -(-fleet.count // len(fleet.launch.sites))
        if per_site > 1 and fleet.launch.spacing_m is not None:
            off = layout_offsets(min(per_site, 64), fleet.launch.layout, launch_spacing(fleet, sep))
            gaps = np.linalg.norm(off[:, None, :2] - off[None, :, :2], axis=-1) + np.eye(len(off)) * 1e9
            if float(gaps.min()) < sep:
                problems.append((f"fleets.{k}.launch.spacing_m",
                                 f"pads {float(gaps.min()):.1f} m apart are closer than safety.separation_m "
                                 f"({sep:g} m): drones taking off together would lose separation"))
    try:
        fences = build_fences(scenario, frame, base_dir or Path.cwd())
    except (OSError, ValueError):
        return problems  # the loader reports unreadable fence files
    keep_in = [p for p in fences.prisms if p.active and p.kind == "keep_in"]
    for k, fleet in enumerate(scenario.fleets):
        if fleet.route is None:
            continue
        points = frame.local([w.lat for w in fleet.route.waypoints], [w.lon for w in fleet.route.waypoints],
                             [w.alt_m for w in fleet.route.waypoints])
        bad = False
        for w, xyz in enumerate(points):
            where = f"fleets.{k}.route.waypoints.{w}"
            for p in fences.prisms:
                if p.active and p.kind == "keep_out" and p.floor_m <= xyz[2] <= p.ceiling_m \
                        and shapely.contains_xy(p.enu, xyz[0], xyz[1]):
                    problems.append((where, f"waypoint is inside keep-out geofence {p.name!r}"))
                    bad = True
            if keep_in and not any(shapely.contains_xy(p.enu, xyz[0], xyz[1]) for p in keep_in):
                problems.append((where, "waypoint is outside every active keep-in geofence"))
                bad = True
            elif keep_in and all(xyz[2] > p.ceiling_m for p in keep_in if shapely.contains_xy(p.enu, *xyz[:2])):
                problems.append((where, f"waypoint height {xyz[2]:g} m is above the keep-in ceiling"))
                bad = True
        if bad:
            continue
        site = fleet.launch.sites[0]
        start = frame.local(site.lat, site.lon, 0.0).reshape(3)
        chain = np.vstack([start + np.array([0.0, 0.0, points[0][2]]), points])
        z = chain[:, 2]
        obstacles = Obstacles.from_fences(fences, scenario.safety.geofence_margin_m + sep, float(z.min()),
                                          float(z.max()))
        for w in range(1, len(chain)):
            if plan_leg(chain[w - 1], chain[w], obstacles) is None:
                problems.append((f"fleets.{k}.route.waypoints.{w - 1}",
                                 f"fleet {fleet.name!r} cannot reach this waypoint: no path around the active "
                                 "keep-outs keeps their margin"))
                break
    return problems


@dataclass
class IntentConflict:
    """Two fleets' operational intents that overlap in space, height and time."""

    fleet_a: str
    leg_a: int
    fleet_b: str
    leg_b: int
    lat: float
    lon: float
    t_from: float
    t_to: float

    def __str__(self) -> str:
        return (f"operational intents of {self.fleet_a!r} (leg {self.leg_a}) and {self.fleet_b!r} (leg "
                f"{self.leg_b}) overlap near lat {self.lat:.5f} lon {self.lon:.5f} between t = {self.t_from:.0f} "
                f"and {self.t_to:.0f} s; the tactical layer will separate them")


def intent_conflicts(scenario: Scenario) -> list[IntentConflict]:
    """Pairs of fleets whose route legs' 4-D volumes overlap.

    A leg's time window is when the fleet's schedule flies it (the same trapezoidal profile as the built-in
    behaviour), widened by half its length plus 30 s for delays; looping routes occupy their legs for the
    whole run.
    """
    frame = LocalFrame(scenario.origin.lat, scenario.origin.lon, scenario.origin.alt)
    sep = scenario.safety.separation_m
    volumes: list[tuple[int, int, Polygon, float, float, float, float]] = []
    for f, fleet in enumerate(scenario.fleets):
        if fleet.route is None:
            continue
        wps = fleet.route.waypoints
        pts = frame.local([w.lat for w in wps], [w.lon for w in wps], [w.alt_m for w in wps])
        site = fleet.launch.sites[0]
        start = frame.local(site.lat, site.lon, 0.0).reshape(3)
        pts = np.vstack([start, start + np.array([0.0, 0.0, pts[0][2]]), pts])
        v = fleet.vehicle
        legs = Legs.through(pts, *kinematics(v.max_speed_mps, v.climb_rate_mps, v.descent_rate_mps,
                                             v.max_accel_mps2, fleet.route.speed_mps))
        ends = np.cumsum(legs.duration)
        side = np.ceil(np.sqrt(max(fleet.count, 1))) * launch_spacing(fleet, sep)
        width = 0.75 * side + sep
        for leg in range(len(pts) - 1):
            a, b = pts[leg], pts[leg + 1]
            shape = (LineString([a[:2], b[:2]]) if not np.allclose(a[:2], b[:2]) else Point(a[:2])).buffer(width / 2)
            t0, t1 = float(ends[leg] - legs.duration[leg]), float(ends[leg])
            slack = 0.5 * (t1 - t0) + 30.0
            window = (0.0, scenario.duration) if fleet.route.loop else (max(0.0, t0 - slack), t1 + slack)
            volumes.append((f, leg, shape, min(a[2], b[2]) - sep, max(a[2], b[2]) + sep, *window))
    out: list[IntentConflict] = []
    for x, (fa, la, ga, za0, za1, ta0, ta1) in enumerate(volumes):
        for fb, lb, gb, zb0, zb1, tb0, tb1 in volumes[x + 1:]:
            if fa == fb or za1 < zb0 or zb1 < za0 or ta1 < tb0 or tb1 < ta0 or not ga.intersects(gb):
                continue
            c = ga.intersection(gb).centroid
            lat, lon, _ = frame.geodetic(np.array([c.x, c.y, 0.0]))
            out.append(IntentConflict(scenario.fleets[fa].name, la, scenario.fleets[fb].name, lb, float(lat),
                                      float(lon), max(ta0, tb0), min(ta1, tb1)))
    return out
