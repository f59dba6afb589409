"""The built-in behaviour: each fleet flies its route as a timed trajectory, in launch formation.

A fleet's route becomes a schedule: from the first launch site on the ground
to each waypoint in turn, each leg a trapezoidal speed profile that stops at
the waypoint.  Every drone of the fleet tracks the same reference point plus
its own launch slot (feed-forward reference velocity plus a proportional
correction), so the formation keeps its shape instead of stretching as drones
reach waypoints at slightly different moments.  Cruise speed defaults to 80 %
of the maximum so a drone pushed off its slot can catch up.  A drone without
a route holds its position.  Runs first in DECIDE; swarm autonomy and
ground-station control run after it and overwrite the intent of the drones they
command.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skyhive.events import EventLog
from skyhive.flight.kernels import track_slots
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

F64 = NDArray[np.float64]
GAIN = 0.5  # 1/s: position correction towards the slot
ACCEPT_M = 5.0  # distance to the final slot that counts as arrived ...
SETTLED_MPS = 1.0  # ... at a speed below this
CRUISE_FRACTION = 0.8
ACCEL_FRACTION = 0.5  # the reference accelerates at half the vehicles' limit, leaving room to correct
ON_COMPLETE = {"hold": 0, "land": 1, "return": 2}


class FleetSchedule:
    """Reference position and velocity of one fleet's route at any time.

    Each leg is flown with a trapezoidal speed profile: accelerate at ``accel``,
    cruise, and decelerate to a stop at the waypoint, so the reference never asks
    for a turn the vehicles cannot fly.  A leg's top speed is the cruise speed
    horizontally and the climb/descent rate vertically, whichever binds.
    """

    def __init__(self, points: F64, speed: float, climb: float, descent: float, accel: float, loop: bool) -> None:
        if loop:
            points = np.vstack([points, points[1:2]])  # after the last waypoint, back to the first one
        legs = np.diff(points, axis=0)
        length = np.linalg.norm(legs, axis=1)
        unit = legs / np.maximum(length, 1e-9)[:, None]
        h_frac = np.hypot(unit[:, 0], unit[:, 1])
        v_rate = np.where(unit[:, 2] > 0, climb, descent)
        top = np.minimum(speed / np.maximum(h_frac, 1e-9), v_rate / np.maximum(np.abs(unit[:, 2]), 1e-9))
        top = np.minimum(top, np.sqrt(np.maximum(length, 1e-9) * accel))  # short legs never reach cruise
        self.points, self.unit, self.length, self.top, self.accel = points, unit, length, top, accel
        self.durations = np.maximum(length / top + top / accel, 1e-6)
        self.ends = np.cumsum(self.durations)
        self.loop = loop
        self.loop_start = float(self.ends[0])  # looping repeats legs 1.., not the climb from the ground
        self.total = float(self.ends[-1])

    def at(self, t: float) -> tuple[F64, F64, bool]:
        """(reference position, reference velocity, finished) at time t since the fleet started."""
        if self.loop and t > self.total:
            period = self.total - self.loop_start
            t = self.loop_start + (t - self.loop_start) % period
        if t >= self.total:
            return self.points[-1], np.zeros(3), True
        k = int(np.searchsorted(self.ends, t, side="right"))
        tau = t - (self.ends[k] - self.durations[k])
        top, a, dur = float(self.top[k]), self.accel, float(self.durations[k])
        ramp = top / a
        if tau < ramp:
            dist, speed = 0.5 * a * tau * tau, a * tau
        elif tau > dur - ramp:
            left = dur - tau
            dist, speed = float(self.length[k]) - 0.5 * a * left * left, a * left
        else:
            dist, speed = 0.5 * a * ramp * ramp + top * (tau - ramp), top
        return self.points[k] + dist * self.unit[k], speed * self.unit[k], False


class WaypointFollower:
    name = "waypoints"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, drones: DroneState, routes: list[F64 | None], origins: list[F64], offsets: F64,
                 speeds: list[float | None], loops: list[bool], on_complete: list[str], log: EventLog) -> None:
        """``routes[f]``: fleet f's (W, 3) waypoints or None; ``origins[f]``: its first launch site;
        ``offsets``: (N, 3) each drone's slot relative to that site."""
        self.log = log
        self.fleet = drones.fleet.astype(np.int64)
        self.schedules: list[FleetSchedule | None] = []
        for f, route in enumerate(routes):
            if route is None:
                self.schedules.append(None)
                continue
            members = self.fleet == f
            vmax = float(drones.max_h_speed[members].min())
            cruise = min(speeds[f] or CRUISE_FRACTION * vmax, CRUISE_FRACTION * vmax)
            climb = float(drones.max_climb[members].min()) * CRUISE_FRACTION
            descent = float(drones.max_descent[members].min()) * CRUISE_FRACTION
            start = np.asarray(origins[f], float).reshape(1, 3).copy()
            start[0, 2] = 0.0
            accel = float(drones.max_accel[members].min()) * ACCEL_FRACTION
            self.schedules.append(FleetSchedule(np.vstack([start, route]), cruise, climb, descent, accel, loops[f]))
        self.on_complete = np.asarray([ON_COMPLETE[c] for c in on_complete], np.int8)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.float64)
        self.routed = np.asarray([s is not None for s in self.schedules], bool)[self.fleet]
        self.done = ~self.routed
        self.completed_at = np.full(drones.n, np.nan)  # sim time each drone completed its route
        self.hold = drones.pos.copy()
        n_fleets = len(routes)
        self.ref_pos = np.zeros((n_fleets, 3))
        self.ref_vel = np.zeros((n_fleets, 3))
        self.fleet_done = np.zeros(n_fleets, bool)
        self._arrived = np.zeros(drones.n, bool)

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        for f, sched in enumerate(self.schedules):  # a handful of fleets
            if sched is not None:
                self.ref_pos[f], self.ref_vel[f], self.fleet_done[f] = sched.at(ctx.t)
        count = track_slots(d.pos, d.vel, d.intent_vel, d.status, int(DroneStatus.ACTIVE), self.fleet, self.done,
                            self.hold, self.ref_pos, self.ref_vel, self.fleet_done, self.offsets, GAIN, ACCEPT_M,
                            SETTLED_MPS, self._arrived)
        if count:
            self._finish(ctx, np.flatnonzero(self._arrived))

    def _finish(self, ctx: TickContext, idx: NDArray[np.int64]) -> None:
        d = ctx.world.drones
        self.done[idx] = True
        self.completed_at[idx] = ctx.t
        mode = self.on_complete[self.fleet[idx]]
        d.status[idx[mode == 1]] = DroneStatus.LANDING
        d.status[idx[mode == 2]] = DroneStatus.RETURNING
        self.log.add(ctx.t, "info", "waypoints", f"{idx.size} drone(s) completed their route", drones=idx)

    def metrics(self) -> dict[str, object]:
        return {"routes_completed": int((self.done & self.routed).sum())}
