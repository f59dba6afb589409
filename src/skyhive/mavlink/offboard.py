"""Offboard setpoints for ``skyhive serve`` vehicles, PX4-style: what lets one skyhive fly another's drones.

A served vehicle accepts ``SET_POSITION_TARGET_LOCAL_NED`` (the local frame's origin is the vehicle's home, north-
east-down) and ``SET_POSITION_TARGET_GLOBAL_INT`` (the ArduPilot GUIDED message, also accepted by PX4 in OFFBOARD):
velocity, position, or both, per the type mask.  As on PX4:

* switching to OFFBOARD is refused unless setpoints arrived within the last ``LOSS_S`` (``COM_OF_LOSS_T``);
  a drone that flies a scenario route keeps skyhive's old meaning of OFFBOARD (the swarm flies it) when no
  setpoints come;
* while in OFFBOARD the latest setpoint is flown: velocity as the intent, or a position approached at up to the
  drone's limits; the core safety filter still turns intents into commands;
* setpoints that stop for ``LOSS_S`` end OFFBOARD: the vehicle's failsafe holds position (PX4's ``COM_OBL_RC_ACT``
  without RC: Hold); the server hands the time-outs to the vehicles after each tick.

Per-tick work is one vectorized ``step`` (a DECIDE-phase system that runs after the ground-station control).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymavlink.dialects.v20 import common as mav

from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

LOSS_S = 1.0  # PX4 COM_OF_LOSS_T default
POS_GAIN = 1.0  # 1/s: approach speed per metre of position error
IGNORE_POS = 0b111
IGNORE_VEL = 0b111000
FRAMES_LOCAL = {mav.MAV_FRAME_LOCAL_NED}
FRAMES_GLOBAL_REL = {mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT}
FRAMES_GLOBAL_AMSL = {mav.MAV_FRAME_GLOBAL_INT, mav.MAV_FRAME_GLOBAL}


class OffboardSetpoints:
    """The latest setpoint of every served drone (NaN where not given) and who is flying them."""

    name = "mavlink-offboard"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, drones: DroneState) -> None:
        n = drones.n
        self.pos = np.full((n, 3), np.nan)
        self.vel = np.full((n, 3), np.nan)
        self.t = np.full(n, -np.inf)  # sim time of the last setpoint
        self.engaged = np.zeros(n, bool)
        self.timed_out: NDArray[np.int64] = np.zeros(0, np.int64)
        self.received = 0
        self.refused = 0
        self.losses = 0

    def fresh(self, i: int, t: float) -> bool:
        return bool(t - self.t[i] <= LOSS_S)

    def engage(self, i: int) -> None:
        self.engaged[i] = True

    def disengage(self, i: int) -> None:
        self.engaged[i] = False

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        stale = self.engaged & (ctx.t - self.t > LOSS_S)
        if stale.any():
            self.timed_out = np.concatenate([self.timed_out, np.flatnonzero(stale)])
            self.engaged[stale] = False
            self.losses += int(stale.sum())
        idx = np.flatnonzero(self.engaged & (d.status == DroneStatus.ACTIVE))
        if idx.size == 0:
            return
        vel = self.vel[idx]
        err = self.pos[idx] - d.pos[idx]
        by_pos = np.isnan(vel) & ~np.isnan(err)
        v = np.where(by_pos, POS_GAIN * np.nan_to_num(err), np.nan_to_num(vel))
        # limits: horizontal speed, climb, descent (the safety filter clips again; this keeps the intent sane)
        vh = np.hypot(v[:, 0], v[:, 1])
        scale = np.minimum(1.0, d.max_h_speed[idx] / np.maximum(vh, 1e-9))
        v[:, :2] *= scale[:, None]
        v[:, 2] = np.clip(v[:, 2], -d.max_descent[idx], d.max_climb[idx])
        d.intent_vel[idx] = v

    def take_timed_out(self) -> NDArray[np.int64]:
        out, self.timed_out = self.timed_out, np.zeros(0, np.int64)
        return out

    def metrics(self) -> dict[str, object]:
        return {"mavlink_offboard_setpoints": self.received, "mavlink_offboard_refused": self.refused,
                "mavlink_offboard_losses": self.losses, "mavlink_offboard_engaged": int(self.engaged.sum())}


def on_setpoint(vehicle: Any, m: Any) -> None:
    """Store one SET_POSITION_TARGET_LOCAL_NED / _GLOBAL_INT for ``vehicle`` (a served ``Vehicle``)."""
    sp: OffboardSetpoints | None = vehicle.offboard
    if sp is None:
        return
    i, sim = vehicle.i, vehicle.sim
    mask = int(m.type_mask)
    frame = int(m.coordinate_frame)
    pos = np.full(3, np.nan)
    vel = np.full(3, np.nan)
    if not mask & IGNORE_VEL and all(math.isfinite(x) for x in (m.vx, m.vy, m.vz)):
        vel = np.array([m.vy, m.vx, -m.vz], float)  # NED -> ENU
    if not mask & IGNORE_POS:
        home = sim.world.drones.home[i]
        if m.get_type() == "SET_POSITION_TARGET_LOCAL_NED" and frame in FRAMES_LOCAL:
            if all(math.isfinite(x) for x in (m.x, m.y, m.z)):
                pos = home + np.array([m.y, m.x, -m.z], float)
        elif m.get_type() == "SET_POSITION_TARGET_GLOBAL_INT" and frame in FRAMES_GLOBAL_REL | FRAMES_GLOBAL_AMSL:
            lat, lon = m.lat_int / 1e7, m.lon_int / 1e7
            if abs(lat) <= 90 and abs(lon) <= 180 and math.isfinite(m.alt):
                xy = np.asarray(sim.frame.local(lat, lon, 0.0), float)[:2]
                z = m.alt - sim.frame.alt0 if frame in FRAMES_GLOBAL_AMSL else home[2] + m.alt
                pos = np.array([xy[0], xy[1], z], float)
    if np.isnan(pos).all() and np.isnan(vel).all():
        sp.refused += 1  # nothing usable (unsupported frame, all ignored, NaN)
        return
    sp.pos[i], sp.vel[i], sp.t[i] = pos, vel, sim.t
    sp.received += 1
