"""Multirotor point-mass dynamics, wind drift and battery drain (the MOVE phase).

The autopilot tracks the commanded ground velocity by commanding airspeed
``cmd - steady wind`` (it knows the mean wind, not the gusts), so gusts push
drones off their path until the loop corrects.  The velocity response is first
order with time constant ``response_time_s`` (exact discretisation) and the
change per tick is capped by ``max_accel_mps2``.  Power is
``hover + drag_coef * |v_air,h|^3 + climb_coef * max(v_up, 0)``: the cubic
parasite-drag term dominates at cruise, the linear term is the potential
energy rate divided by an efficiency (see docs/flight.md).
"""

from __future__ import annotations

import numpy as np

from skyhive.flight.kernels import integrate
from skyhive.flight.wind import WindField
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

ON_GROUND_M = 0.05
_LANDING_CODES = np.array([DroneStatus.RETURNING, DroneStatus.LANDING], np.uint8)


class Dynamics:
    name = "dynamics"
    phase = Phase.MOVE
    period = 0.0

    def __init__(self, drones: DroneState, wind: WindField, dt: float) -> None:
        self.wind = wind
        self.alpha = 1.0 - np.exp(-dt / drones.tau.astype(np.float64))
        self.dv_max = drones.max_accel.astype(np.float64) * dt
        self.energy_wh = 0.0

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        self.wind.advance()
        self.energy_wh += integrate(
            d.pos, d.vel, d.cmd_vel, d.status, d.battery_wh, d.distance_m, self.alpha, self.dv_max,
            d.hover_power_w, d.drag_power_coef, d.climb_power_coef, self.wind.nodes, self.wind.length,
            self.wind.steady, ctx.dt, ON_GROUND_M, int(DroneStatus.LANDING), _LANDING_CODES, int(DroneStatus.LANDED))

    def metrics(self) -> dict[str, object]:
        return {"energy_used_wh": self.energy_wh}
