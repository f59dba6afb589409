"""One exposed drone's MAVLink behaviour, PX4-style: modes, commands, parameters, missions.

Handlers run only when a message arrives or an event fires (arrival, touchdown),
never once per drone per tick; the per-tick work is the vectorized
``GcsControl``.  Who has control: in OFFBOARD ("swarm") the scenario route and
swarm autonomy fly the drone; every other mode puts the ground station in
charge.  The core battery failsafe always wins (shown as AUTO_RTL / AUTO_LAND).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.params import INT32, PARAMS, ParamStore, encode
from skyhive.world.world import DroneStatus

if TYPE_CHECKING:
    from skyhive.mavlink.control import GcsControl
    from skyhive.sim import Simulation

# PX4 custom modes (px4_custom_mode.h): main mode in bits 16-23, sub mode in bits 24-31 of custom_mode
MAIN_MANUAL, MAIN_ALTCTL, MAIN_POSCTL, MAIN_AUTO, MAIN_ACRO, MAIN_OFFBOARD, MAIN_STABILIZED = 1, 2, 3, 4, 5, 6, 7
SUB_READY, SUB_TAKEOFF, SUB_LOITER, SUB_MISSION, SUB_RTL, SUB_LAND = 1, 2, 3, 4, 5, 6
SWARM = (MAIN_OFFBOARD, 0)
LOITER = (MAIN_AUTO, SUB_LOITER)
TAKEOFF = (MAIN_AUTO, SUB_TAKEOFF)
MISSION = (MAIN_AUTO, SUB_MISSION)
RTL = (MAIN_AUTO, SUB_RTL)
LAND = (MAIN_AUTO, SUB_LAND)
MODE_NAMES = {SWARM: "OFFBOARD (swarm)", LOITER: "AUTO_LOITER", TAKEOFF: "AUTO_TAKEOFF", MISSION: "AUTO_MISSION",
              RTL: "AUTO_RTL", LAND: "AUTO_LAND", (MAIN_POSCTL, 0): "POSCTL", (MAIN_ALTCTL, 0): "ALTCTL"}

CAPABILITIES = (mav.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT | mav.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
                | mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | mav.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_BYTEWISE | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
                | mav.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE | mav.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY)
SENSORS = (mav.MAV_SYS_STATUS_SENSOR_3D_GYRO | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL | mav.MAV_SYS_STATUS_SENSOR_3D_MAG
           | mav.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE | mav.MAV_SYS_STATUS_SENSOR_GPS
           | mav.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL | mav.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
           | mav.MAV_SYS_STATUS_SENSOR_YAW_POSITION | mav.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
           | mav.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL | mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
           | mav.MAV_SYS_STATUS_AHRS | mav.MAV_SYS_STATUS_SENSOR_BATTERY | mav.MAV_SYS_STATUS_PREARM_CHECK)
FLIGHT_SW_VERSION = (1 << 24) | (14 << 16) | (0 << 8) | 255  # reports as PX4 v1.14.0 (release)
FORCE_DISARM = 21196.0

# mission items the simulated navigator flies; other NAV commands are refused at upload
NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TIME, NAV_RTL, NAV_LAND, NAV_TAKEOFF = 16, 17, 19, 20, 21, 22
FLOWN = {NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TIME, NAV_RTL, NAV_LAND, NAV_TAKEOFF}
DO_CHANGE_SPEED, DO_JUMP = 178, 177
FENCE_INCLUSION, FENCE_EXCLUSION = 5001, 5002
FRAMES_AMSL = {mav.MAV_FRAME_GLOBAL, mav.MAV_FRAME_GLOBAL_INT}
FRAMES_REL = {mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
              mav.MAV_FRAME_GLOBAL_TERRAIN_ALT, mav.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT}
FRAMES_OK = FRAMES_AMSL | FRAMES_REL | {mav.MAV_FRAME_MISSION}
ON_GROUND_M = 0.1
UPLOAD_RETRY_S = 1.0
UPLOAD_GIVE_UP_S = 5.0

ACCEPTED, TEMP_REJECTED, DENIED, UNSUPPORTED, FAILED = 0, 1, 2, 3, 4


def as_int(x: float, default: int = -1) -> int:
    """An integer command parameter sent as a float; ``default`` for NaN, infinities and absurd sizes."""
    return int(x) if math.isfinite(x) and abs(x) < 2**31 else default


@dataclass
class Upload:
    mission_type: int
    count: int
    items: list[Any] = field(default_factory=list)
    last_wall: float = 0.0
    retries: int = 0
    src: tuple[int, int] = (255, 190)


class Vehicle:
    """PX4-style protocol state of one exposed drone (index ``i`` in the world)."""

    def __init__(self, sim: Simulation, ctl: GcsControl, i: int, sysid: int,
                 send: Callable[[Vehicle, Any], None]) -> None:
        self.sim, self.ctl, self.i, self.sysid = sim, ctl, i, sysid
        self.send_fn = send
        self.mav = mav.MAVLink(None, srcSystem=sysid, srcComponent=1)
        self.params = ParamStore(sysid)
        d = sim.world.drones
        routed = bool(sim.waypoints.routed[i])
        self.mode = SWARM if routed else LOITER
        if not routed:  # no scenario route: on the pad, disarmed, waiting for a ground station
            d.status[i] = DroneStatus.LANDED
            ctl.gcs[i] = True
            ctl.target[i] = d.pos[i]
        self.missions: dict[int, list[Any]] = {0: [], 1: [], 2: []}
        self.upload: Upload | None = None
        self.current = 0
        self.mission_state = mav.MISSION_STATE_NO_MISSION
        self.rtl_stage = 0
        self.speed_override: float | None = None
        self.intervals: dict[int, float] = {}  # SET_MESSAGE_INTERVAL overrides (s; <0 disabled)
        self.fence_names: list[str] = []
        self.request_once: set[int] = set()
        self.link: Any = None  # the server's Link this vehicle is reached on
        self.home_geo: tuple[tuple[float, float, float], tuple[int, int, int]] | None = None
        self.counters = {"commands": 0, "commands_rejected": 0, "protocol_drops": 0, "mission_uploads": 0}
        self._apply_limits()

    # -- helpers -----------------------------------------------------------------------------------------------
    @property
    def d(self) -> Any:
        return self.sim.world.drones

    def send(self, msg: Any) -> None:
        self.send_fn(self, msg)

    @property
    def armed(self) -> bool:
        return bool(self.d.status[self.i] <= DroneStatus.LANDING)

    @property
    def on_ground(self) -> bool:
        return bool(self.d.pos[self.i, 2] <= ON_GROUND_M)

    @property
    def failed(self) -> bool:
        return bool(self.d.status[self.i] == DroneStatus.FAILED)

    def reported_mode(self) -> tuple[int, int]:
        s = self.d.status[self.i]
        if s == DroneStatus.RETURNING:
            return RTL
        if s == DroneStatus.LANDING:
            return LAND
        return self.mode

    def _apply_limits(self) -> None:
        p, c, i = self.params, self.ctl, self.i
        speed = self.speed_override if self.speed_override is not None else p["MPC_XY_CRUISE"]
        c.speed[i] = min(speed, p["MPC_XY_VEL_MAX"])
        c.climb[i] = p["MPC_TKO_SPEED"] if self.mode == TAKEOFF else p["MPC_Z_VEL_MAX_UP"]
        c.sink[i] = p["MPC_Z_VEL_MAX_DN"]
        c.accept_v[i] = p["NAV_MC_ALT_RAD"]

    def _goto(self, target: np.ndarray, accept_h: float | None = None, watch: bool = True) -> None:
        c, i = self.ctl, self.i
        c.gcs[i] = True
        c.target[i] = target
        c.accept_h[i] = accept_h if accept_h and accept_h > 0 else self.params["NAV_ACC_RAD"]
        c.watch[i] = watch
        self._apply_limits()

    def _hold_here(self) -> None:
        """Hold where the drone can stop (PX4 brakes, it does not fly back to where the switch happened)."""
        target = self.d.pos[self.i].copy()
        v = self.d.vel[self.i, :2]
        target[:2] += v * float(np.hypot(*v)) / (2.0 * float(self.ctl.decel[self.i]))
        self._goto(target, watch=False)

    def home_z(self) -> float:
        return float(self.d.home[self.i, 2])

    def _alt_to_z(self, alt: float, frame: int) -> float:
        return alt - self.sim.frame.alt0 if frame in FRAMES_AMSL else self.home_z() + alt

    def _latlon_to_xy(self, lat: float, lon: float) -> np.ndarray:
        return np.asarray(self.sim.frame.local(lat, lon, 0.0), float)[:2]

    # -- modes -------------------------------------------------------------------------------------------------
    def set_mode(self, main: int, sub: int) -> int:
        """Switch flight mode as PX4 would; returns a MAV_RESULT."""
        if self.failed:
            return FAILED
        want = (main, sub if main == MAIN_AUTO else 0)
        if want == SWARM:
            self.mode = SWARM
            self.ctl.gcs[self.i] = False
            self.sim.ports.hold.hold_at(self.i, self.d.pos[self.i])  # a routeless drone holds where it was handed back
            return ACCEPTED
        if main in (MAIN_POSCTL, MAIN_ALTCTL) or want == LOITER:
            self.mode = LOITER if want == LOITER else want
            self._resume_active()
            self._hold_here()
            return ACCEPTED
        if want == MISSION:
            if not self.missions[0]:
                return DENIED
            self.mode = MISSION
            if self.armed:
                self._resume_active()
                self._mission_go(self.current)
            return ACCEPTED
        if want == RTL:
            if not self.armed or self.on_ground:
                return DENIED
            self._start_rtl()
            return ACCEPTED
        if want == LAND:
            if not self.armed:
                return DENIED
            self._land()
            return ACCEPTED
        if want == TAKEOFF:
            return self._takeoff(self.home_z() + self.params["MIS_TAKEOFF_ALT"])
        return DENIED  # manual, acro, stabilized: no sticks and no attitude loop in a point-mass model

    def _resume_active(self) -> None:
        """A ground-station mode change cancels a commanded landing (not a battery failsafe)."""
        if self.d.status[self.i] == DroneStatus.LANDING and self.mode != LAND and self.d.battery_wh[self.i] > 0:
            self.d.status[self.i] = DroneStatus.ACTIVE

    def _takeoff(self, z: float) -> int:
        if not self.armed:
            return DENIED
        if not self.on_ground:
            return DENIED
        self.mode = TAKEOFF
        target = self.d.pos[self.i].copy()
        target[2] = max(z, self.home_z() + 1.0)
        self._goto(target, accept_h=1e9)
        return ACCEPTED

    def _land(self) -> None:
        self.mode = LAND
        self.ctl.watch[self.i] = False
        self.d.status[self.i] = DroneStatus.LANDING

    def _start_rtl(self) -> None:
        self.mode = RTL
        self.rtl_stage = 1
        self._resume_active()
        target = self.d.pos[self.i].copy()
        target[2] = max(target[2], self.home_z() + self.params["RTL_RETURN_ALT"])
        self._goto(target, accept_h=1e9)

    # -- events from the simulation -----------------------------------------------------------------------------
    def on_arrival(self) -> None:
        if self.mode == TAKEOFF:
            self.mode = LOITER  # PX4 holds at the takeoff altitude
            self._apply_limits()
        elif self.mode == RTL:
            self._rtl_next()
        elif self.mode == MISSION:
            item = self.missions[0][self.current]
            if item.command == NAV_LAND:
                self.d.status[self.i] = DroneStatus.LANDING  # reached on touchdown
            elif item.command == NAV_RTL:
                self._rtl_next()
            elif item.command == NAV_LOITER_UNLIM:
                self._reached(self.current)
            elif item.command in (NAV_WAYPOINT, NAV_LOITER_TIME) and item.param1 > 0:
                self.ctl.hold_until[self.i] = self.sim.t + float(item.param1)
            else:
                self._reached(self.current)
                self._mission_go(self.current + 1)

    def _rtl_next(self) -> None:
        """Return to launch, PX4 order: climbed to the return height -> fly home at it -> land."""
        if self.rtl_stage == 1:
            self.rtl_stage = 2
            target = self.d.home[self.i].copy()
            target[2] = self.d.pos[self.i, 2]
            self._goto(target, accept_h=1.0)
        else:
            self.rtl_stage = 0
            self.d.status[self.i] = DroneStatus.LANDING

    def on_hold_done(self) -> None:
        self.ctl.hold_until[self.i] = np.inf
        if self.mode == MISSION:
            self._reached(self.current)
            self._mission_go(self.current + 1)

    def on_status(self, old: int, new: int) -> None:
        if new == DroneStatus.LANDED and self.mode == MISSION and self.missions[0]:
            item = self.missions[0][min(self.current, len(self.missions[0]) - 1)]
            if item.command in (NAV_LAND, NAV_RTL):
                self._reached(self.current)
                self.current += 1
                if self.current >= len(self.missions[0]):
                    self._mission_complete()
        if new == DroneStatus.LANDED:
            self.ctl.gcs[self.i] = True
            self.ctl.target[self.i] = self.d.pos[self.i]
            self.ctl.watch[self.i] = False
            if self.mode in (RTL, LAND):
                self.mode = LOITER
        elif new == DroneStatus.FAILED:
            self.ctl.watch[self.i] = False

    # -- missions ----------------------------------------------------------------------------------------------
    def _reached(self, seq: int) -> None:
        self.send(self.mav.mission_item_reached_encode(seq))

    def _mission_complete(self) -> None:
        self.mission_state = mav.MISSION_STATE_COMPLETE
        self.current = max(len(self.missions[0]) - 1, 0)
        self._send_mission_current()
        if self.armed and not self.on_ground and self.d.status[self.i] == DroneStatus.ACTIVE:
            self.mode = LOITER
            self._hold_here()

    def _item_target(self, item: Any) -> np.ndarray:
        pos = self.d.pos[self.i].copy()
        if item.x != 0 or item.y != 0:
            pos[:2] = self._latlon_to_xy(item.x / 1e7, item.y / 1e7)
        if math.isfinite(item.z) and item.frame != mav.MAV_FRAME_MISSION:
            pos[2] = self._alt_to_z(float(item.z), item.frame)
        return np.asarray(pos)

    def _mission_go(self, seq: int) -> None:
        """Execute items from ``seq``: apply DO items at once, stop at the first item that flies somewhere."""
        items = self.missions[0]
        self.ctl.hold_until[self.i] = np.inf
        while seq < len(items):
            item = items[seq]
            self.current = seq
            self.mission_state = mav.MISSION_STATE_ACTIVE
            self._send_mission_current()
            cmd = item.command
            if cmd == NAV_TAKEOFF:
                target = self._item_target(item)
                if not self.on_ground and self.d.pos[self.i, 2] >= target[2] - self.params["NAV_MC_ALT_RAD"]:
                    self._reached(seq)
                    seq += 1
                    continue
                target[:2] = self.d.pos[self.i, :2]
                self._goto(target, accept_h=1e9)
                return
            if cmd in (NAV_WAYPOINT, NAV_LOITER_TIME, NAV_LOITER_UNLIM):
                self._goto(self._item_target(item), accept_h=float(item.param2) if cmd == NAV_WAYPOINT else 0.0)
                return
            if cmd == NAV_LAND:
                target = self._item_target(item)
                target[2] = self.d.pos[self.i, 2]
                self._goto(target, accept_h=1.0)
                return
            if cmd == NAV_RTL:
                self.rtl_stage = 1
                target = self.d.pos[self.i].copy()
                target[2] = max(target[2], self.home_z() + self.params["RTL_RETURN_ALT"])
                self._goto(target, accept_h=1e9)
                return
            if cmd == DO_CHANGE_SPEED:
                self._change_speed(float(item.param2))
            self._reached(seq)  # items without motion are done as soon as they are applied
            seq += 1
        self._mission_complete()

    def _change_speed(self, speed: float) -> None:
        self.speed_override = speed if math.isfinite(speed) and speed > 0 else None
        self._apply_limits()

    def _send_mission_current(self) -> None:
        n = len(self.missions[0])
        state = self.mission_state if n else mav.MISSION_STATE_NO_MISSION
        self.send(self.mav.mission_current_encode(self.current, n, state, int(self.mode == MISSION)))

    # -- message dispatch --------------------------------------------------------------------------------------
    def handle(self, msg: Any, now: float) -> None:
        """React to one message addressed to this vehicle."""
        if self.failed:
            return  # a lost drone answers nothing
        kind = msg.get_type()
        handler = getattr(self, "_on_" + kind.lower(), None)
        if handler is None:
            return
        handler(msg, now)

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
        if cmd == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            if p[0] >= 0.5:
                if self.armed:
                    return ACCEPTED
                d.status[i] = DroneStatus.ACTIVE
                if self.mode == MISSION and self.missions[0]:
                    self._mission_go(self.current)
                else:
                    self.ctl.gcs[i] = self.mode != SWARM
                    self._hold_here()
                return ACCEPTED
            if not self.armed:
                return ACCEPTED
            if self.on_ground:
                d.status[i] = DroneStatus.LANDED
                return ACCEPTED
            if p[1] == FORCE_DISARM:  # motors off in the air: the vehicle is lost
                d.status[i] = DroneStatus.FAILED
                return ACCEPTED
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
            if not as_int(p[0], 0) & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
                return UNSUPPORTED
            return self.set_mode(as_int(p[1]), as_int(p[2]))
        if cmd == mav.MAV_CMD_DO_REPOSITION:
            if not self.armed or self.on_ground:
                return DENIED
            target = d.pos[i].copy()
            if math.isfinite(p[4]) and math.isfinite(p[5]):
                target[:2] = self._latlon_to_xy(p[4], p[5])
            if math.isfinite(p[6]):
                target[2] = self._alt_to_z(p[6], frame)
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
            if interval == 0:
                self.intervals.pop(msg_id, None)
            else:
                self.intervals[msg_id] = -1.0 if interval < 0 else interval / 1e6
            return ACCEPTED
        if cmd == mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            self.send_message(mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION)
            return ACCEPTED
        if cmd == mav.MAV_CMD_GET_HOME_POSITION:
            self.send_message(mav.MAVLINK_MSG_ID_HOME_POSITION)
            return ACCEPTED
        if cmd == mav.MAV_CMD_DO_SET_HOME:
            if p[0] >= 0.5:
                d.home[i] = d.pos[i]
            elif math.isfinite(p[4]) and math.isfinite(p[5]):
                d.home[i, :2] = self._latlon_to_xy(p[4], p[5])
            else:
                return DENIED
            self.send_message(mav.MAVLINK_MSG_ID_HOME_POSITION)
            return ACCEPTED
        return UNSUPPORTED

    def _set_current(self, seq: int) -> bool:
        if not 0 <= seq < len(self.missions[0]):
            return False
        self.current = seq
        if self.mode == MISSION and self.armed:
            self._mission_go(seq)
        else:
            self._send_mission_current()
        return True

    def _on_set_mode(self, m: Any, now: float) -> None:
        if m.base_mode & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            self.set_mode((m.custom_mode >> 16) & 0xFF, (m.custom_mode >> 24) & 0xFF)

    # parameters
    def _param_value(self, k: int) -> Any:
        spec = PARAMS[k]
        return self.mav.param_value_encode(spec.name.encode(), encode(self.params.values[k], spec.kind), spec.kind,
                                           len(PARAMS), k)

    def _on_param_request_list(self, m: Any, now: float) -> None:
        for k in range(len(PARAMS)):
            self.send(self._param_value(k))

    def _param_index(self, m: Any) -> int | None:
        name = m.param_id if isinstance(m.param_id, str) else m.param_id.decode(errors="replace")
        name = name.rstrip("\x00")
        if getattr(m, "param_index", -1) >= 0:
            return m.param_index if m.param_index < len(PARAMS) else None
        return next((k for k, p in enumerate(PARAMS) if p.name == name), None)

    def _on_param_request_read(self, m: Any, now: float) -> None:
        k = self._param_index(m)
        if k is None:
            self.counters["protocol_drops"] += 1
            return
        self.send(self._param_value(k))

    def _on_param_set(self, m: Any, now: float) -> None:
        name = (m.param_id if isinstance(m.param_id, str) else m.param_id.decode(errors="replace")).rstrip("\x00")
        k = next((k for k, p in enumerate(PARAMS) if p.name == name), None)
        if k is None:
            self.counters["protocol_drops"] += 1
            return
        spec = PARAMS[k]
        self.params.set(name, float(m.param_value), m.param_type if m.param_type == INT32 else spec.kind)
        self._apply_limits()
        self.send(self._param_value(k))  # the value now in force, changed or not

    # mission protocol
    def _on_mission_count(self, m: Any, now: float) -> None:
        mtype = getattr(m, "mission_type", 0)
        if mtype not in self.missions:
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_UNSUPPORTED, mtype))
            return
        if m.count == 0:
            self._store(mtype, [])
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(), mav.MAV_MISSION_ACCEPTED,
                                                  mtype))
            return
        if m.count > 1000:
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(), mav.MAV_MISSION_NO_SPACE,
                                                  mtype))
            return
        self.upload = Upload(mtype, int(m.count), last_wall=now, src=(m.get_srcSystem(), m.get_srcComponent()))
        self._request_next()

    def _request_next(self) -> None:
        u = self.upload
        assert u is not None
        self.send(self.mav.mission_request_int_encode(u.src[0], u.src[1], len(u.items), u.mission_type))

    def _on_mission_item(self, m: Any, now: float) -> None:
        # a float item (MAVLink 1 era): stored as the equivalent MISSION_ITEM_INT
        is_global = m.frame in FRAMES_AMSL | FRAMES_REL
        scale = 1e7 if is_global else 1.0
        x = as_int(m.x * scale, 2**31) if math.isfinite(m.x) else 2**31
        y = as_int(m.y * scale, 2**31) if math.isfinite(m.y) else 2**31
        if x == 2**31 or y == 2**31:
            self.upload = None
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_INVALID_PARAM5_X, getattr(m, "mission_type", 0)))
            return
        item = self.mav.mission_item_int_encode(m.target_system, m.target_component, m.seq, m.frame, m.command,
                                                m.current, m.autocontinue, m.param1, m.param2, m.param3, m.param4,
                                                x, y, m.z, getattr(m, "mission_type", 0))
        self._on_mission_item_int(item, now, src=(m.get_srcSystem(), m.get_srcComponent()))

    def _on_mission_item_int(self, m: Any, now: float, src: tuple[int, int] | None = None) -> None:
        u = self.upload
        src = src or (m.get_srcSystem(), m.get_srcComponent())
        if u is None or getattr(m, "mission_type", 0) != u.mission_type:
            self.counters["protocol_drops"] += 1  # an item nobody asked for
            return
        if m.seq != len(u.items):
            self.counters["protocol_drops"] += 1
            self._request_next()  # out of order: ask again for the one we need
            return
        error = self._check_item(m, u.mission_type)
        if error != mav.MAV_MISSION_ACCEPTED:
            self.upload = None
            self.send(self.mav.mission_ack_encode(src[0], src[1], error, u.mission_type))
            return
        u.items.append(m)
        u.last_wall = now
        u.retries = 0
        if len(u.items) < u.count:
            self._request_next()
            return
        self.upload = None
        result = self._store(u.mission_type, u.items)
        self.send(self.mav.mission_ack_encode(src[0], src[1], result, u.mission_type))

    def _check_item(self, m: Any, mtype: int) -> int:
        if mtype == 1:
            if m.command not in (FENCE_INCLUSION, FENCE_EXCLUSION, 5003, 5004):
                return mav.MAV_MISSION_UNSUPPORTED
            return mav.MAV_MISSION_ACCEPTED
        if mtype == 2:
            return mav.MAV_MISSION_ACCEPTED
        if m.frame not in FRAMES_OK:
            return mav.MAV_MISSION_UNSUPPORTED_FRAME
        if m.frame != mav.MAV_FRAME_MISSION and m.command in FLOWN:
            if abs(m.x) > 90e7:
                return mav.MAV_MISSION_INVALID_PARAM5_X
            if abs(m.y) > 180e7:
                return mav.MAV_MISSION_INVALID_PARAM6_Y
            if not math.isfinite(m.z) and m.command != NAV_RTL:
                return mav.MAV_MISSION_INVALID_PARAM7
        if m.command < 100 and m.command not in FLOWN:
            return mav.MAV_MISSION_UNSUPPORTED  # a navigation command the simulated navigator cannot fly
        if m.command == DO_JUMP:
            return mav.MAV_MISSION_UNSUPPORTED
        if m.command in FLOWN and m.frame == mav.MAV_FRAME_MISSION and m.command != NAV_RTL:
            return mav.MAV_MISSION_UNSUPPORTED_FRAME
        return mav.MAV_MISSION_ACCEPTED

    def _store(self, mtype: int, items: list[Any]) -> int:
        if mtype == 1:
            result = self.on_fence(items)
            if result != mav.MAV_MISSION_ACCEPTED:
                return result
        self.missions[mtype] = list(items)
        if mtype == 0:
            self.counters["mission_uploads"] += 1
            self.current = 0
            self.ctl.hold_until[self.i] = np.inf
            self.mission_state = mav.MISSION_STATE_NOT_STARTED if items else mav.MISSION_STATE_NO_MISSION
            if self.mode == MISSION:
                self.mode = LOITER
                if self.armed and not self.on_ground:
                    self._hold_here()
            self._send_mission_current()
        return mav.MAV_MISSION_ACCEPTED

    def on_fence(self, items: list[Any]) -> int:
        """Replaced by the server: uploaded fence polygons become skyhive geofences."""
        return mav.MAV_MISSION_ACCEPTED

    def check_upload(self, now: float) -> None:
        """Re-request a stalled upload item; give up after a while (called by the server for open uploads)."""
        u = self.upload
        if u is None or now - u.last_wall < UPLOAD_RETRY_S * (u.retries + 1):
            return
        if now - u.last_wall > UPLOAD_GIVE_UP_S:
            self.upload = None
            self.send(self.mav.mission_ack_encode(u.src[0], u.src[1], mav.MAV_MISSION_OPERATION_CANCELLED,
                                                  u.mission_type))
            return
        u.retries += 1
        self._request_next()

    def _on_mission_request_list(self, m: Any, now: float) -> None:
        mtype = getattr(m, "mission_type", 0)
        if mtype not in self.missions:
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_UNSUPPORTED, mtype))
            return
        self.send(self.mav.mission_count_encode(m.get_srcSystem(), m.get_srcComponent(), len(self.missions[mtype]),
                                                mtype))

    def _stored_item(self, m: Any) -> Any | None:
        items = self.missions.get(getattr(m, "mission_type", 0))
        if items is None or not 0 <= m.seq < len(items):
            self.counters["protocol_drops"] += 1
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_INVALID_SEQUENCE, getattr(m, "mission_type", 0)))
            return None
        return items[m.seq]

    def _on_mission_request_int(self, m: Any, now: float) -> None:
        it = self._stored_item(m)
        if it is not None:
            self.send(self.mav.mission_item_int_encode(
                m.get_srcSystem(), m.get_srcComponent(), it.seq, it.frame, it.command,
                int(it.seq == self.current), it.autocontinue, it.param1, it.param2, it.param3, it.param4,
                it.x, it.y, it.z, it.mission_type))

    def _on_mission_request(self, m: Any, now: float) -> None:
        it = self._stored_item(m)
        if it is not None:
            is_global = it.frame in FRAMES_AMSL | FRAMES_REL
            x = it.x / 1e7 if is_global else float(it.x)
            y = it.y / 1e7 if is_global else float(it.y)
            self.send(self.mav.mission_item_encode(
                m.get_srcSystem(), m.get_srcComponent(), it.seq, it.frame, it.command, int(it.seq == self.current),
                it.autocontinue, it.param1, it.param2, it.param3, it.param4, x, y, it.z, it.mission_type))

    def _on_mission_clear_all(self, m: Any, now: float) -> None:
        mtype = getattr(m, "mission_type", 0)
        if mtype == mav.MAV_MISSION_TYPE_ALL:
            for t in list(self.missions):
                self._store(t, [])
        elif mtype in self.missions:
            self._store(mtype, [])
        self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(), mav.MAV_MISSION_ACCEPTED,
                                              mtype))

    def _on_mission_set_current(self, m: Any, now: float) -> None:
        if not self._set_current(int(m.seq)):
            self.counters["protocol_drops"] += 1

    def _on_mission_ack(self, m: Any, now: float) -> None:
        return  # the end of a download: nothing to do

    def _on_file_transfer_protocol(self, m: Any, now: float) -> None:
        """No MAVLink FTP: NAK every request (error 'unknown command') so clients fall back to the param protocol."""
        p = bytes(m.payload)
        if len(p) < 12:
            self.counters["protocol_drops"] += 1
            return
        reply = bytearray(251)
        reply[0:2] = p[0:2]  # same sequence number (the client matches on it)
        reply[2] = p[2]  # session
        reply[3] = 129  # NAK
        reply[4] = 1  # payload size
        reply[5] = p[3]  # the request's opcode
        reply[12] = 9  # FTP error: unknown command
        self.send(self.mav.file_transfer_protocol_encode(0, m.get_srcSystem(), m.get_srcComponent(), list(reply)))

    # -- messages on request and on a schedule -----------------------------------------------------------------
    def send_message(self, msg_id: int) -> bool:
        """Send one message by id (REQUEST_MESSAGE); False if this vehicle does not produce it."""
        if msg_id == mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
            self.send(self.mav.autopilot_version_encode(
                CAPABILITIES, FLIGHT_SW_VERSION, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0,
                0x5359_4B48_0000_0000 + self.i))
            return True
        if msg_id == mav.MAVLINK_MSG_ID_MISSION_CURRENT:
            self._send_mission_current()
            return True
        if msg_id in STREAMS:
            self.request_once.add(msg_id)
            return True
        return False


# telemetry streams the server schedules: message id -> default interval, s
STREAMS: dict[int, float] = {
    mav.MAVLINK_MSG_ID_HEARTBEAT: 1.0,
    mav.MAVLINK_MSG_ID_SYS_STATUS: 1.0,
    mav.MAVLINK_MSG_ID_BATTERY_STATUS: 1.0,
    mav.MAVLINK_MSG_ID_GPS_RAW_INT: 0.5,
    mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 0.1,
    mav.MAVLINK_MSG_ID_ATTITUDE: 0.1,
    mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 1.0,
    mav.MAVLINK_MSG_ID_HOME_POSITION: 2.0,
    mav.MAVLINK_MSG_ID_VFR_HUD: 0.5,
    mav.MAVLINK_MSG_ID_MISSION_CURRENT: 1.0,
}
