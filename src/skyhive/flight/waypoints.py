"""The built-in behaviour: each fleet flies its route as a timed trajectory, in launch formation.

A fleet's route becomes a schedule: a vertical climb from the first launch site to the first waypoint's height,
then to each waypoint in turn, each leg a trapezoidal speed profile that stops at the waypoint.  Legs are
planned around the keep-outs active at start (``flight/routing.py``, grown by the formation's radius), and a
fleet whose remaining route a keep-out switches on across is re-planned from where its formation is; if its
next waypoint can no longer be reached the fleet holds where it is (``hold`` / ``land``) or returns, with an
event saying why.  Every drone of the fleet tracks the same reference point plus its own launch slot
(feed-forward reference velocity plus a proportional correction), so the formation keeps its shape.  Cruise
speed defaults to 80 % of the maximum so a drone pushed off its slot can catch up.  A drone without a route
holds its position.  Runs first in DECIDE; swarm autonomy and ground-station control run after it and
overwrite the intent of the drones they command.

All fleets' schedules live in one set of leg arrays, so the reference of every fleet is found with a few
NumPy operations per tick however many fleets there are.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skyhive.events import EventLog
from skyhive.flight.kernels import track_slots
from skyhive.flight.routing import Obstacles, plan_route
from skyhive.geo.fences import FenceSet
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

F64 = NDArray[np.float64]
GAIN = 0.5  # 1/s: position correction towards the slot
ACCEPT_M = 5.0  # distance to the final slot that counts as arrived ...
SETTLED_MPS = 1.0  # ... at a speed below this
CRUISE_FRACTION = 0.8
ACCEL_FRACTION = 0.5  # the reference accelerates at half the vehicles' limit, leaving room to correct
ON_COMPLETE = {"hold": 0, "land": 1, "return": 2}
TIME_KEY = 1e9  # larger than any schedule's length in seconds: fleet k's legs sort as k * TIME_KEY + end time


@dataclass
class Legs:
    """One fleet's trajectory: legs flown one after another, each a trapezoidal speed profile."""

    start: F64  # (L, 3) where each leg starts
    unit: F64  # (L, 3) its direction
    length: F64  # (L,)
    top: F64  # (L,) its top speed
    duration: F64  # (L,)
    accel: float
    loop_from: int  # legs from this index repeat when the route loops; -1: no loop
    target: NDArray[np.int64]  # (L,) the route waypoint each leg ends at, -1 for a turn point of a detour

    @classmethod
    def through(cls, points: F64, speed: float, climb: float, descent: float, accel: float,
                loop_from: int = -1, target: NDArray[np.int64] | None = None) -> Legs:
        legs = np.diff(points, axis=0)
        length = np.linalg.norm(legs, axis=1)
        unit = legs / np.maximum(length, 1e-9)[:, None]
        h_frac = np.hypot(unit[:, 0], unit[:, 1])
        v_rate = np.where(unit[:, 2] > 0, climb, descent)
        top = np.minimum(speed / np.maximum(h_frac, 1e-9), v_rate / np.maximum(np.abs(unit[:, 2]), 1e-9))
        top = np.minimum(top, np.sqrt(np.maximum(length, 1e-9) * accel))  # short legs never reach cruise
        duration = np.maximum(length / top + top / accel, 1e-6)
        if target is None:
            target = np.full(len(points) - 1, -1, np.int64)
        return cls(points[:-1].copy(), unit, length, top, duration, accel, loop_from, target)

    @property
    def end(self) -> F64:
        return self.start[-1] + self.length[-1] * self.unit[-1]


class Schedules:
    """Every fleet's reference position and velocity at any time, evaluated for all fleets at once."""

    def __init__(self, n_fleets: int) -> None:
        self.legs: list[Legs | None] = [None] * n_fleets
        self.t0 = np.zeros(n_fleets)  # sim time at which each fleet's current schedule started
        self._pack()

    def set(self, fleet: int, legs: Legs | None, t0: float) -> None:
        self.legs[fleet] = legs
        self.t0[fleet] = t0
        self._pack()

    def _pack(self) -> None:
        have = [(f, lg) for f, lg in enumerate(self.legs) if lg is not None]
        n = len(self.legs)
        self.has = np.zeros(n, bool)
        self.total = np.zeros(n)
        self.loop_start = np.full(n, -1.0)
        self.first = np.zeros(n, np.int64)
        self.count = np.zeros(n, np.int64)
        if not have:
            return
        starts, units, lengths, tops, durs, accels, keys = [], [], [], [], [], [], []
        offset = 0
        for f, lg in have:
            ends = np.cumsum(lg.duration)
            self.has[f] = True
            self.total[f] = float(ends[-1])
            self.first[f] = offset
            self.count[f] = lg.duration.size
            if lg.loop_from >= 0:
                self.loop_start[f] = float(ends[lg.loop_from - 1]) if lg.loop_from > 0 else 0.0
            starts.append(lg.start)
            units.append(lg.unit)
            lengths.append(lg.length)
            tops.append(lg.top)
            durs.append(lg.duration)
            accels.append(np.full(lg.duration.size, lg.accel))
            keys.append(f * TIME_KEY + ends)
            offset += lg.duration.size
        self.start = np.vstack(starts)
        self.unit = np.vstack(units)
        self.length = np.concatenate(lengths)
        self.top = np.concatenate(tops)
        self.duration = np.concatenate(durs)
        self.accel = np.concatenate(accels)
        self.keys = np.concatenate(keys)

    def at(self, t: float, ref_pos: F64, ref_vel: F64, finished: NDArray[np.bool_]) -> None:
        """Fill (F, 3) reference positions and velocities and whether each fleet's schedule has ended."""
        f = np.flatnonzero(self.has)
        if f.size == 0:
            return
        tf = t - self.t0[f]
        looping = (self.loop_start[f] >= 0.0) & (tf > self.total[f])
        if looping.any():
            ls = self.loop_start[f][looping]
            tf[looping] = ls + (tf[looping] - ls) % np.maximum(self.total[f][looping] - ls, 1e-6)
        over = tf >= self.total[f]
        k = np.searchsorted(self.keys, f * TIME_KEY + tf, side="right")
        k = np.minimum(np.maximum(k, self.first[f]), self.first[f] + self.count[f] - 1)
        tau = tf - ((self.keys[k] - f * TIME_KEY) - self.duration[k])
        top, a, dur, length = self.top[k], self.accel[k], self.duration[k], self.length[k]
        ramp = top / a
        left = dur - tau
        dist = np.where(tau < ramp, 0.5 * a * tau * tau,
                        np.where(tau > dur - ramp, length - 0.5 * a * left * left, 0.5 * a * ramp * ramp
                                 + top * (tau - ramp)))
        speed = np.where(tau < ramp, a * tau, np.where(tau > dur - ramp, a * left, top))
        dist = np.where(over, length, np.clip(dist, 0.0, length))
        speed = np.where(over, 0.0, np.maximum(speed, 0.0))
        ref_pos[f] = self.start[k] + dist[:, None] * self.unit[k]
        ref_vel[f] = speed[:, None] * self.unit[k]
        finished[f] = over


def kinematics(max_speed: float, max_climb: float, max_descent: float, max_accel: float,
               route_speed: float | None) -> tuple[float, float, float, float]:
    """(cruise speed, climb rate, descent rate, acceleration) a fleet's reference flies with: 80 % of the
    slowest member's limits (the route's speed if lower) and half its acceleration limit."""
    cruise = min(route_speed or CRUISE_FRACTION * max_speed, CRUISE_FRACTION * max_speed)
    return cruise, max_climb * CRUISE_FRACTION, max_descent * CRUISE_FRACTION, max_accel * ACCEL_FRACTION


def _label(path: F64, route: F64, first: int, loop: bool) -> NDArray[np.int64]:
    """For each point of ``path``, the index of the route waypoint it is (matched in route order from
    ``first``, cycling when the route loops), or -1 (launch point, climb point, turn point of a detour)."""
    out = np.full(len(path), -1, np.int64)
    r = first
    for p in range(len(path)):
        if r < len(route) and np.allclose(path[p], route[r], atol=1e-6):
            out[p] = r
            r += 1
            if loop and r == len(route):
                r = 0
    return out


class WaypointFollower:
    name = "waypoints"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, drones: DroneState, routes: list[F64 | None], origins: list[F64], offsets: F64,
                 speeds: list[float | None], loops: list[bool], on_complete: list[str], log: EventLog,
                 fences: FenceSet | None = None, clearance_m: float = 0.0, fleet_names: list[str] | None = None
                 ) -> None:
        """``routes[f]``: fleet f's (W, 3) waypoints or None; ``origins[f]``: its first launch site;
        ``offsets``: (N, 3) each drone's slot relative to that site; ``fences``: planned around when
        active; ``clearance_m``: kept from keep-outs beyond each formation's radius."""
        self.log = log
        self.fences = fences
        self.fleet = drones.fleet.astype(np.int64)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.float64)
        n_fleets = len(routes)
        self.fleet_names = fleet_names or [f"fleet {f}" for f in range(n_fleets)]
        self.routes = routes
        self.loops = loops
        self.schedules = Schedules(n_fleets)
        self.kinematics: list[tuple[float, float, float, float]] = []
        self.radius = np.zeros(n_fleets)
        self.clearance_m = clearance_m
        for f in range(n_fleets):
            members = self.fleet == f
            if not members.any():
                self.kinematics.append((1.0, 1.0, 1.0, 1.0))
                continue
            self.kinematics.append(kinematics(float(drones.max_h_speed[members].min()),
                                              float(drones.max_climb[members].min()),
                                              float(drones.max_descent[members].min()),
                                              float(drones.max_accel[members].min()), speeds[f]))
            self.radius[f] = float(np.hypot(self.offsets[members, 0], self.offsets[members, 1]).max())
        self.routed_fleet = np.asarray([r is not None for r in routes], bool)
        for f, route in enumerate(routes):
            if route is None:
                continue
            start = np.asarray(origins[f], float).reshape(3).copy()
            start[2] = 0.0
            above = np.array([start[0], start[1], float(route[0][2])])
            head = [start] if np.allclose(above, route[0]) else [start, above]  # vertical climb first
            points = np.vstack([*head, route])
            planned = self._plan(f, points)
            if planned is None:  # validation refuses these; a scenario built in code holds at the pad
                self.log.add(0.0, "warning", "waypoints", f"{self.fleet_names[f]}: no path around the active "
                             "keep-outs; holding at the launch site")
                continue
            self._set(f, planned, 0.0, first=0)
        self.on_complete = np.asarray([ON_COMPLETE[c] for c in on_complete], np.int8)
        self.routed = self.routed_fleet[self.fleet]
        self.done = ~self.routed
        self.completed_at = np.full(drones.n, np.nan)  # sim time each drone completed its route
        self.hold = drones.pos.copy()
        self.ref_pos = np.zeros((n_fleets, 3))
        self.ref_vel = np.zeros((n_fleets, 3))
        self.fleet_done = np.zeros(n_fleets, bool)
        self.ref_pos[:] = [np.asarray(o, float).reshape(3) * [1, 1, 0] for o in origins] if origins else 0.0
        self._arrived = np.zeros(drones.n, bool)
        self._active = self._fence_state()
        self.replans = 0
        self.blocked = 0

    def _fence_state(self) -> tuple[bool, ...]:
        return tuple(p.active for p in self.fences.prisms) if self.fences is not None else ()

    def _plan(self, f: int, points: F64) -> F64 | None:
        if self.fences is None:
            return points
        z = points[:, 2]
        # the formation's full clearance if a path keeps it, else less, else the straight route (the safety
        # filter keeps the drones out either way)
        for clearance in (self.clearance_m + self.radius[f], self.clearance_m, 0.5):
            obstacles = Obstacles.from_fences(self.fences, clearance, float(z.min()), float(z.max()))
            path, _ = plan_route(points, obstacles)
            if path is not None:
                return path
        return None

    def _set(self, f: int, path: F64, t0: float, first: int) -> None:
        """Fleet f flies ``path`` from ``t0``; the path's route waypoints start at route index ``first``.
        A looping route flies back to its first waypoint and repeats from there."""
        cruise, climb, descent, accel = self.kinematics[f]
        route = self.routes[f]
        assert route is not None
        loop_from = -1
        if self.loops[f]:
            back = self._plan(f, np.vstack([path[-1], route[0]]))
            path = np.vstack([path, back[1:]]) if back is not None else path
        target = _label(path, route, first, self.loops[f])
        if self.loops[f]:
            starts = np.flatnonzero(target[:-1] == 0)  # the legs from the first waypoint on repeat
            loop_from = int(starts[0]) if starts.size else -1
        self.schedules.set(f, Legs.through(path, cruise, climb, descent, accel, loop_from, target[1:]), t0)

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        state = self._fence_state()
        if state != self._active:
            # a fence added during the run (an operator's keep-out) lengthens the state: it was off before
            switched_on = any(now and not before for now, before in itertools.zip_longest(state, self._active,
                                                                                        fillvalue=False))
            self._active = state
            if switched_on:
                self._replan(ctx)
        self.schedules.at(ctx.t, self.ref_pos, self.ref_vel, self.fleet_done)
        count = track_slots(d.pos, d.vel, d.intent_vel, d.status, int(DroneStatus.ACTIVE), self.fleet, self.done,
                            self.hold, self.ref_pos, self.ref_vel, self.fleet_done, self.offsets, GAIN, ACCEPT_M,
                            SETTLED_MPS, self._arrived)
        if count:
            self._finish(ctx, np.flatnonzero(self._arrived))

    def _replan(self, ctx: TickContext) -> None:
        """A keep-out switched on: fleets whose remaining route now crosses one fly around it from where
        their reference is; a fleet whose next waypoint cannot be reached holds, lands or returns."""
        sched = self.schedules
        for f, legs in enumerate(sched.legs):
            if legs is None or self.fleet_done[f] or bool(self.done[self.fleet == f].all()):
                continue
            here = self.ref_pos[f].copy()
            k = self._next_waypoint(f, ctx.t)
            route = self.routes[f]
            assert route is not None and self.fences is not None
            rest = np.vstack([route[k:], route[:k]]) if self.loops[f] else route[k:]
            points = np.vstack([here, rest])
            z = points[:, 2]
            obstacles = Obstacles.from_fences(self.fences, self.clearance_m + self.radius[f], float(z.min()),
                                              float(z.max()))
            if not any(obstacles.blocks(a, b) for a, b in itertools.pairwise(points)):
                continue
            path, bad = plan_route(points, obstacles)
            if path is None:
                self.blocked += 1
                members = np.flatnonzero((self.fleet == f) & ~self.done)
                self.hold[members] = ctx.world.drones.pos[members]
                self.done[members] = True
                mode = self.on_complete[f]
                status = DroneStatus.RETURNING if mode == 2 else (DroneStatus.LANDING if mode == 1 else None)
                active = members[ctx.world.drones.status[members] == DroneStatus.ACTIVE]
                if status is not None:
                    ctx.world.drones.status[active] = status
                what = {0: "holding", 1: "landing", 2: "returning"}[int(mode)]
                wp = (k + bad - 1) % len(route)
                self.log.add(ctx.t, "warning", "waypoints", f"{self.fleet_names[f]}: waypoint {wp} can no longer be "
                             f"reached around the active keep-outs; {what}", drones=members)
                sched.set(f, None, ctx.t)
                continue
            self.replans += 1
            self._set(f, path, ctx.t, first=k)
            self.log.add(ctx.t, "info", "waypoints", f"{self.fleet_names[f]}: route re-planned around the active "
                         f"keep-outs ({len(path) - len(points)} extra turn point(s))",
                         drones=np.flatnonzero(self.fleet == f))

    def _next_waypoint(self, f: int, t: float) -> int:
        """Index in fleet f's route of the next waypoint its reference has not reached yet."""
        sched = self.schedules
        legs = sched.legs[f]
        assert legs is not None
        first = int(sched.first[f])
        tf = t - sched.t0[f]
        if legs.loop_from >= 0 and tf > sched.total[f]:
            ls = sched.loop_start[f]
            tf = ls + (tf - ls) % max(sched.total[f] - ls, 1e-6)
        k = int(np.searchsorted(sched.keys[first:first + legs.duration.size], f * TIME_KEY + tf, side="right"))
        ahead = np.flatnonzero(legs.target[k:] >= 0)
        route = self.routes[f]
        assert route is not None
        return int(legs.target[k + ahead[0]]) if ahead.size else len(route) - 1

    def _finish(self, ctx: TickContext, idx: NDArray[np.int64]) -> None:
        d = ctx.world.drones
        self.done[idx] = True
        self.completed_at[idx] = ctx.t
        mode = self.on_complete[self.fleet[idx]]
        d.status[idx[mode == 1]] = DroneStatus.LANDING
        d.status[idx[mode == 2]] = DroneStatus.RETURNING
        self.log.add(ctx.t, "info", "waypoints", f"{idx.size} drone(s) completed their route", drones=idx)

    def hold_at(self, drone: int, pos: F64) -> None:
        """A routeless drone handed back to the swarm holds at ``pos`` (the ``HoldPort`` of ``skyhive.systems``)."""
        self.hold[drone] = pos

    def metrics(self) -> dict[str, object]:
        return {"routes_completed": int(np.count_nonzero(~np.isnan(self.completed_at))),
                "routes_replanned": self.replans, "routes_blocked": self.blocked}
