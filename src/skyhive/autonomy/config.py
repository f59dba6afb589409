"""Scenario section ``tasks``: the mission's tasks as the operator writes them (WGS84), and their checks.

Single-field limits live on the models; checks that need other sections (geofences, manned vehicles, the
mission duration) are in :func:`task_problems`, registered in ``CROSS_CHECKS`` and run by
``skyhive.scenario.load.cross_checks`` so that ``skyhive validate`` lists them with the rest, each with its field
path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, field_validator, model_validator
from shapely.geometry import Polygon

from skyhive.autonomy.tasks import TASK_KINDS, TaskSet
from skyhive.scenario.base import CheckInput, Problem, Section, WellClear

Capability = Literal["camera", "thermal", "lidar", "speaker", "relay_radio", "long_endurance"]
CAPABILITY_BITS: dict[str, int] = {name: 1 << k for k, name in enumerate(Capability.__args__)}  # type: ignore[attr-defined]
POINT_KINDS = ("inspect", "loiter", "relay")
AREA_KINDS = ("survey", "search")


class TaskPoint(Section):
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    alt_m: float = Field(50.0, ge=0.0, le=20000.0, description="metres above the origin altitude")


class TaskSpec(Section):
    """One task.  ``start_s``/``end_s`` bound the arrival time on the mission clock; ``service_s`` is the stay
    (the hold time for ``loiter``)."""

    id: str = Field(min_length=1)
    kind: Literal["inspect", "loiter", "survey", "search", "relay", "follow"]
    at: TaskPoint | None = None
    area: dict[str, Any] | list[list[float]] | None = Field(
        None, description="GeoJSON Polygon geometry or its outer ring of [lon, lat] (survey, search)")
    vehicle: str | None = Field(None, description="manned vehicle to escort (follow)")
    offsets: list[tuple[float, float, float]] = Field(
        default_factory=lambda: [(-30.0, 0.0, 30.0)], min_length=1, max_length=100,
        description="follow: formation slots (forward, right, up) metres in the vehicle's frame; one drone each")
    station: str | None = Field(None, description="relay: ground station to keep connected (default: the first)")
    value: float = Field(1.0, gt=0.0, le=1e6)
    start_s: float = Field(0.0, ge=0.0)
    end_s: float | None = Field(None, gt=0.0)
    service_s: float = Field(0.0, ge=0.0, le=7 * 86400.0)
    requires: list[Capability] = Field(default_factory=list)

    @field_validator("area")
    @classmethod
    def _valid_area(cls, value: dict[str, Any] | list[list[float]] | None) -> Any:
        if value is not None:
            from skyhive.geo.fences import polygon_from_geojson

            polygon_from_geojson(value)
        return value

    @model_validator(mode="after")
    def _shape(self) -> TaskSpec:
        if self.kind in POINT_KINDS and self.at is None:
            raise ValueError(f"a {self.kind} task needs 'at' (a point)")
        if self.kind in AREA_KINDS and self.area is None:
            raise ValueError(f"a {self.kind} task needs 'area' (a polygon)")
        if self.kind == "follow" and self.vehicle is None:
            raise ValueError("a follow task needs 'vehicle' (the name of a manned vehicle)")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"impossible time window: end_s ({self.end_s}) is not after start_s ({self.start_s})")
        return self

    def polygon(self) -> Polygon | None:
        from skyhive.geo.fences import polygon_from_geojson

        return None if self.area is None else polygon_from_geojson(self.area)

    def capability_mask(self) -> int:
        return capability_mask(self.requires)


def capability_mask(capabilities: Sequence[str]) -> int:
    """The bit mask of a list of capabilities (a drone may take a task when its mask covers the task's)."""
    mask = 0
    for c in capabilities:
        mask |= CAPABILITY_BITS[c]
    return mask


def cross_checks(inp: CheckInput) -> list[Problem]:
    """Tasks and the mission against the rest of the scenario (skipped when the origin or airspace is invalid)."""
    if inp.keep_in is None or inp.keep_out is None:
        return []
    return [Problem(path, message) for path, message in
            task_problems(dict(inp.data), list(inp.keep_in), list(inp.keep_out), inp.fleets)]


CROSS_CHECKS = (cross_checks,)
UNION_TAGS: frozenset[str] = frozenset()


def task_problems(data: dict[str, Any], keep_in: list[Polygon], keep_out: list[tuple[str, Polygon]],
                  fleets: Sequence[tuple[int, Any]]) -> list[tuple[str, str]]:
    """(field path, message) for every task that clashes with the rest of the scenario; ``fleets`` are the
    (index, Fleet) pairs that validated."""
    out: list[tuple[str, str]] = []
    raw = data.get("tasks")
    if not isinstance(raw, list):
        return out
    duration = data.get("duration")
    manned = {m.get("name") for m in data.get("manned") or [] if isinstance(m, dict)}
    aircraft = {m.get("name") for m in data.get("manned") or [] if isinstance(m, dict)
                and m.get("kind", "aircraft") == "aircraft"}
    stations = [g.get("name") for g in data.get("ground_stations") or [] if isinstance(g, dict)]
    wc_h, wc_v = _well_clear(data)
    ids: list[str] = []
    for k, item in enumerate(raw):
        try:
            spec = TaskSpec.model_validate(item)
        except ValueError:
            continue  # reported by the model validation already
        where = f"tasks.{k}"
        ids.append(spec.id)
        if isinstance(duration, int | float) and spec.start_s >= duration:
            out.append((f"{where}.start_s", f"task {spec.id!r}: its window opens at {spec.start_s} s, after the "
                                            f"mission ends ({duration} s)"))
        if spec.kind == "follow" and spec.vehicle not in manned:
            out.append((f"{where}.vehicle", f"task {spec.id!r}: no manned vehicle named {spec.vehicle!r}"))
        if spec.kind == "follow" and spec.vehicle in aircraft:
            for n, (fwd, right, up) in enumerate(spec.offsets):
                if math.hypot(fwd, right) < wc_h and abs(up) < wc_v:
                    out.append((f"{where}.offsets.{n}",
                                f"task {spec.id!r}: slot ({fwd}, {right}, {up}) m is inside the well-clear volume "
                                f"of manned aircraft {spec.vehicle!r} ({wc_h} m / {wc_v} m); the safety filter "
                                "would never let a drone fly it"))
        if spec.kind == "relay":
            if not stations:
                out.append((f"{where}.station", f"task {spec.id!r}: a relay keeps a ground station connected; the "
                                                "scenario has no ground station"))
            elif spec.station is not None and spec.station not in stations:
                out.append((f"{where}.station", f"task {spec.id!r}: no ground station named {spec.station!r}"))
        if spec.at is not None:
            lon, lat = spec.at.lon, spec.at.lat
            if keep_in and not any(shapely.contains_xy(p, lon, lat) for p in keep_in):
                out.append((f"{where}.at", f"task {spec.id!r} at ({lat}, {lon}) is outside every active keep-in "
                                           "geofence"))
            for name, p in keep_out:
                if shapely.contains_xy(p, lon, lat):
                    out.append((f"{where}.at", f"task {spec.id!r} at ({lat}, {lon}) is inside keep-out geofence "
                                               f"{name!r}"))
        poly = spec.polygon()
        if poly is not None:
            if keep_in and not any(p.intersects(poly) for p in keep_in):
                out.append((f"{where}.area", f"task {spec.id!r}: its area lies outside every active keep-in "
                                             "geofence"))
            for name, p in keep_out:
                if p.covers(poly):
                    out.append((f"{where}.area", f"task {spec.id!r}: its area is entirely inside keep-out "
                                                 f"geofence {name!r}"))
    for name in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(("tasks", f"task id {name!r} is used more than once"))
    return out + _worker_problems(fleets, raw) + mission_problems(data)


def _worker_problems(fleets: Sequence[tuple[int, Any]], raw: list[Any]) -> list[tuple[str, str]]:
    """Tasks no worker can take: a capability no fleet without a route carries, or a point farther than any
    worker's battery reaches and back (a lower bound on the energy: geodesic straight line, still air, the most
    economical speed within the vehicle's limit, hover power for the service time)."""
    from pymap3d.vincenty import vdist

    workers = [fleet for _, fleet in fleets if fleet.route is None]
    if not workers:
        return []
    have = 0
    for fleet in workers:
        have |= capability_mask(fleet.capabilities)
    out: list[tuple[str, str]] = []
    for k, item in enumerate(raw):
        try:
            spec = TaskSpec.model_validate(item)
        except ValueError:
            continue
        need = spec.capability_mask()
        if need & have != need:
            out.append((f"tasks.{k}.requires", f"task {spec.id!r} requires {spec.requires} but no fleet without a "
                                               "route (the mission's workers) lists all of them in `capabilities`"))
        if spec.at is None or spec.kind == "follow":
            continue
        best = -math.inf  # the largest energy margin any worker fleet has for this task, Wh
        for fleet in workers:
            b, v = fleet.battery, fleet.vehicle
            speed = b.economical_speed_mps(v.max_speed_mps)
            usable = b.capacity_wh * max(b.initial_frac - b.reserve_frac, 0.0)
            power = b.cruise_power_w(speed)
            for site in fleet.launch.sites:
                dist = float(vdist(site.lat, site.lon, spec.at.lat, spec.at.lon)[0])  # WGS84 geodesic, m
                need_wh = (2.0 * dist / speed * power + spec.service_s * b.hover_power_w) / 3600.0
                best = max(best, usable - need_wh)
        if best < 0.0:
            out.append((f"tasks.{k}.at", f"task {spec.id!r} is out of battery reach: out, service and back needs "
                                         f"{-best:.1f} Wh more than any worker fleet can spend above its reserve"))
    return out


def _well_clear(data: dict[str, Any]) -> tuple[float, float]:
    """The scenario's well-clear volume (horizontal, vertical metres), defaults where it is absent or bad."""
    safety = data.get("safety")
    raw = safety.get("well_clear") if isinstance(safety, dict) else None
    try:
        wc = WellClear.model_validate(raw if isinstance(raw, dict) else {})
    except ValueError:
        wc = WellClear()
    return wc.horizontal_m, wc.vertical_m


def taskset_from_specs(specs: list[TaskSpec], enu: Any) -> tuple[TaskSet, list[str]]:
    """The allocator's TaskSet for the scenario's tasks (area tasks at their centroid, follow tasks skipped
    until they can track their vehicle); ``enu(lat, lon, alt_m) -> (3,)`` converts to local metres."""
    ts = TaskSet()
    names: list[str] = []
    for spec in specs:
        if spec.kind == "follow":
            continue
        if spec.at is not None:
            p = np.asarray(enu(spec.at.lat, spec.at.lon, spec.at.alt_m), np.float64)
        else:
            poly = spec.polygon()
            assert poly is not None
            c = poly.centroid
            p = np.asarray(enu(c.y, c.x, 50.0), np.float64)
        ts.add(p[None, :], value=spec.value, kind=int(TASK_KINDS[spec.kind]), t_start=spec.start_s,
               t_end=np.inf if spec.end_s is None else spec.end_s, service=spec.service_s,
               req_cap=spec.capability_mask())
        names.append(spec.id)
    return ts, names


class ObjectPoint(Section):
    """A hidden search object (e.g. a missing person) on the ground."""

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class Detection(Section):
    """Search detection model (docs/autonomy.md, "Missions in flight"): an exponential glimpse law.  A drone at
    height h over the ground, d metres horizontally from an object, detects it in a tick dt with probability
    ``1 - exp(-rate dt)``, ``rate = rate_per_s * min(1, (ref_alt_m / h)^2) * exp(-d^2 / (2 sigma^2))``, where
    ``sigma = h tan(fov / 2) / 2`` (a quarter of the footprint width)."""

    rate_per_s: float = Field(2.0, gt=0.0, le=100.0, description="glimpse rate right below the drone at ref_alt_m")
    ref_alt_m: float = Field(50.0, gt=0.0, le=5000.0, description="height up to which the rate is full")


class OperatorEvent(Section):
    """An operator's order, sent at ``at_s`` from a ground station through the mesh (drones act on it only
    once received): add a task, or cancel one by id."""

    at_s: float = Field(ge=0.0)
    station: str | None = Field(None, description="ground station that sends it (default: the first)")
    add: TaskSpec | None = None
    cancel: str | None = None

    @model_validator(mode="after")
    def _one(self) -> OperatorEvent:
        if (self.add is None) == (self.cancel is None):
            raise ValueError("an operator event needs exactly one of 'add' (a task) or 'cancel' (a task id)")
        return self


class MissionSettings(Section):
    """How the swarm flies the ``tasks``: allocation period, flight height and camera, search objects."""

    allocation: Literal["cbba", "fixed_split"] = Field(
        "cbba", description="cbba: decentralized; fixed_split: the baseline, worker q flies share q, no allocation")
    period_s: float = Field(1.0, gt=0.0, le=60.0, description="seconds between CBBA rounds")
    alt_m: float = Field(50.0, gt=1.0, le=2000.0, description="height of area work (survey, search)")
    transit_above_m: float = Field(25.0, ge=0.0, le=1000.0,
                                   description="drones going to a task or home fly this much above alt_m, clear of "
                                               "the drones at work")
    camera_fov_deg: float = Field(60.0, gt=1.0, lt=179.0)
    overlap: float = Field(0.1, ge=0.0, lt=1.0)
    speed_mps: float | None = Field(None, gt=0.0, le=60.0, description="cruise speed (default: the fleet's max)")
    shares_per_area: int | None = Field(None, ge=1, le=10000,
                                        description="survey/search shares per area (default: workers / areas)")
    max_bundle: int = Field(3, ge=1, le=50)
    stale_rounds: int = Field(30, ge=2, le=100000)
    discount: float = Field(0.999, gt=0.0, le=1.0)
    coverage_cell_m: float = Field(10.0, gt=0.5, le=1000.0)
    detection: Detection = Field(default_factory=Detection)
    search_objects: list[ObjectPoint] = Field(default_factory=list)
    report_retry_s: float = Field(10.0, gt=0.0, le=3600.0, description="re-send an unacknowledged find")
    operator: list[OperatorEvent] = Field(default_factory=list)
    order_repeat_s: float = Field(10.0, gt=0.0, le=3600.0, description="a station re-floods an unconfirmed order")
    order_repeats: int = Field(60, ge=1, le=100000, description="at most this many floods per order")
    relay_margin: float = Field(0.7, gt=0.05, le=1.0,
                                description="relay hops are at most this fraction of the radio range")
    beacon_hz: float = Field(2.0, gt=0.0, le=50.0, description="a followed manned vehicle broadcasts its state")
    dead_reckon_s: float = Field(5.0, ge=0.0, le=600.0,
                                 description="follow: extrapolate the vehicle this long after its last beacon, "
                                             "then hold")


def mission_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) for a mission that cannot fly as written."""
    out: list[tuple[str, str]] = []
    tasks = data.get("tasks") or []
    mission = data.get("mission")
    gs = [g.get("name") for g in data.get("ground_stations") or [] if isinstance(g, dict)]
    ops = (mission or {}).get("operator") or [] if isinstance(mission, dict) else []
    if not isinstance(mission, dict):
        return out
    if mission.get("search_objects"):
        kinds = [t.get("kind") for t in tasks if isinstance(t, dict)]
        kinds += [(o.get("add") or {}).get("kind") for o in ops if isinstance(o, dict)]
        if "search" not in kinds:
            out.append(("mission.search_objects", "search objects are placed but no task is of kind 'search'"))
        if not gs:
            out.append(("mission.search_objects", "finds are reported to a ground station: add one"))
    ids = [t.get("id") for t in tasks if isinstance(t, dict)]
    ids += [(o.get("add") or {}).get("id") for o in ops if isinstance(o, dict)]
    for k, o in enumerate(ops):
        if not isinstance(o, dict):
            continue
        st = o.get("station")
        if not gs:
            out.append((f"mission.operator.{k}", "operator orders are sent from a ground station: add one"))
        elif st is not None and st not in gs:
            out.append((f"mission.operator.{k}.station", f"no ground station named {st!r}"))
        c = o.get("cancel")
        if c is not None and c not in ids:
            out.append((f"mission.operator.{k}.cancel", f"no task with id {c!r}"))
    return out
