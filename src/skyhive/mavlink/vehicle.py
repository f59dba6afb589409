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
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.commands import CommandHandling
from skyhive.mavlink.fence_upload import VehicleFence
from skyhive.mavlink.mission_protocol import (
    DO_CHANGE_SPEED,
    FRAMES_AMSL,
    MAV_SEVERITY_CRITICAL,
    NAV_LAND,
    NAV_LOITER_TIME,
    NAV_LOITER_UNLIM,
    NAV_RTL,
    NAV_TAKEOFF,
    NAV_WAYPOINT,
    MissionProtocol,
    Upload,
    is_home_marker,
)
from skyhive.mavlink.modes import (
    ACCEPTED,
    DENIED,
    FAILED,
    GUIDED,
    LAND,
    LOITER,
    MAIN_ACRO,
    MAIN_ALTCTL,
    MAIN_AUTO,
    MAIN_MANUAL,
    MAIN_OFFBOARD,
    MAIN_POSCTL,
    MAIN_STABILIZED,
    MISSION,
    MODE_NAMES,
    OFFBOARD,
    RTL,
    SUB_LAND,
    SUB_LOITER,
    SUB_MISSION,
    SUB_READY,
    SUB_RTL,
    SUB_SWARM,
    SUB_TAKEOFF,
    SWARM,
    TAKEOFF,
    TEMP_REJECTED,
    UNSUPPORTED,
    as_int,
    valid_latlon,
)
from skyhive.mavlink.offboard import OffboardControl, Setpoint
from skyhive.mavlink.params import ParamStore
from skyhive.mavlink.services import CAPABILITIES, FLIGHT_SW_VERSION, VehicleServices
from skyhive.mavlink.streams import STREAMS
from skyhive.world.world import DroneStatus

if TYPE_CHECKING:
    from skyhive.mavlink.control import GcsControl
    from skyhive.sim import Simulation

SENSORS = (mav.MAV_SYS_STATUS_SENSOR_3D_GYRO | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL | mav.MAV_SYS_STATUS_SENSOR_3D_MAG
           | mav.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE | mav.MAV_SYS_STATUS_SENSOR_GPS
           | mav.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL | mav.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
           | mav.MAV_SYS_STATUS_SENSOR_YAW_POSITION | mav.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
           | mav.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL | mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
           | mav.MAV_SYS_STATUS_AHRS | mav.MAV_SYS_STATUS_SENSOR_BATTERY | mav.MAV_SYS_STATUS_PREARM_CHECK)

ON_GROUND_M = 0.1
FENCE_CHECK_S = 0.3  # own-fence checks run at the 10 Hz telemetry rate; margin for the time to the next one



class Vehicle(CommandHandling, MissionProtocol, OffboardControl, VehicleServices):
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
        self.fence = VehicleFence()  # uploaded to this vehicle (mission type FENCE); see fence_upload.py
        self._fence_items_pending: list[Any] = []
        self.request_once: set[int] = set()
        self.link: Any = None  # the server's Link this vehicle is reached on
        self.home_geo: tuple[tuple[float, float, float], tuple[int, int, int]] | None = None
        self.text_id = 0  # STATUSTEXT id of the last chunked text
        self.climb_first = False  # a mission started on the ground: climbing before its first item
        self.setpoint: Setpoint | None = None  # the last OFFBOARD setpoint
        self.fence_breached = False  # in breach of its own uploaded fence at the last check
        self.force_disarmed = False  # motors cut in the air: down, but the link stays up (as PX4)
        self.counters = {"commands": 0, "commands_rejected": 0, "protocol_drops": 0, "mission_uploads": 0,
                         "offboard_losses": 0, "offboard_setpoints": 0}
        self._apply_limits()

    # -- helpers -----------------------------------------------------------------------------------------------
    @property
    def d(self) -> Any:
        return self.sim.world.drones

    def send(self, msg: Any) -> None:
        self.send_fn(self, msg)

    def reply_address(self) -> Any:
        """The UDP address of the ground station whose message is being handled (None outside a handler)."""
        return None if self.link is None else self.link.reply_to

    def say(self, severity: int, text: str) -> None:
        """STATUSTEXT, as PX4 reports refusals and failsafes; a longer text goes in 50-byte chunks (MAVLink 2)."""
        data = text.encode()[:200]
        if len(data) <= 50:
            self.send(self.mav.statustext_encode(severity, data))
            return
        self.text_id = self.text_id % 65535 + 1
        chunks = [data[k:k + 50] for k in range(0, len(data), 50)]
        if len(chunks[-1]) == 50:
            chunks.append(b"")  # the last chunk must end with a NUL
        for seq, chunk in enumerate(chunks):
            self.send(self.mav.statustext_encode(severity, chunk, self.text_id, seq))

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
        if self.mode == OFFBOARD:
            speed = p["MPC_XY_VEL_MAX"]
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
        c.vel_mode[i] = False
        self.climb_first = False
        self._apply_limits()

    def _hold_here(self) -> None:
        """Hold where the drone can stop (PX4 brakes, it does not fly back to where the switch happened)."""
        target = self.d.pos[self.i].copy()
        v = self.d.vel[self.i, :2]
        target[:2] += v * float(np.hypot(*v)) / (2.0 * float(self.ctl.decel[self.i]))
        self._goto(target, watch=False)

    def heading(self) -> float:
        """Course over ground, rad from north clockwise (the attitude a point mass reports)."""
        v = self.d.vel[self.i]
        return float(math.atan2(v[0], v[1])) if math.hypot(v[0], v[1]) > 0.5 else 0.0

    def home_z(self) -> float:
        return float(self.d.home[self.i, 2])

    def _alt_to_z(self, alt: float, frame: int) -> float:
        return alt - self.sim.frame.alt0 if frame in FRAMES_AMSL else self.home_z() + alt

    def _latlon_to_xy(self, lat: float, lon: float) -> np.ndarray:
        return np.asarray(self.sim.frame.local(lat, lon, 0.0), float)[:2]

    def target_violation(self, target: np.ndarray) -> str | None:
        """Why a commanded position is refused (PX4 checks goto targets against its geofence); None if fine."""
        if target[2] < self.home_z() - 0.5:
            return "below the ground"
        if self.sim.fences.breaches(np.asarray(target, float)[None, :], np.ones(1, bool))[0]:
            return "outside scenario fence"
        return self.fence.violation(target)

    # -- modes -------------------------------------------------------------------------------------------------
    def set_mode(self, main: int, sub: int) -> int:
        """Switch flight mode as PX4 would; returns a MAV_RESULT."""
        if self.failed:
            return FAILED
        want = (main, sub if main in (MAIN_AUTO, MAIN_OFFBOARD) else 0)
        self.ctl.vel_mode[self.i] = False
        if want == OFFBOARD:
            return self.start_offboard()
        if want == GUIDED:
            return self.start_guided()
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
        if not z > self.home_z():  # PX4: a takeoff target at or below the ground means "the default altitude"
            z = self.home_z() + self.params["MIS_TAKEOFF_ALT"]
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
        elif self.mode == MISSION and self.climb_first:
            self.climb_first = False
            self._mission_go(self.current)  # airborne now: fly the item it took off for
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

    def check_fence_breach(self) -> None:
        """Own-geofence breach: STATUSTEXT and GF_ACTION once per breach (called at the telemetry rate)."""
        if not self.armed or self.on_ground:
            self.fence_breached = False
            return
        # PX4's predictive check (GF_PREDICT): where the vehicle would stop if it braked after the next check
        vel = self.d.vel[self.i]
        speed = float(np.linalg.norm(vel[:2]))
        ahead = speed / float(self.ctl.decel[self.i]) + FENCE_CHECK_S  # the hold's braking profile, v^2 / decel
        pos = self.d.pos[self.i]
        why = self.fence.violation(pos) or self.fence.violation(pos + vel * ahead)
        was, self.fence_breached = self.fence_breached, why is not None
        if why is None or was:
            return
        action = int(self.params["GF_ACTION"])
        if action == 0:
            return
        self.say(MAV_SEVERITY_CRITICAL, f"Geofence breached: {why}")
        if action == 2:
            self.mode = LOITER
            self._hold_here()
        elif action == 3:
            self._start_rtl()
        elif action == 5:
            self._land()

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
            if is_home_marker(items, seq):  # QGC WPL line 0: the home position, not a place to fly to
                self._reached(seq)
                seq += 1
                continue
            if cmd in (NAV_WAYPOINT, NAV_LOITER_TIME, NAV_LOITER_UNLIM) and self.on_ground:
                # PX4: a mission started on the ground without a takeoff item takes off first (MIS_TAKEOFF_ALT)
                target = self.d.pos[self.i].copy()
                target[2] = self.home_z() + self.params["MIS_TAKEOFF_ALT"]
                self._goto(target, accept_h=1e9)
                self.climb_first = True
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

    def _mission_stored(self, items: list[Any]) -> None:
        self.current = 0
        self.ctl.hold_until[self.i] = np.inf
        self.mission_state = mav.MISSION_STATE_NOT_STARTED if items else mav.MISSION_STATE_NO_MISSION
        if self.mode == MISSION:
            self.mode = LOITER
            if self.armed and not self.on_ground:
                self._hold_here()
        self._send_mission_current()

    def _send_mission_current(self) -> None:
        n = len(self.missions[0])
        state = self.mission_state if n else mav.MISSION_STATE_NO_MISSION
        self.send(self.mav.mission_current_encode(self.current, n, state, int(self.mode == MISSION)))

    # -- message dispatch --------------------------------------------------------------------------------------
    def handle(self, msg: Any, now: float) -> None:
        """React to one message addressed to this vehicle."""
        if self.failed and not self.force_disarmed:
            return  # a lost drone answers nothing (a force-disarmed one still has its link)
        kind = msg.get_type()
        handler = getattr(self, "_on_" + kind.lower(), None)
        if handler is None:
            return
        handler(msg, now)

    def _set_current(self, seq: int) -> bool:
        if not 0 <= seq < len(self.missions[0]):
            return False
        self.current = seq
        if self.mode == MISSION and self.armed:
            self._mission_go(seq)
        else:
            self._send_mission_current()
        return True

    def _set_mode_flags(self, base: int, main: int, sub: int) -> int:
        """DO_SET_MODE / SET_MODE: a PX4 custom mode, or (as PX4 maps them) base-mode flags only."""
        if base & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            return self.set_mode(main, sub)
        if base & mav.MAV_MODE_FLAG_AUTO_ENABLED:
            return self.set_mode(*MISSION)
        if base & mav.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED and base & mav.MAV_MODE_FLAG_GUIDED_ENABLED:
            return self.set_mode(MAIN_POSCTL, 0)
        if base & mav.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED:
            return self.set_mode(MAIN_MANUAL, 0)
        return UNSUPPORTED

    def _on_set_mode(self, m: Any, now: float) -> None:
        self._set_mode_flags(m.base_mode, (m.custom_mode >> 16) & 0xFF, (m.custom_mode >> 24) & 0xFF)


__all__ = [  # the names other modules and tests import from here (some live in modes.py and services.py)
    "ACCEPTED", "CAPABILITIES", "DENIED", "FAILED", "FLIGHT_SW_VERSION", "GUIDED", "LAND", "LOITER", "MAIN_ACRO",
    "MAIN_ALTCTL", "MAIN_AUTO", "MAIN_MANUAL", "MAIN_OFFBOARD", "MAIN_POSCTL", "MAIN_STABILIZED", "MISSION",
    "MODE_NAMES", "OFFBOARD", "RTL", "SENSORS", "STREAMS", "SUB_LAND", "SUB_LOITER", "SUB_MISSION", "SUB_READY",
    "SUB_RTL", "SUB_SWARM", "SUB_TAKEOFF", "SWARM", "TAKEOFF", "TEMP_REJECTED", "UNSUPPORTED", "Vehicle",
    "as_int", "valid_latlon",
]
