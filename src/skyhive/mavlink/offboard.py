"""OFFBOARD setpoints, PX4's way: SET_POSITION_TARGET_LOCAL_NED / SET_POSITION_TARGET_GLOBAL_INT.

A setpoint is a position, a velocity, or both (then the position wins), in one
of the frames MAVSDK and MAVROS use: LOCAL_NED (origin = home, PX4's local
origin), LOCAL_OFFSET_NED and BODY_OFFSET_NED (relative to where the vehicle
is now), BODY_NED (velocity along the vehicle's heading), GLOBAL_INT and
GLOBAL_RELATIVE_ALT_INT.  Acceleration, force and yaw fields are ignored (a
point-mass model has no attitude to command).  As on PX4: the switch to
OFFBOARD is refused unless setpoints are arriving (the last one at most
``COM_OF_LOSS_T`` old), and when they stop for longer the vehicle fails safe
(``COM_OBL_RC_ACT``: hold, return or land) with a STATUSTEXT.  Setpoints become
targets of ``GcsControl``, so the core safety filter still guards them.

GUIDED (OFFBOARD sub mode 2, a skyhive mode) behaves as ArduPilot's GUIDED: it
can be entered without setpoints (the vehicle holds), a single position
setpoint is flown to and held, and a velocity setpoint that is not renewed for
``GUIDED_TIMEOUT_S`` stops the vehicle (ArduPilot's guided velocity timeout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.modes import ACCEPTED, DENIED, GUIDED, LOITER, OFFBOARD

IGNORE_POSITION = 0b111
IGNORE_VELOCITY = 0b111 << 3
LOCAL_FRAMES = {mav.MAV_FRAME_LOCAL_NED, mav.MAV_FRAME_LOCAL_OFFSET_NED, mav.MAV_FRAME_BODY_NED,
                mav.MAV_FRAME_BODY_OFFSET_NED}
GLOBAL_FRAMES = {mav.MAV_FRAME_GLOBAL_INT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, mav.MAV_FRAME_GLOBAL,
                 mav.MAV_FRAME_GLOBAL_RELATIVE_ALT}
MAX_SETPOINT_M = 100_000.0  # a local setpoint farther than this from the origin is nonsense
MAX_SETPOINT_SPEED = 100.0
GUIDED_TIMEOUT_S = 3.0
MAV_SEVERITY_CRITICAL, MAV_SEVERITY_WARNING = 2, 4


@dataclass
class Setpoint:
    """One OFFBOARD setpoint in the local ENU frame; ``t`` = simulated time it arrived."""

    position: np.ndarray | None
    velocity: np.ndarray | None
    t: float


def _finite(*values: float) -> bool:
    return all(math.isfinite(x) for x in values)


def _ned_to_enu(n: float, e: float, d: float) -> np.ndarray:
    return np.array([e, n, -d], float)


def _ned_vector(n: float, e: float, d: float, limit: float, yaw: float | None) -> np.ndarray | None:
    """(north, east, down) -> ENU; along the heading ``yaw`` when given (body frames); None if not finite or
    any component beyond ``limit``."""
    if not _finite(n, e, d) or max(abs(n), abs(e), abs(d)) > limit:
        return None
    n, e = float(n), float(e)
    if yaw is not None:
        n, e = _rotate_heading(n, e, yaw)
    return _ned_to_enu(n, e, float(d))


def _rotate_heading(fwd: float, right: float, yaw: float) -> tuple[float, float]:
    """Body (forward, right) -> (north, east) for a heading ``yaw`` (rad from north, clockwise)."""
    return fwd * math.cos(yaw) - right * math.sin(yaw), fwd * math.sin(yaw) + right * math.cos(yaw)


def local_setpoint(m: Any, home: np.ndarray, pos: np.ndarray, yaw: float, t: float) -> Setpoint | str:
    """SET_POSITION_TARGET_LOCAL_NED -> Setpoint, or the reason it is refused."""
    if m.coordinate_frame not in LOCAL_FRAMES:
        return f"frame {m.coordinate_frame} unsupported"
    mask = int(m.type_mask)
    position = velocity = None
    body = m.coordinate_frame in (mav.MAV_FRAME_BODY_NED, mav.MAV_FRAME_BODY_OFFSET_NED)
    if not mask & IGNORE_POSITION:
        offset = _ned_vector(m.x, m.y, m.z, MAX_SETPOINT_M, yaw if body else None)
        if offset is None:
            return "position not finite or too far"
        origin = pos if m.coordinate_frame != mav.MAV_FRAME_LOCAL_NED else home
        position = origin + offset
    if not mask & IGNORE_VELOCITY:
        velocity = _ned_vector(m.vx, m.vy, m.vz, MAX_SETPOINT_SPEED, yaw if body else None)
        if velocity is None:
            return "velocity not finite or too fast"
    if position is None and velocity is None:
        return "neither position nor velocity"
    return Setpoint(position, velocity, t)


def global_setpoint(m: Any, to_local: Any, alt_to_z: Any, t: float) -> Setpoint | str:
    """SET_POSITION_TARGET_GLOBAL_INT -> Setpoint; ``to_local(lat, lon)`` -> (x, y), ``alt_to_z(alt, frame)``."""
    if m.coordinate_frame not in GLOBAL_FRAMES:
        return f"frame {m.coordinate_frame} unsupported"
    mask = int(m.type_mask)
    position = velocity = None
    if not mask & IGNORE_POSITION:
        lat, lon = m.lat_int / 1e7, m.lon_int / 1e7
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or not _finite(m.alt):
            return "invalid latitude, longitude or altitude"
        xy = to_local(lat, lon)
        position = np.array([xy[0], xy[1], alt_to_z(float(m.alt), m.coordinate_frame)], float)
        if np.abs(position).max() > MAX_SETPOINT_M:
            return "position too far"
    if not mask & IGNORE_VELOCITY:
        velocity = _ned_vector(m.vx, m.vy, m.vz, MAX_SETPOINT_SPEED, None)
        if velocity is None:
            return "velocity not finite or too fast"
    if position is None and velocity is None:
        return "neither position nor velocity"
    return Setpoint(position, velocity, t)


class OffboardControl:
    """OFFBOARD handling of a ``Vehicle`` (a mixin; the attributes below are the vehicle's)."""

    sim: Any
    ctl: Any
    i: int
    mode: tuple[int, int]
    params: Any
    counters: dict[str, int]
    setpoint: Setpoint | None

    if TYPE_CHECKING:
        @property
        def d(self) -> Any: ...
        @property
        def armed(self) -> bool: ...
        def say(self, severity: int, text: str) -> None: ...
        def target_violation(self, target: np.ndarray) -> str | None: ...
        def _goto(self, target: np.ndarray, accept_h: float | None = None, watch: bool = True) -> None: ...
        def _latlon_to_xy(self, lat: float, lon: float) -> np.ndarray: ...
        def _alt_to_z(self, alt: float, frame: int) -> float: ...
        def _hold_here(self) -> None: ...
        def _start_rtl(self) -> None: ...
        def _land(self) -> None: ...
        def _resume_active(self) -> None: ...
        def heading(self) -> float: ...

    def _on_set_position_target_local_ned(self, m: Any, now: float) -> None:
        d = self.d
        self._take_setpoint(local_setpoint(m, d.home[self.i], d.pos[self.i].copy(), self.heading(), self.sim.t))

    def _on_set_position_target_global_int(self, m: Any, now: float) -> None:
        self._take_setpoint(global_setpoint(m, self._latlon_to_xy, self._alt_to_z, self.sim.t))

    def _take_setpoint(self, sp: Setpoint | str) -> None:
        if isinstance(sp, str):
            self.counters["protocol_drops"] += 1
            if self.mode == OFFBOARD:
                self.say(MAV_SEVERITY_WARNING, f"Offboard setpoint ignored: {sp}")
            return
        if sp.position is not None:
            why = self.target_violation(sp.position)
            if why is not None:
                self.counters["protocol_drops"] += 1
                if self.mode == OFFBOARD:
                    self.say(MAV_SEVERITY_WARNING, f"Offboard setpoint refused: {why}")
                sp.position = None
                if sp.velocity is None:
                    return
        self.setpoint = sp
        self.counters["offboard_setpoints"] += 1
        if self.mode in (OFFBOARD, GUIDED) and self.armed:
            self._fly_setpoint()

    def offboard_fresh(self) -> bool:
        sp = self.setpoint
        return sp is not None and self.sim.t - sp.t <= self.params["COM_OF_LOSS_T"]

    def start_offboard(self) -> int:
        """The switch to OFFBOARD: only while setpoints are arriving (PX4)."""
        if not self.offboard_fresh():
            self.say(MAV_SEVERITY_WARNING, "Offboard refused: no setpoints")
            return DENIED
        self.mode = OFFBOARD
        self._resume_active()
        if self.armed:
            self._fly_setpoint()
        return ACCEPTED

    def start_guided(self) -> int:
        """GUIDED (ArduPilot-style): entered at any time; holds until a setpoint arrives."""
        self.mode = GUIDED
        self._resume_active()
        if self.armed:
            self._hold_here()
        self.setpoint = None
        return ACCEPTED

    def _fly_setpoint(self) -> None:
        sp = self.setpoint
        assert sp is not None
        if sp.position is not None:
            self._goto(sp.position, watch=False)
        else:
            assert sp.velocity is not None
            self._goto(self.d.pos[self.i].copy(), watch=False)
            self.ctl.vel_mode[self.i] = True
            self.ctl.vel_sp[self.i] = sp.velocity

    def check_offboard(self) -> None:
        """Failsafe when the setpoint stream stops (called by the server at its telemetry rate)."""
        if self.mode == GUIDED:
            sp = self.setpoint
            if (self.armed and sp is not None and sp.position is None and self.ctl.vel_mode[self.i]
                    and self.sim.t - sp.t > GUIDED_TIMEOUT_S):
                self.say(MAV_SEVERITY_WARNING, "Guided: velocity setpoint timed out, holding")
                self._hold_here()
            return
        if self.mode != OFFBOARD or self.offboard_fresh() or not self.armed:
            return
        action = int(self.params["COM_OBL_RC_ACT"])
        self.counters["offboard_losses"] += 1
        self.ctl.vel_mode[self.i] = False
        if action == 3:
            self.say(MAV_SEVERITY_CRITICAL, "Offboard signal lost: returning")
            self._start_rtl()
        elif action == 4:
            self.say(MAV_SEVERITY_CRITICAL, "Offboard signal lost: landing")
            self._land()
        else:
            self.say(MAV_SEVERITY_CRITICAL, "Offboard signal lost: holding")
            self.mode = LOITER
            self._hold_here()
