"""Ground-station control as a DECIDE-phase system: targets in, velocity intents out.

A drone under ground-station control (``gcs[i]``) flies towards ``target[i]``
at up to ``speed[i]`` horizontally and ``climb[i]``/``sink[i]`` vertically,
slowing down so it can stop at the target (``v <= sqrt(a d)`` and ``v <= d``
per second).  It only writes ``intent_vel``: the core safety filter still turns
intents into commands (separation, geofences, manned aircraft), and the core
failsafe, which runs after this system, still wins for battery returns and
landings.  Arrivals are reported back to the protocol side as index arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skyhive.systems import ControlMask, Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

F64 = NDArray[np.float64]
POS_GAIN = 1.0  # 1/s: final approach speed per metre of error


class GcsControl:
    name = "mavlink"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, drones: DroneState, control: ControlMask) -> None:
        n = drones.n
        self.gcs = control.external  # the simulation's control mask: autonomy leaves these drones alone
        self.target = drones.pos.copy()
        self.speed = np.full(n, 5.0)
        self.climb = np.full(n, 3.0)
        self.sink = np.full(n, 1.5)
        self.accept_h = np.full(n, 10.0)
        self.accept_v = np.full(n, 0.8)
        self.watch = np.zeros(n, bool)  # report arrival at the target once
        self.hold_until = np.full(n, np.inf)  # sim time a mission hold ends (the protocol side checks it)
        self.arrived: NDArray[np.int64] = np.zeros(0, np.int64)
        self.decel = 0.5 * drones.max_accel.astype(np.float64)
        self.vmax = drones.max_h_speed.astype(np.float64)
        self.climb_max = drones.max_climb.astype(np.float64)
        self.sink_max = drones.max_descent.astype(np.float64)
        self.commanded = 0

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        idx = np.flatnonzero(self.gcs & (d.status == DroneStatus.ACTIVE))
        if idx.size == 0:
            self.arrived = np.zeros(0, np.int64)
            return
        err = self.target[idx] - d.pos[idx]
        dist = np.hypot(err[:, 0], err[:, 1])
        vh = np.minimum.reduce([self.speed[idx], self.vmax[idx], np.sqrt(self.decel[idx] * dist), POS_GAIN * dist])
        v = np.empty((idx.size, 3))
        v[:, :2] = err[:, :2] * (vh / np.maximum(dist, 1e-9))[:, None]
        up = np.minimum(self.climb[idx], self.climb_max[idx])
        down = np.minimum(self.sink[idx], self.sink_max[idx])
        v[:, 2] = np.clip(POS_GAIN * err[:, 2], -down, up)
        d.intent_vel[idx] = v
        self.commanded += idx.size
        hit = self.watch[idx] & (dist <= self.accept_h[idx]) & (np.abs(err[:, 2]) <= self.accept_v[idx])
        self.arrived = idx[hit]
        self.watch[self.arrived] = False

    def metrics(self) -> dict[str, object]:
        return {"mavlink_gcs_controlled": int(self.gcs.sum())}
