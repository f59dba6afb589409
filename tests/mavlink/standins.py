"""A small ArduCopter-like MAVLink vehicle for tests (ArduPilot SITL binaries cannot be fetched here).

It answers the way ArduCopter 4.x does on the points ``skyhive fly`` depends on: HEARTBEAT with autopilot
ARDUPILOTMEGA and the copter mode number in ``custom_mode``; DO_SET_MODE / SET_MODE with copter mode numbers;
arming refused with MAV_RESULT_FAILED when a pre-arm check fails; NAV_TAKEOFF only in GUIDED and armed, to a height
above home (param 7); SET_POSITION_TARGET_GLOBAL_INT velocity setpoints only in GUIDED, stopping when they are
older than 3 s (ArduCopter's guided velocity time-out); LAND descends and disarms on touchdown; RTL climbs, flies
home and lands.  Kinematics are a point mass with a first-order velocity response.  It is a stand-in for the
protocol, not a flight-dynamics model.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from typing import Any

from pymavlink.dialects.v20 import common as mav

STABILIZE, GUIDED, LOITER, RTL, LAND = 0, 4, 5, 6, 9
TAKEOFF_RATE, LAND_RATE, RTL_SPEED, RTL_ALT = 2.5, 0.7, 5.0, 15.0
GUIDED_TIMEOUT_S = 3.0
M_PER_DEG = 111_319.5


class ArduCopterStandIn(threading.Thread):
    """``udpin`` on 127.0.0.1:``port``; replies to whoever spoke last (as SITL's UDP serial port does)."""

    def __init__(self, port: int, lat: float, lon: float, sysid: int = 1, refuse_arm: bool = False,
                 refuse_guided: bool = False, home_amsl: float = 408.0) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.01)
        self.mav = mav.MAVLink(None, srcSystem=sysid, srcComponent=1)
        self.parser = mav.MAVLink(None)
        self.parser.robust_parsing = True
        self.peer: tuple[str, int] | None = None
        self.lat0, self.lon0, self.home_amsl = lat, lon, home_amsl
        self.pos = [0.0, 0.0, 0.0]  # east, north, up from home
        self.vel = [0.0, 0.0, 0.0]
        self.target_vel = [0.0, 0.0, 0.0]
        self.sp_time = -math.inf
        self.mode = STABILIZE
        self.armed = False
        self.refuse_arm = refuse_arm
        self.refuse_guided = refuse_guided  # e.g. no position estimate: ArduCopter refuses GUIDED
        self.takeoff_alt: float | None = None
        self.log: list[str] = []  # what happened, in order: "mode GUIDED", "arm", "takeoff 10", ...
        self.setpoints = 0
        self.silent = False  # True: drop everything in and out (a cut link)
        self.running = True
        self.start()

    # -- I/O ---------------------------------------------------------------------------------------------------
    def send(self, msg: Any) -> None:
        if self.peer is not None and not self.silent:
            self.sock.sendto(msg.pack(self.mav), self.peer)
            self.mav.seq = (self.mav.seq + 1) & 0xFF

    def stop(self) -> None:
        self.running = False
        self.join(timeout=2)
        self.sock.close()

    def run(self) -> None:
        last, next_fast, next_slow = time.monotonic(), 0.0, 0.0
        while self.running:
            try:
                data, addr = self.sock.recvfrom(65535)
                if not self.silent:
                    self.peer = addr
                    for m in self.parser.parse_buffer(data) or []:
                        self.handle(m)
            except (TimeoutError, BlockingIOError):
                pass
            now = time.monotonic()
            self.physics(now - last, now)
            last = now
            if now >= next_fast:
                next_fast = now + 0.1
                self.send_position()
            if now >= next_slow:
                next_slow = now + 1.0
                self.send_status()

    def send_position(self) -> None:
        e, n, u = self.pos
        lat = self.lat0 + n / M_PER_DEG
        lon = self.lon0 + e / (M_PER_DEG * math.cos(math.radians(self.lat0)))
        self.send(self.mav.global_position_int_encode(
            0, int(lat * 1e7), int(lon * 1e7), int((self.home_amsl + u) * 1000), int(u * 1000),
            int(self.vel[1] * 100), int(self.vel[0] * 100), int(-self.vel[2] * 100), 0))

    def send_status(self) -> None:
        base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mav.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
        self.send(self.mav.heartbeat_encode(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base, self.mode,
                                            mav.MAV_STATE_ACTIVE if self.armed else mav.MAV_STATE_STANDBY))
        self.send(self.mav.sys_status_encode(0, 0, 0, 500, 12600, 500, 90, 0, 0, 0, 0, 0, 0))
        on_ground = self.pos[2] < 0.2
        state = mav.MAV_LANDED_STATE_ON_GROUND if on_ground else (
            mav.MAV_LANDED_STATE_LANDING if self.mode == LAND else mav.MAV_LANDED_STATE_IN_AIR)
        self.send(self.mav.extended_sys_state_encode(0, state))

    # -- behaviour ---------------------------------------------------------------------------------------------
    def handle(self, m: Any) -> None:
        kind = m.get_type()
        if kind == "COMMAND_LONG" and m.target_system == self.mav.srcSystem:
            result = self.command(int(m.command), [m.param1, m.param2, m.param3, m.param4, m.param5, m.param6,
                                                   m.param7])
            self.send(self.mav.command_ack_encode(m.command, result, 0, 0, m.get_srcSystem(), m.get_srcComponent()))
        elif kind == "SET_MODE":
            self.set_mode(int(m.custom_mode))
        elif kind == "SET_POSITION_TARGET_GLOBAL_INT" and self.mode == GUIDED and self.armed \
                and not m.type_mask & 0b111000:
            self.target_vel = [m.vy, m.vx, -m.vz]
            self.sp_time = time.monotonic()
            self.setpoints += 1

    def set_mode(self, mode: int) -> int:
        if mode not in (STABILIZE, GUIDED, LOITER, RTL, LAND):
            return mav.MAV_RESULT_DENIED
        if (mode == RTL and not self.armed) or (mode == GUIDED and self.refuse_guided):
            return mav.MAV_RESULT_FAILED
        self.mode = mode
        self.log.append(f"mode {mode}")
        self.target_vel = [0.0, 0.0, 0.0]
        return mav.MAV_RESULT_ACCEPTED

    def command(self, cmd: int, p: list[float]) -> int:
        if cmd == mav.MAV_CMD_DO_SET_MODE:
            return self.set_mode(int(p[1]))
        if cmd == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            if p[0] >= 0.5:
                if self.refuse_arm:
                    return mav.MAV_RESULT_FAILED  # "PreArm: ..." in ArduCopter
                self.armed = True
                self.log.append("arm")
            else:
                self.armed = False
            return mav.MAV_RESULT_ACCEPTED
        if cmd == mav.MAV_CMD_NAV_TAKEOFF:
            if self.mode != GUIDED or not self.armed or self.pos[2] > 0.5:
                return mav.MAV_RESULT_FAILED
            self.takeoff_alt = float(p[6])
            self.log.append(f"takeoff {self.takeoff_alt:g}")
            return mav.MAV_RESULT_ACCEPTED
        if cmd == mav.MAV_CMD_NAV_LAND:
            return self.set_mode(LAND)
        if cmd == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return self.set_mode(RTL)
        if cmd in (mav.MAV_CMD_SET_MESSAGE_INTERVAL, mav.MAV_CMD_REQUEST_MESSAGE):
            return mav.MAV_RESULT_ACCEPTED
        return mav.MAV_RESULT_UNSUPPORTED

    def physics(self, dt: float, now: float) -> None:
        want = [0.0, 0.0, 0.0]
        if not self.armed:
            self.vel = [0.0, 0.0, 0.0]
            return
        if self.takeoff_alt is not None:
            want = [0.0, 0.0, TAKEOFF_RATE if self.pos[2] < self.takeoff_alt else 0.0]
            if self.pos[2] >= self.takeoff_alt - 0.05:
                self.takeoff_alt = None
        elif self.mode == GUIDED and now - self.sp_time <= GUIDED_TIMEOUT_S:
            want = list(self.target_vel)
        elif self.mode == LAND:
            want = [0.0, 0.0, -LAND_RATE]
        elif self.mode == RTL:
            e, n, u = self.pos
            d = math.hypot(e, n)
            if u < RTL_ALT - 0.5 and d > 2.0:
                want = [0.0, 0.0, TAKEOFF_RATE]
            elif d > 1.0:
                s = min(RTL_SPEED, d)
                want = [-e / d * s, -n / d * s, 0.0]
            else:
                want = [0.0, 0.0, -LAND_RATE]
        a = min(1.0, dt / 0.3)
        self.vel = [v + (w - v) * a for v, w in zip(self.vel, want, strict=True)]
        self.pos = [p + v * dt for p, v in zip(self.pos, self.vel, strict=True)]
        if self.pos[2] <= 0.0:
            self.pos[2] = 0.0
            if self.mode in (LAND, RTL) and self.vel[2] < 0:
                self.armed = False  # ArduCopter disarms after landing
                self.log.append("landed")
            self.vel[2] = max(self.vel[2], 0.0)
