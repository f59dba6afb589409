"""The ground-station side of one external vehicle: its MAVLink connection, telemetry in, commands out.

skyhive connects to a real PX4 or ArduPilot vehicle the way QGroundControl or MAVSDK would: it opens the
connection string with pymavlink (``udpin``, ``udpout``, ``tcp``, serial), sends a GCS HEARTBEAT at 1 Hz, learns
the vehicle's autopilot from its HEARTBEAT, asks for the telemetry it needs (``SET_MESSAGE_INTERVAL``; ArduPilot
also ``REQUEST_DATA_STREAM``), and sends ``COMMAND_LONG``\\ s with retries, matching each ``COMMAND_ACK`` to its
command to measure the round trip and report refusals with the autopilot's result code.

What the vehicle reports goes into a row of :class:`Telemetry` (struct-of-arrays shared by all vehicles of all
external fleets), so the per-tick work of ``external.py`` stays array operations.  Message handlers run once per
received message, as in any ground station.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.framing import Framer

AUTOPILOT_PX4 = int(mav.MAV_AUTOPILOT_PX4)
AUTOPILOT_ARDUPILOT = int(mav.MAV_AUTOPILOT_ARDUPILOTMEGA)
# PX4 custom modes (px4_custom_mode.h): main mode in bits 16-23, sub mode in bits 24-31
PX4_MAIN_AUTO, PX4_MAIN_OFFBOARD = 4, 6
PX4_SUB_TAKEOFF, PX4_SUB_LOITER, PX4_SUB_RTL, PX4_SUB_LAND = 2, 3, 5, 6
# ArduCopter flight modes (ArduCopter/mode.h)
COPTER_AUTO, COPTER_GUIDED, COPTER_LOITER, COPTER_RTL, COPTER_LAND, COPTER_BRAKE = 3, 4, 5, 6, 9, 17
# velocity-only setpoint: ignore position, acceleration, yaw and yaw rate (POSITION_TARGET_TYPEMASK)
VELOCITY_ONLY = 0b0000_1101_1100_0111
RESULT_NAMES = {int(v): e.name for v, e in mav.enums["MAV_RESULT"].items() if v < 100}
WANTED = frozenset({mav.MAVLINK_MSG_ID_HEARTBEAT, mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT,
                    mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE, mav.MAVLINK_MSG_ID_SYS_STATUS,
                    mav.MAVLINK_MSG_ID_BATTERY_STATUS, mav.MAVLINK_MSG_ID_COMMAND_ACK, mav.MAVLINK_MSG_ID_STATUSTEXT})
GCS_HEARTBEAT_S = 1.0
COMMAND_TRIES = 3
LANDED_ON_GROUND = int(mav.MAV_LANDED_STATE_ON_GROUND)
LANDED_LANDING = int(mav.MAV_LANDED_STATE_LANDING)
STREAMS_US = {  # message id -> interval we ask for, microseconds
    mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 100_000,
    mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 500_000,
    mav.MAVLINK_MSG_ID_SYS_STATUS: 1_000_000,
    mav.MAVLINK_MSG_ID_HOME_POSITION: 2_000_000,
}
# ArduPilot's older stream groups: position (GLOBAL_POSITION_INT) and extended status (SYS_STATUS) rates, Hz
ARDUPILOT_STREAMS = ((mav.MAV_DATA_STREAM_POSITION, 10), (mav.MAV_DATA_STREAM_EXTENDED_STATUS, 2))


def result_name(code: int) -> str:
    return RESULT_NAMES.get(int(code), f"result {code}")


def mode_name(autopilot: int, custom_mode: int) -> str:
    """A readable flight mode for logs: 'OFFBOARD', 'AUTO.LOITER', 'GUIDED', ..."""
    if autopilot == AUTOPILOT_PX4:
        main, sub = (custom_mode >> 16) & 0xFF, (custom_mode >> 24) & 0xFF
        mains = {1: "MANUAL", 2: "ALTCTL", 3: "POSCTL", 4: "AUTO", 5: "ACRO", 6: "OFFBOARD", 7: "STABILIZED"}
        subs = {1: "READY", 2: "TAKEOFF", 3: "LOITER", 4: "MISSION", 5: "RTL", 6: "LAND"}
        name = mains.get(main, f"MAIN{main}")
        return f"{name}.{subs.get(sub, sub)}" if main == PX4_MAIN_AUTO else name
    if autopilot == AUTOPILOT_ARDUPILOT:
        names = {0: "STABILIZE", 2: "ALT_HOLD", 3: "AUTO", 4: "GUIDED", 5: "LOITER", 6: "RTL", 9: "LAND",
                 16: "POSHOLD", 17: "BRAKE", 20: "GUIDED_NOGPS", 21: "SMART_RTL"}
        return names.get(custom_mode, f"MODE{custom_mode}")
    return f"custom {custom_mode}"


def in_control_mode(autopilot: Any, custom_mode: Any) -> Any:
    """Whether the vehicle is in the mode where it follows skyhive's setpoints (PX4 OFFBOARD, ArduPilot GUIDED);
    scalars or arrays."""
    ap, mode = np.asarray(autopilot), np.asarray(custom_mode)
    px4 = (ap == AUTOPILOT_PX4) & ((mode >> 16) & 0xFF == PX4_MAIN_OFFBOARD)
    out = px4 | ((ap == AUTOPILOT_ARDUPILOT) & (mode == COPTER_GUIDED))
    return bool(out) if out.ndim == 0 else out


class Telemetry:
    """What the external vehicles last reported, one row per vehicle (NaN / -1 until heard)."""

    def __init__(self, n: int) -> None:
        self.lat = np.full(n, np.nan)
        self.lon = np.full(n, np.nan)
        self.rel_alt = np.zeros(n)  # m above the vehicle's home
        self.home_amsl = np.zeros(n)  # m, the fix's altitude minus its relative altitude
        self.vel_enu = np.zeros((n, 3))
        self.t_pos = np.full(n, -np.inf)  # wall time the last position arrived
        self.t_heard = np.full(n, -np.inf)  # wall time anything arrived
        self.t_heartbeat = np.full(n, -np.inf)  # wall time the last HEARTBEAT arrived (mode and armed are that old)
        self.battery = np.full(n, -1.0)  # fraction 0..1, -1 unknown
        self.armed = np.zeros(n, bool)
        self.custom_mode = np.zeros(n, np.int64)
        self.landed_state = np.zeros(n, np.int64)  # MAV_LANDED_STATE, 0 undefined
        self.autopilot = np.full(n, -1, np.int64)

    @property
    def has_position(self) -> NDArray[np.bool_]:
        return np.isfinite(self.lat)


@dataclass
class Pending:
    command: int
    params: tuple[float, ...]
    sent: float
    first_sent: float
    tries: int = 1
    on_result: Callable[[int], None] | None = None


@dataclass
class LinkCounters:
    messages: int = 0
    skipped: int = 0  # frames of types skyhive does not read, not decoded
    bad_frames: int = 0
    commands_sent: int = 0
    commands_acked: int = 0
    commands_rejected: int = 0
    commands_timed_out: int = 0
    setpoints: int = 0
    rtt_s: list[float] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)


class VehicleLink:
    """One vehicle's connection (row ``row`` of ``telemetry``); ``poll`` reads what arrived, never blocks."""

    def __init__(self, row: int, conn: Any, telemetry: Telemetry, sysid: int | None, command_timeout_s: float,
                 clock: Callable[[], float], log: Callable[[str, str], None]) -> None:
        self.row = row
        self.conn = conn
        self.tel = telemetry
        self.want_sysid = sysid
        self.sysid: int | None = None
        self.command_timeout_s = command_timeout_s
        self.clock = clock
        self.log = log
        self.pending: dict[int, Pending] = {}
        self.counters = LinkCounters()
        self.next_beat = 0.0
        self.streams_asked = False
        self.boot = clock()
        self.fast = Framer.available and getattr(conn.mav.signing, "sign_outgoing", False) is False
        self.statustext: list[str] = []
        self.buf = bytearray()

    # -- receiving -------------------------------------------------------------------------------------------
    def poll(self, max_reads: int = 64) -> int:
        """Handle what arrived; returns the number of messages from our vehicle.

        Frames are cut from the byte stream by their headers and only the message types skyhive reads are
        decoded by pymavlink (checksum and signature checks included); a vehicle's other streams (ATTITUDE at
        10 Hz and the like) are skipped unparsed, which is most of the receive cost per vehicle."""
        got = 0
        for _ in range(max_reads):
            try:
                data = self.conn.recv(65535)
            except (OSError, ValueError):  # a serial port unplugged, a TCP peer gone: treated as silence
                return got
            if not data:
                return got
            self.buf += data if isinstance(data, bytes | bytearray) else bytes(data, "latin-1")
            for frame in self._frames():
                parser = self.conn.mav
                try:
                    msgs = parser.parse_buffer(frame) or []
                except Exception:
                    self.counters.bad_frames += 1
                    continue
                finally:  # each frame is parsed on its own: a bad one never eats the start of the next
                    parser.buf, parser.buf_index = bytearray(), 0
                    parser.expected_length = mav.HEADER_LEN_V1 + 2
                for m in msgs:
                    got += self._accept(m)
        return got

    def _frames(self) -> list[bytes]:
        """Complete frames of wanted types from ``self.buf``; incomplete tail kept, garbage skipped."""
        out: list[bytes] = []
        buf, k, n = self.buf, 0, len(self.buf)
        while k < n:
            magic = buf[k]
            if magic == 0xFD:
                if k + 10 > n:
                    break
                size = 12 + buf[k + 1] + (13 if buf[k + 2] & 1 else 0)
                msg_id = buf[k + 7] | (buf[k + 8] << 8) | (buf[k + 9] << 16)
            elif magic == 0xFE:
                if k + 6 > n:
                    break
                size, msg_id = 8 + buf[k + 1], buf[k + 5]
            else:
                nxt = [j for j in (buf.find(b"\xfd", k + 1), buf.find(b"\xfe", k + 1)) if j >= 0]
                self.counters.bad_frames += 1
                k = min(nxt) if nxt else n
                continue
            if k + size > n:
                break
            if msg_id in WANTED:
                out.append(bytes(buf[k:k + size]))
            else:
                self.counters.skipped += 1
            k += size
        del buf[:k]
        if len(buf) > 1 << 16:  # never grows without bound on a stream of junk
            buf.clear()
        return out

    def _accept(self, m: Any) -> int:
        if m.get_type() == "BAD_DATA":
            self.counters.bad_frames += 1
            return 0
        src = m.get_srcSystem()
        if self.sysid is None:
            if m.get_type() != "HEARTBEAT" or m.type == mav.MAV_TYPE_GCS or m.get_srcComponent() != 1 \
                    or (self.want_sysid is not None and src != self.want_sysid):
                return 0
            self.sysid = src
            self.conn.target_system, self.conn.target_component = src, 1
        if src != self.sysid:
            return 0
        self._handle(m)
        return 1

    def _handle(self, m: Any) -> None:
        tel, k, now = self.tel, self.row, self.clock()
        self.counters.messages += 1
        tel.t_heard[k] = now
        kind = m.get_type()
        if kind == "GLOBAL_POSITION_INT":
            tel.lat[k], tel.lon[k] = m.lat / 1e7, m.lon / 1e7
            tel.rel_alt[k] = m.relative_alt / 1000.0
            tel.home_amsl[k] = (m.alt - m.relative_alt) / 1000.0
            tel.vel_enu[k] = (m.vy / 100.0, m.vx / 100.0, -m.vz / 100.0)
            tel.t_pos[k] = now
        elif kind == "HEARTBEAT":
            if m.get_srcComponent() != 1 or m.type == mav.MAV_TYPE_GCS:
                return
            tel.autopilot[k] = m.autopilot
            tel.t_heartbeat[k] = now
            tel.armed[k] = bool(m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
            tel.custom_mode[k] = m.custom_mode
        elif kind == "EXTENDED_SYS_STATE":
            tel.landed_state[k] = m.landed_state
        elif kind in ("SYS_STATUS", "BATTERY_STATUS"):
            if m.battery_remaining >= 0:
                tel.battery[k] = m.battery_remaining / 100.0
        elif kind == "COMMAND_ACK":
            self._ack(m, now)
        elif kind == "STATUSTEXT":
            text = m.text if isinstance(m.text, str) else bytes(m.text).decode(errors="replace")
            if len(self.statustext) < 50:
                self.statustext.append(text.rstrip("\x00"))

    def _ack(self, m: Any, now: float) -> None:
        p = self.pending.get(int(m.command))
        if p is None or m.result == mav.MAV_RESULT_IN_PROGRESS:
            return
        del self.pending[int(m.command)]
        self.counters.commands_acked += 1
        self.counters.rtt_s.append(now - p.sent)
        if m.result != mav.MAV_RESULT_ACCEPTED:
            self.counters.commands_rejected += 1
            what = f"sys {self.sysid}: {command_name(p.command)} refused with {result_name(m.result)} ({m.result})"
            if len(self.counters.rejections) < 50:
                self.counters.rejections.append(what)
            self.log("warning", what)
        if p.on_result is not None:
            p.on_result(int(m.result))

    # -- sending ---------------------------------------------------------------------------------------------
    def _write(self, msg: Any) -> None:
        # OSError: nobody listening yet (udpin before the first packet), port unreachable: a lost packet
        with contextlib.suppress(OSError):
            self.conn.mav.send(msg)

    def _write_bytes(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.conn.write(data)

    def housekeeping(self, now: float) -> None:
        """GCS heartbeat, stream requests once the vehicle is known, command retries and time-outs."""
        if now >= self.next_beat:
            self.next_beat = now + GCS_HEARTBEAT_S
            self._write(self.conn.mav.heartbeat_encode(mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID, 0, 0,
                                                       mav.MAV_STATE_ACTIVE))
        if self.sysid is not None and not self.streams_asked and self.tel.autopilot[self.row] >= 0:
            self.streams_asked = True
            self.ask_streams()
        for cmd, p in list(self.pending.items()):
            if now - p.sent < self.command_timeout_s:
                continue
            if p.tries >= COMMAND_TRIES:
                del self.pending[cmd]
                self.counters.commands_timed_out += 1
                self.log("warning", f"sys {self.sysid}: {command_name(cmd)} unanswered after {p.tries} tries")
                if p.on_result is not None:
                    p.on_result(-1)
                continue
            p.tries += 1
            p.sent = now
            self._send_command(cmd, p.params, confirmation=p.tries - 1)

    def ask_streams(self) -> None:
        for msg_id, interval in STREAMS_US.items():
            self.command(mav.MAV_CMD_SET_MESSAGE_INTERVAL, float(msg_id), float(interval), track=False)
        if self.tel.autopilot[self.row] == AUTOPILOT_ARDUPILOT:
            for stream, hz in ARDUPILOT_STREAMS:
                self._write(self.conn.mav.request_data_stream_encode(self.sysid or 0, 1, stream, hz, 1))

    def _send_command(self, cmd: int, params: tuple[float, ...], confirmation: int = 0) -> None:
        self.counters.commands_sent += 1
        self._write(self.conn.mav.command_long_encode(self.sysid or 0, 1, cmd, confirmation, *params))

    def command(self, cmd: int, *params: float, on_result: Callable[[int], None] | None = None,
                track: bool = True) -> None:
        """COMMAND_LONG; with ``track`` it is resent until acknowledged and ``on_result`` gets the MAV_RESULT
        (-1 after the last unanswered try).  A newer command of the same id replaces an older pending one."""
        p7 = (*[float(x) for x in params], *[0.0] * (7 - len(params)))
        self._send_command(cmd, p7)
        if track:
            now = self.clock()
            self.pending[cmd] = Pending(cmd, p7, now, now, on_result=on_result)

    def busy(self, cmd: int) -> bool:
        return cmd in self.pending

    def set_mode(self, custom_mode: int, on_result: Callable[[int], None] | None = None) -> None:
        """DO_SET_MODE with the custom mode split the way each autopilot reads it."""
        flag = float(mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED)
        if self.tel.autopilot[self.row] == AUTOPILOT_PX4:
            self.command(mav.MAV_CMD_DO_SET_MODE, flag, float((custom_mode >> 16) & 0xFF),
                         float((custom_mode >> 24) & 0xFF), on_result=on_result)
        else:
            self.command(mav.MAV_CMD_DO_SET_MODE, flag, float(custom_mode), on_result=on_result)

    def velocity_setpoint(self, v_enu: Any) -> None:
        """A velocity-only setpoint: PX4 SET_POSITION_TARGET_LOCAL_NED, ArduPilot SET_POSITION_TARGET_GLOBAL_INT."""
        boot_ms = int((self.clock() - self.boot) * 1000) & 0xFFFFFFFF
        vn, ve, vd = float(v_enu[1]), float(v_enu[0]), -float(v_enu[2])
        sysid = self.sysid or 0
        self.counters.setpoints += 1
        if self.tel.autopilot[self.row] == AUTOPILOT_ARDUPILOT:
            if self.fast:
                self._write_bytes(GLOBAL_INT.pack(self.conn.mav, boot_ms, 0, 0, 0.0, vn, ve, vd, 0.0, 0.0, 0.0, 0.0,
                                                  0.0, VELOCITY_ONLY, sysid, 1,
                                                  mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT))
            else:
                self._write(self.conn.mav.set_position_target_global_int_encode(
                    boot_ms, sysid, 1, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, VELOCITY_ONLY, 0, 0, 0.0, vn, ve, vd,
                    0.0, 0.0, 0.0, 0.0, 0.0))
            return
        if self.fast:
            self._write_bytes(LOCAL_NED.pack(self.conn.mav, boot_ms, 0.0, 0.0, 0.0, vn, ve, vd, 0.0, 0.0, 0.0, 0.0,
                                             0.0, VELOCITY_ONLY, sysid, 1, mav.MAV_FRAME_LOCAL_NED))
        else:
            self._write(self.conn.mav.set_position_target_local_ned_encode(
                boot_ms, sysid, 1, mav.MAV_FRAME_LOCAL_NED, VELOCITY_ONLY, 0.0, 0.0, 0.0, vn, ve, vd, 0.0, 0.0, 0.0,
                0.0, 0.0))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()


LOCAL_NED = Framer(mav.MAVLink_set_position_target_local_ned_message)
GLOBAL_INT = Framer(mav.MAVLink_set_position_target_global_int_message)


def command_name(cmd: int) -> str:
    entry = mav.enums["MAV_CMD"].get(cmd)
    return entry.name.removeprefix("MAV_CMD_") if entry is not None else f"command {cmd}"


__all__ = ["AUTOPILOT_ARDUPILOT", "AUTOPILOT_PX4", "Telemetry", "VehicleLink", "in_control_mode", "mode_name",
           "result_name"]
