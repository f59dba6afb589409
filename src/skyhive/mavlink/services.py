"""Small protocol services of a vehicle: parameters, ping, time sync, FTP refusal, messages on request.

A mixin of ``Vehicle`` (``vehicle.py``).  A refused PARAM_SET is answered with
PARAM_ERROR (the reason) and a STATUSTEXT, then the value in force, so a
ground station sees the refusal instead of retrying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.framing import PROTOCOL_VERSION_ID, ProtocolVersionMessage
from skyhive.mavlink.params import INT32, PARAMS, ParamStore, encode
from skyhive.mavlink.streams import STREAMS

CAPABILITIES = (mav.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT | mav.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
                | mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | mav.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_BYTEWISE | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
                | mav.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE | mav.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY)
FLIGHT_SW_VERSION = (1 << 24) | (14 << 16) | (0 << 8) | 255  # reports as PX4 v1.14.0 (release)
FTP_UNKNOWN_COMMAND, FTP_FILE_NOT_FOUND = 7, 10
FTP_FILE_OPS = frozenset({3, 4, 6, 7, 8, 12, 13, 14, 15})  # list, open, create, write, remove, rename, crc, ...
MAV_SEVERITY_WARNING = 4


class VehicleServices:
    """Parameter protocol and small services of a ``Vehicle`` (the attributes below are the vehicle's)."""

    mav: Any
    i: int
    params: ParamStore
    counters: dict[str, int]
    request_once: set[int]

    if TYPE_CHECKING:
        def send(self, msg: Any) -> None: ...
        def say(self, severity: int, text: str) -> None: ...
        def _apply_limits(self) -> None: ...
        def _send_mission_current(self) -> None: ...

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
            self.send(self.mav.param_error_encode(m.get_srcSystem(), m.get_srcComponent(), name.encode()[:16], -1,
                                                  mav.MAV_PARAM_ERROR_DOES_NOT_EXIST))
            return
        spec = PARAMS[k]
        if not self.params.set(name, float(m.param_value), m.param_type if m.param_type == INT32 else spec.kind):
            error = (mav.MAV_PARAM_ERROR_READ_ONLY if not spec.writable else mav.MAV_PARAM_ERROR_VALUE_OUT_OF_RANGE)
            self.send(self.mav.param_error_encode(m.get_srcSystem(), m.get_srcComponent(), name.encode()[:16], k,
                                                  error))
            self.say(MAV_SEVERITY_WARNING, f"{name}: {'read-only' if not spec.writable else 'value out of range'}")
        self._apply_limits()
        self.send(self._param_value(k))  # the value now in force, changed or not

    # small services: ping, time sync
    def _on_ping(self, m: Any, now: float) -> None:
        if m.target_system == 0:  # a request (a reply names its target)
            self.send(self.mav.ping_encode(m.time_usec, m.seq, m.get_srcSystem(), m.get_srcComponent()))

    def _on_timesync(self, m: Any, now: float) -> None:
        if m.tc1 == 0:  # a request: answer with our clock, echo theirs
            self.send(self.mav.timesync_encode(int(now * 1e9), m.ts1))


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
        # FTP error: FileNotFound for opening or listing (clients fall back), else UnknownCommand
        reply[12] = FTP_FILE_NOT_FOUND if p[3] in FTP_FILE_OPS else FTP_UNKNOWN_COMMAND
        self.send(self.mav.file_transfer_protocol_encode(0, m.get_srcSystem(), m.get_srcComponent(), list(reply)))

    def send_message(self, msg_id: int) -> bool:
        """Send one message by id (REQUEST_MESSAGE); False if this vehicle does not produce it."""
        if msg_id == mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
            self.send(self.mav.autopilot_version_encode(
                CAPABILITIES, FLIGHT_SW_VERSION, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0,
                0x5359_4B48_0000_0000 + self.i))
            return True
        if msg_id == PROTOCOL_VERSION_ID:
            self.send(ProtocolVersionMessage())
            return True
        if msg_id == mav.MAVLINK_MSG_ID_MISSION_CURRENT:
            self._send_mission_current()
            return True
        if msg_id in STREAMS:
            self.request_once.add(msg_id)
            return True
        return False
