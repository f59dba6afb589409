"""Intruders: aircraft the scenario flies through the airspace (transit, loiter, approach a zone, hover), as arrays.

Truth only: the sensors observe them with their own errors; nothing in the tracker or the alerts reads this state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from skyhive.airspace.config import Intruder

if TYPE_CHECKING:
    from skyhive.geo.frames import LocalFrame

F64 = NDArray[np.float64]


class Intruders:
    """Intruder state as arrays; each behaviour is a masked array update."""

    def __init__(self, cfgs: list[Intruder], frame: LocalFrame, zone_centroids: dict[str, F64]) -> None:
        n = len(cfgs)
        self.names = [c.name for c in cfgs]
        self.n = n
        self.cfgs = cfgs

        def loc(p: Any) -> F64:
            return np.asarray(frame.local(p.lat, p.lon, p.alt_m), float).reshape(3)

        start = np.array([loc(c.start) for c in cfgs]).reshape(n, 3)
        self.kind = np.array([("transit", "loiter", "approach", "hover").index(c.behaviour) for c in cfgs], np.int64)
        self.speed = np.array([c.speed_mps for c in cfgs], float)
        self.appear = np.array([c.appear_s for c in cfgs], float)
        self.rcs = np.array([c.rcs_m2 for c in cfgs], float)
        self.emitting = np.array([c.emitting for c in cfgs], bool)
        self.radius = np.array([c.loiter_radius_m for c in cfgs], float)
        self.centre = start.copy()
        self.theta = np.zeros(n)
        self.pos = start.copy()
        self.pos[self.kind == 1] += np.c_[np.zeros(n), self.radius, np.zeros(n)][self.kind == 1]
        self.vel = np.zeros((n, 3))
        wps: list[F64] = []
        self.wp_start = np.zeros(n, np.int64)
        self.wp_end = np.zeros(n, np.int64)
        for k, c in enumerate(cfgs):
            self.wp_start[k] = sum(len(w) for w in wps)
            if c.behaviour == "transit":
                wps.append(np.array([loc(p) for p in c.waypoints]))
            elif c.behaviour == "approach" and c.zone is not None:
                z = zone_centroids[c.zone]
                wps.append(np.array([[z[0], z[1], start[k, 2]]]))
            else:
                wps.append(start[k:k + 1])
            self.wp_end[k] = self.wp_start[k] + len(wps[-1])
        self.wp = np.vstack(wps) if wps else np.zeros((0, 3))
        self.wp_idx = self.wp_start.copy()
        self.active = self.appear <= 0.0

    def step(self, t: float, dt: float) -> None:
        self.active = t >= self.appear
        a = self.active
        # transit / approach: fly to the current waypoint, then the next; hover at the last one
        go = a & ((self.kind == 0) | (self.kind == 2))
        tgt = self.wp[np.minimum(self.wp_idx, self.wp_end - 1)] if self.n else np.zeros((0, 3))
        d = tgt - self.pos
        dist = np.linalg.norm(d, axis=1)
        step = self.speed * dt
        arrive = go & (dist <= step)
        vel = np.where(go[:, None], d / np.maximum(dist, 1e-9)[:, None] * self.speed[:, None], 0.0)
        vel[arrive] = d[arrive] / dt
        last = self.wp_idx >= self.wp_end - 1
        self.wp_idx = np.where(arrive & ~last, self.wp_idx + 1, self.wp_idx)
        # loiter: a circle around the start at constant speed
        lo = a & (self.kind == 1)
        w = self.speed / self.radius
        theta = np.where(lo, self.theta + w * dt, self.theta)
        new_circle = self.centre + self.radius[:, None] * np.c_[np.sin(theta), np.cos(theta), np.zeros(self.n)]
        vel[lo] = (new_circle[lo] - self.pos[lo]) / dt
        self.theta = theta
        vel[~a] = 0.0
        self.vel = vel
        self.pos = self.pos + vel * dt

