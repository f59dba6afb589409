"""Vehicle failsafes: return to launch at the battery reserve, land when empty.

Runs last in DECIDE so it overrides every other intent, as an autopilot's
battery failsafe overrides the mission and the ground station.
"""

from __future__ import annotations

import numpy as np

from skyhive.events import EventLog
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneStatus

HOME_ACCEPT_M = 2.0
RETURN_GAIN = 0.5  # 1/s: proportional approach to home, capped at max speed


class Failsafe:
    name = "failsafe"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.returns = 0
        self.empty_landings = 0

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        low = (d.status == DroneStatus.ACTIVE) & (d.battery_wh < d.reserve_frac * d.capacity_wh)
        if low.any():
            d.status[low] = DroneStatus.RETURNING
            self.returns += int(low.sum())
            self.log.add(ctx.t, "info", "failsafe", f"{int(low.sum())} drone(s) at battery reserve: returning",
                         drones=np.flatnonzero(low))
        empty = (d.status <= DroneStatus.RETURNING) & (d.battery_wh <= 0.0)
        if empty.any():
            d.status[empty] = DroneStatus.LANDING
            self.empty_landings += int(empty.sum())
            self.log.add(ctx.t, "warning", "failsafe", f"{int(empty.sum())} drone(s) out of battery: landing",
                         drones=np.flatnonzero(empty))

        ret = np.flatnonzero(d.status == DroneStatus.RETURNING)
        if ret.size:
            to_home = d.home[ret] - d.pos[ret]
            dist_h = np.hypot(to_home[:, 0], to_home[:, 1])
            speed = np.minimum(d.max_h_speed[ret], RETURN_GAIN * dist_h)
            v = np.zeros((ret.size, 3))
            v[:, :2] = to_home[:, :2] * (speed / np.maximum(dist_h, 1e-9))[:, None]
            over_home = dist_h < HOME_ACCEPT_M
            v[:, 2] = np.where(over_home, -d.max_descent[ret], 0.0)
            d.intent_vel[ret] = v
        land = d.status == DroneStatus.LANDING
        if land.any():
            d.intent_vel[land, :2] = 0.0
            d.intent_vel[land, 2] = -d.max_descent[land]

    def metrics(self) -> dict[str, object]:
        return {"battery_returns": self.returns, "battery_empty_landings": self.empty_landings}
