"""The ground-station link's receive path: frames cut from a byte stream, unwanted types skipped undecoded,
junk and split frames handled; setpoint bytes equal pymavlink's; modes per autopilot."""

from __future__ import annotations

from typing import Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.gcs import (
    AUTOPILOT_ARDUPILOT,
    AUTOPILOT_PX4,
    VELOCITY_ONLY,
    Telemetry,
    VehicleLink,
    in_control_mode,
    mode_name,
)


class FakeConn:
    """Hands out pre-cut chunks as ``recv`` would (a TCP stream may split frames anywhere)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.mav = mav.MAVLink(None, srcSystem=255, srcComponent=190)
        self.mav.robust_parsing = True
        self.sent: list[bytes] = []
        self.target_system = self.target_component = 0

    def recv(self, n: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))


def vehicle_bytes() -> bytes:
    v = mav.MAVLink(None, srcSystem=7, srcComponent=1)
    out = b""
    for msg in (v.heartbeat_encode(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_PX4, 129, 6 << 16, 4),
                v.attitude_encode(0, 0.1, 0.2, 0.3, 0, 0, 0),
                v.global_position_int_encode(0, 473769000, 85417000, 420000, 12000, 150, -250, -100, 0),
                v.extended_sys_state_encode(0, mav.MAV_LANDED_STATE_IN_AIR)):
        out += msg.pack(v)
        v.seq += 1
    return out


def test_frames_split_anywhere_with_junk_are_read_and_unwanted_types_skipped() -> None:
    data = b"\x00junk" + vehicle_bytes()
    for cut in (1, 7, 23, 40, len(data) - 3):
        tel = Telemetry(1)
        conn = FakeConn([data[:cut], data[cut:]])
        link = VehicleLink(0, conn, tel, None, 1.0, lambda: 0.0, lambda level, text: None)
        got = link.poll()
        assert got == 3, cut  # heartbeat, position, landed state; ATTITUDE skipped undecoded
        assert link.counters.skipped == 1 and link.sysid == 7
        assert tel.autopilot[0] == AUTOPILOT_PX4 and tel.armed[0] and in_control_mode(AUTOPILOT_PX4, tel.custom_mode[0])
        assert np.allclose(tel.vel_enu[0], [-2.5, 1.5, 1.0])  # NED cm/s -> ENU m/s
        assert tel.rel_alt[0] == 12.0 and tel.home_amsl[0] == 408.0
        assert tel.landed_state[0] == mav.MAV_LANDED_STATE_IN_AIR


def test_velocity_setpoint_bytes_equal_pymavlink() -> None:
    for autopilot, kind in ((AUTOPILOT_PX4, "SET_POSITION_TARGET_LOCAL_NED"),
                            (AUTOPILOT_ARDUPILOT, "SET_POSITION_TARGET_GLOBAL_INT")):
        tel = Telemetry(1)
        tel.autopilot[0] = autopilot
        conn = FakeConn([])
        link = VehicleLink(0, conn, tel, None, 1.0, lambda: 0.0, lambda level, text: None)
        link.sysid = 3
        link.velocity_setpoint(np.array([1.0, 2.0, 0.5]))  # east, north, up
        parser = mav.MAVLink(None)
        msgs: list[Any] = parser.parse_buffer(conn.sent[0]) or []
        assert len(msgs) == 1 and msgs[0].get_type() == kind
        m = msgs[0]
        assert (m.vx, m.vy, m.vz) == (2.0, 1.0, -0.5) and m.type_mask == VELOCITY_ONLY and m.target_system == 3


def test_modes_per_autopilot() -> None:
    assert in_control_mode(AUTOPILOT_PX4, 6 << 16) and not in_control_mode(AUTOPILOT_PX4, (4 << 16) | (3 << 24))
    assert in_control_mode(AUTOPILOT_ARDUPILOT, 4) and not in_control_mode(AUTOPILOT_ARDUPILOT, 6 << 16)
    assert list(in_control_mode(np.array([AUTOPILOT_PX4, AUTOPILOT_ARDUPILOT]), np.array([6 << 16, 5]))) == [True,
                                                                                                         False]
    assert mode_name(AUTOPILOT_PX4, (4 << 16) | (3 << 24)) == "AUTO.LOITER"
    assert mode_name(AUTOPILOT_ARDUPILOT, 4) == "GUIDED"
