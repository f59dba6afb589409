"""MAVLink commands (COMMAND_LONG, COMMAND_INT) of a vehicle, answered as PX4 answers them.

A mixin of ``Vehicle`` (``vehicle.py``).  Every command is acknowledged to its
sender; refusals carry the MAV_RESULT PX4 gives and a STATUSTEXT saying why.
Positions are checked before they are used (latitude/longitude in range, not
below the ground, inside the vehicle's and the scenario's geofences), and a
parameter that stands for a choice (arm 0/1, use current position 0/1) must be
exactly that choice: NaN is refused, never read as "no".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.framing import PROTOCOL_VERSION_ID
from skyhive.mavlink.mission_protocol import MAV_SEVERITY_CRITICAL, MAV_SEVERITY_WARNING
from skyhive.mavlink.modes import (
    ACCEPTED,
    DENIED,
    LOITER,
    MISSION,
    OFFBOARD,
    RTL,
    SWARM,
    UNSUPPORTED,
    as_int,
    valid_latlon,
)
from skyhive.mavlink.streams import STREAMS
from skyhive.world.world import DroneStatus

FORCE_DISARM = 21196.0
REQUEST_PROTOCOL_VERSION = 519
INFO_COMMANDS = frozenset({mav.MAV_CMD_REQUEST_MESSAGE, mav.MAV_CMD_SET_MESSAGE_INTERVAL,
                           mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, mav.MAV_CMD_GET_HOME_POSITION,
                           REQUEST_PROTOCOL_VERSION})


class CommandHandling:
    """Command handling of a ``Vehicle`` (the attributes below are the vehicle's)."""

    i: int
    ctl: Any
    mav: Any
    params: Any
    mode: tuple[int, int]
    missions: dict[int, list[Any]]
    current: int
    intervals: dict[int, float]
    counters: dict[str, int]
    force_disarmed: bool

    if TYPE_CHECKING:
        @property
        def d(self) -> Any: ...
        @property
        def armed(self) -> bool: ...
        @property
        def on_ground(self) -> bool: ...
        @property
        def failed(self) -> bool: ...
        def send(self, msg: Any) -> None: ...
        def say(self, severity: int, text: str) -> None: ...
        def send_message(self, msg_id: int) -> bool: ...
        def set_mode(self, main: int, sub: int) -> int: ...
        def home_z(self) -> float: ...
        def target_violation(self, target: np.ndarray) -> str | None: ...
        def offboard_fresh(self) -> bool: ...
        def _fly_setpoint(self) -> None: ...
        def _resume_active(self) -> None: ...
        def _mission_go(self, seq: int) -> None: ...
        def _latlon_to_xy(self, lat: float, lon: float) -> np.ndarray: ...
        def _alt_to_z(self, alt: float, frame: int) -> float: ...
        def _change_speed(self, speed: float) -> None: ...
        def _takeoff(self, z: float) -> int: ...
        def _land(self) -> None: ...
        def _hold_here(self) -> None: ...
        def _goto(self, target: np.ndarray, accept_h: float | None = None, watch: bool = True) -> None: ...
        def _set_current(self, seq: int) -> bool: ...
        def _set_mode_flags(self, base: int, main: int, sub: int) -> int: ...

    def _on_command_long(self, m: Any, now: float) -> None:
        self._command(m, m.command, [m.param1, m.param2, m.param3, m.param4, m.param5, m.param6, m.param7],
                      mav.MAV_FRAME_GLOBAL)

    def _on_command_int(self, m: Any, now: float) -> None:
        x = m.x / 1e7 if m.x != 0 else math.nan
        y = m.y / 1e7 if m.y != 0 else math.nan
        self._command(m, m.command, [m.param1, m.param2, m.param3, m.param4, x, y, m.z], m.frame)

    def _command(self, m: Any, cmd: int, p: list[float], frame: int) -> None:
        self.counters["commands"] += 1
        result = self._run_command(cmd, p, frame)
        if result != ACCEPTED:
            self.counters["commands_rejected"] += 1
        self.send(self.mav.command_ack_encode(cmd, result, 0, 0, m.get_srcSystem(), m.get_srcComponent()))

    def _run_command(self, cmd: int, p: list[float], frame: int) -> int:
        d, i = self.d, self.i
        if self.failed and cmd not in INFO_COMMANDS:
            return DENIED
        if cmd == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            if p[0] not in (0.0, 1.0):  # NaN or any other value: neither arm nor disarm
                self.say(MAV_SEVERITY_WARNING, "Arming: param1 must be 0 or 1")
                return DENIED
            if p[0] == 1.0:
                if self.armed:
                    return ACCEPTED
                d.status[i] = DroneStatus.ACTIVE
                if self.mode == MISSION and self.missions[0]:
                    self._mission_go(self.current)
                elif self.mode == OFFBOARD and self.offboard_fresh():
                    self._fly_setpoint()
                else:
                    self.ctl.gcs[i] = self.mode != SWARM
                    self._hold_here()
                return ACCEPTED
            if not self.armed:
                return ACCEPTED
            if self.on_ground:
                d.status[i] = DroneStatus.LANDED
                return ACCEPTED
            if p[1] == FORCE_DISARM:  # motors off in the air: the vehicle falls, but its link stays up
                d.status[i] = DroneStatus.FAILED
                self.force_disarmed = True
                self.say(MAV_SEVERITY_CRITICAL, "Disarmed by force in the air")
                return ACCEPTED
            self.say(MAV_SEVERITY_WARNING, "Disarming denied: not landed")
            return DENIED
        if cmd == mav.MAV_CMD_NAV_TAKEOFF:
            alt = p[6]
            z = (self._alt_to_z(alt, frame) if math.isfinite(alt)
                 else self.home_z() + self.params["MIS_TAKEOFF_ALT"])
            return self._takeoff(z)
        if cmd == mav.MAV_CMD_NAV_LAND:
            if not self.armed:
                return DENIED
            self._land()
            return ACCEPTED
        if cmd == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return self.set_mode(*RTL)
        if cmd == mav.MAV_CMD_DO_SET_MODE:
            return self._set_mode_flags(as_int(p[0], 0), as_int(p[1]), as_int(p[2]))
        if cmd == mav.MAV_CMD_DO_REPOSITION:
            if not self.armed or self.on_ground:
                return DENIED
            target = d.pos[i].copy()
            if math.isfinite(p[4]) and math.isfinite(p[5]):
                if not valid_latlon(p[4], p[5]):
                    self.say(MAV_SEVERITY_WARNING, "Reposition: invalid latitude/longitude")
                    return DENIED
                target[:2] = self._latlon_to_xy(p[4], p[5])
            if math.isfinite(p[6]):
                target[2] = self._alt_to_z(p[6], frame)
            why = self.target_violation(target)
            if why is not None:
                self.say(MAV_SEVERITY_CRITICAL, f"Reposition refused: {why}")
                return DENIED
            if p[0] > 0:
                self._change_speed(p[0])
            self.mode = LOITER
            self._resume_active()
            self._goto(target, watch=False)
            return ACCEPTED
        if cmd == mav.MAV_CMD_DO_CHANGE_SPEED:
            self._change_speed(p[1])
            return ACCEPTED
        if cmd == mav.MAV_CMD_MISSION_START:
            if not self.missions[0] or not self.armed:
                return DENIED
            first = as_int(p[0], 0)
            if not 0 <= first < len(self.missions[0]):
                return DENIED
            self.current = first
            self.mode = MISSION
            self._resume_active()
            self._mission_go(first)
            return ACCEPTED
        if cmd == mav.MAV_CMD_DO_SET_MISSION_CURRENT:
            return ACCEPTED if self._set_current(as_int(p[0])) else DENIED
        if cmd == mav.MAV_CMD_REQUEST_MESSAGE:
            return ACCEPTED if self.send_message(as_int(p[0])) else UNSUPPORTED
        if cmd == mav.MAV_CMD_SET_MESSAGE_INTERVAL:
            msg_id, interval = as_int(p[0]), p[1]
            if msg_id not in STREAMS:
                return UNSUPPORTED
            if not math.isfinite(interval):
                return DENIED
            if msg_id == mav.MAVLINK_MSG_ID_HEARTBEAT:  # as PX4: every ground station depends on it
                self.say(MAV_SEVERITY_WARNING, "HEARTBEAT rate cannot be changed")
                return DENIED
            if interval == 0:
                self.intervals.pop(msg_id, None)
            else:
                self.intervals[msg_id] = -1.0 if interval < 0 else interval / 1e6
            return ACCEPTED
        if cmd == mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            self.send_message(mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION)
            return ACCEPTED
        if cmd == REQUEST_PROTOCOL_VERSION:
            self.send_message(PROTOCOL_VERSION_ID)
            return ACCEPTED
        if cmd == mav.MAV_CMD_GET_HOME_POSITION:
            self.send_message(mav.MAVLINK_MSG_ID_HOME_POSITION)
            return ACCEPTED
        if cmd == mav.MAV_CMD_DO_SET_HOME:
            if p[0] == 1.0:
                d.home[i] = d.pos[i]
            elif p[0] == 0.0 and math.isfinite(p[4]) and math.isfinite(p[5]) and valid_latlon(p[4], p[5]):
                d.home[i, :2] = self._latlon_to_xy(p[4], p[5])
            else:
                self.say(MAV_SEVERITY_WARNING, "Set home: invalid position")
                return DENIED
            self.send_message(mav.MAVLINK_MSG_ID_HOME_POSITION)
            return ACCEPTED
        return UNSUPPORTED
