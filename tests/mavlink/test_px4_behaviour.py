"""Refusals and behaviour a PX4 user expects: feasibility checks, invalid positions, OFFBOARD rules, geofence
uploads, parameters, services and streams.  In process (pymavlink clients on loopback, the server polled by hand).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.vehicle import MAIN_AUTO, MAIN_OFFBOARD, SUB_MISSION
from tests.mavlink.inproc import Client, Served

LAT0, LON0 = 47.3769, 8.5417
M_PER_DEG_LAT = 111_195.0
ACCEPTED, DENIED = 0, 2
NAN = math.nan
ARM, TAKEOFF = mav.MAV_CMD_COMPONENT_ARM_DISARM, mav.MAV_CMD_NAV_TAKEOFF
REL = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT


def _ack(s: Served, c: Client, cmd: int, *p: float, target: int = 1) -> int | None:
    c.command(target, cmd, *p)
    s.pump(0.1)
    acks = [m for m in c.of("COMMAND_ACK", c.read()) if m.command == cmd]
    return int(acks[-1].result) if acks else None


def _command_int(s: Served, c: Client, cmd: int, lat: float, lon: float, alt: float, *p: float) -> int | None:
    params = [*p, *[0.0] * (4 - len(p))]
    c.send(c.enc.command_int_encode(1, 1, REL, cmd, 0, 0, *params, int(lat * 1e7), int(lon * 1e7), alt))
    s.pump(0.1)
    acks = [m for m in c.of("COMMAND_ACK", c.read()) if m.command == cmd]
    return int(acks[-1].result) if acks else None


def _upload(s: Served, c: Client, items: list[tuple[int, int, float, float, float, float]],
            mission_type: int = 0, current0: int = 0) -> tuple[int | None, list[str]]:
    """(command, frame, p1, lat, lon, alt) items -> (MISSION_ACK type or None, STATUSTEXTs)."""
    c.send(c.enc.mission_count_encode(1, 1, len(items), mission_type))
    texts: list[str] = []
    for _ in range(400):
        s.pump(0.1)
        got = c.read()
        texts += [m.text for m in c.of("STATUSTEXT", got)]
        acks = c.of("MISSION_ACK", got)
        if acks:
            return int(acks[-1].type), texts
        for req in c.of("MISSION_REQUEST_INT", got):
            cmd, frame, p1, lat, lon, alt = items[req.seq]
            c.send(c.enc.mission_item_int_encode(1, 1, req.seq, frame, cmd, current0 if req.seq == 0 else 0, 1,
                                                 p1, 0, 0, NAN, int(lat * 1e7), int(lon * 1e7), alt, mission_type))
    return None, texts


def _airborne(s: Served, c: Client, alt: float = 10.0) -> None:
    assert _ack(s, c, ARM, 1) == ACCEPTED
    assert _ack(s, c, TAKEOFF, 0, 0, 0, 0, NAN, NAN, 408.0 + alt) == ACCEPTED  # COMMAND_LONG: AMSL
    s.pump(12)
    assert s.sim.world.drones.pos[0, 2] > alt - 1.5


def _north(m: float) -> float:
    return LAT0 + m / M_PER_DEG_LAT


KEEP_OUT_BOX = [(_north(25), 8.5410), (_north(25), 8.5424), (_north(60), 8.5424), (_north(60), 8.5410)]


# -- mission feasibility -----------------------------------------------------------------------------------------

def test_mission_refused_below_ground_and_inside_a_keep_out(served: Any) -> None:
    s = served(1)
    c = s.client()
    fence = [(5002, 0, 4.0, lat, lon, 0.0) for lat, lon in KEEP_OUT_BOX]
    assert _upload(s, c, fence, mission_type=1)[0] == mav.MAV_MISSION_ACCEPTED
    code, texts = _upload(s, c, [(16, REL, 0, _north(10), LON0, -100.0)])
    assert code == mav.MAV_MISSION_INVALID_PARAM7 and any("below the ground" in t for t in texts)
    code, texts = _upload(s, c, [(16, REL, 0, _north(10), LON0, 20.0), (16, REL, 0, _north(40), LON0, 20.0)])
    assert code == mav.MAV_MISSION_DENIED and any("keep-out" in t for t in texts)
    assert s.server.vehicles[0].missions[0] == []  # nothing stored
    code, _ = _upload(s, c, [(16, REL, 0, _north(10), LON0, 20.0), (16, REL, 0, _north(80), LON0, 20.0)])
    assert code == mav.MAV_MISSION_ACCEPTED


def test_mission_refused_outside_a_keep_in_and_above_its_ceiling(served: Any) -> None:
    s = served(1)
    c = s.client()
    box = [(_north(-100), 8.539), (_north(-100), 8.544), (_north(100), 8.544), (_north(100), 8.539)]
    assert _upload(s, c, [(5001, 0, 4.0, lat, lon, 0.0) for lat, lon in box], mission_type=1)[0] == 0
    code, texts = _upload(s, c, [(16, REL, 0, _north(300), LON0, 20.0)])
    assert code == mav.MAV_MISSION_DENIED and any("outside the keep-in" in t for t in texts)
    code, texts = _upload(s, c, [(16, REL, 0, _north(50), LON0, 500.0)])  # GF_MAX_VER_DIST is 120 m
    assert code == mav.MAV_MISSION_DENIED and any("ceiling" in t for t in texts)


# -- invalid positions and parameters in commands ----------------------------------------------------------------

def test_invalid_latitude_and_nan_arm_are_refused(served: Any) -> None:
    s = served(1)
    c = s.client()
    _airborne(s, c)
    home = s.sim.world.drones.home[0].copy()
    assert _command_int(s, c, mav.MAV_CMD_DO_SET_HOME, 200.0, LON0, 0.0, 0) == DENIED
    assert _ack(s, c, mav.MAV_CMD_DO_SET_HOME, 0, 0, 0, 0, 1000.0, LON0, 400.0) == DENIED
    assert _command_int(s, c, mav.MAV_CMD_DO_REPOSITION, 95.0, LON0, 10.0, -1) == DENIED
    assert (s.sim.world.drones.home[0] == home).all()
    assert _ack(s, c, ARM, NAN) == DENIED  # NaN is neither arm nor disarm
    assert s.server.vehicles[0].armed
    assert any("invalid" in m.text for m in c.of("STATUSTEXT"))


def test_reposition_into_a_keep_out_is_refused(served: Any) -> None:
    s = served(1)
    c = s.client()
    fence = [(5002, 0, 4.0, lat, lon, 0.0) for lat, lon in KEEP_OUT_BOX]
    assert _upload(s, c, fence, mission_type=1)[0] == mav.MAV_MISSION_ACCEPTED
    _airborne(s, c)
    assert _command_int(s, c, mav.MAV_CMD_DO_REPOSITION, _north(40), LON0, 10.0, -1) == DENIED
    assert _command_int(s, c, mav.MAV_CMD_DO_REPOSITION, _north(15), LON0, 10.0, -1) == ACCEPTED


def test_below_ground_takeoff_uses_the_takeoff_altitude(served: Any) -> None:
    s = served(1)
    c = s.client()
    assert _ack(s, c, ARM, 1) == ACCEPTED
    assert _ack(s, c, TAKEOFF, 0, 0, 0, 0, NAN, NAN, -50.0) == ACCEPTED
    s.pump(10)
    assert s.sim.world.drones.pos[0, 2] == pytest.approx(2.5, abs=0.5)  # MIS_TAKEOFF_ALT, not 1 m


# -- geofence uploads --------------------------------------------------------------------------------------------

def test_fence_uploads_with_bad_items_are_answered(served: Any) -> None:
    s = served(1)
    c = s.client()
    code, _ = _upload(s, c, [(5004, 0, math.inf, LAT0, LON0, 0.0)], mission_type=1)  # infinite circle
    assert code == mav.MAV_MISSION_INVALID_PARAM1
    code, _ = _upload(s, c, [(5001, 0, 3.0, 95.0, LON0, 0.0), (5001, 0, 3.0, 95.0, 8.6, 0.0),
                             (5001, 0, 3.0, 94.0, 8.6, 0.0)], mission_type=1)
    assert code == mav.MAV_MISSION_INVALID_PARAM5_X
    c.send(c.enc.mission_count_encode(1, 1, 5000, 1))
    s.pump(0.1)
    assert [m.type for m in c.of("MISSION_ACK", c.read())] == [mav.MAV_MISSION_NO_SPACE]


def test_fence_belongs_to_the_vehicle_it_was_uploaded_to(served: Any) -> None:
    s = served(2)
    a, b = s.client(0), s.client(1)
    fence = [(5002, 0, 4.0, lat, lon, 0.0) for lat, lon in KEEP_OUT_BOX]
    assert _upload(s, a, fence, mission_type=1)[0] == mav.MAV_MISSION_ACCEPTED
    assert not s.sim.fences.prisms  # not a scenario fence
    b.target = 2
    assert _ack(s, b, ARM, 1, target=2) == ACCEPTED
    assert _ack(s, b, TAKEOFF, 0, 0, 0, 0, NAN, NAN, 418.0, target=2) == ACCEPTED
    s.pump(12)
    b.send(b.enc.command_int_encode(2, 1, REL, mav.MAV_CMD_DO_REPOSITION, 0, 0, -1, 0, 0, NAN,
                                    int(_north(40) * 1e7), int(LON0 * 1e7), 10.0))
    s.pump(25)
    north_b = s.sim.world.drones.pos[1, 1] - s.sim.world.drones.home[1, 1]
    assert north_b > 35.0  # B flew into A's keep-out: it is not B's fence


def test_maximal_fence_upload_never_stalls_the_tick(served: Any) -> None:
    """256 items (4 polygons of 64 vertices, each ~80 km across): every poll returns within one tick (0.1 s)
    while the geometry is built, and the upload is answered."""
    s = served(1)
    c = s.client()
    items = []
    for k in range(4):
        ring = [(LAT0 + 0.36 * math.sin(2 * math.pi * j / 64) * (1 - 0.1 * k),
                 LON0 + 0.5 * math.cos(2 * math.pi * j / 64) * (1 - 0.1 * k)) for j in range(64)]
        items += [(5001, 0, 64.0, lat, lon, 0.0) for lat, lon in ring]
    c.send(c.enc.mission_count_encode(1, 1, len(items), 1))
    worst, code = 0.0, None
    for _ in range(3000):
        t0 = time.perf_counter()
        s.server.poll(0.0)
        s.sim.step()
        s.server.after_step()
        worst = max(worst, time.perf_counter() - t0)
        got = c.read()
        if c.of("MISSION_ACK", got):
            code = c.of("MISSION_ACK", got)[-1].type
            break
        for req in c.of("MISSION_REQUEST_INT", got):
            cmd, frame, p1, lat, lon, alt = items[req.seq]
            c.send(c.enc.mission_item_int_encode(1, 1, req.seq, frame, cmd, 0, 1, p1, 0, 0, NAN, int(lat * 1e7),
                                                 int(lon * 1e7), alt, 1))
        time.sleep(0.001)
    assert code == mav.MAV_MISSION_ACCEPTED
    assert worst < 0.1, worst
    assert len(s.server.vehicles[0].fence.prisms) == 4


# -- OFFBOARD ----------------------------------------------------------------------------------------------------

def _velocity(c: Client, vn: float, ve: float, vd: float = 0.0) -> None:
    c.send(c.enc.set_position_target_local_ned_encode(0, 1, 1, mav.MAV_FRAME_LOCAL_NED, 0b0000_1111_1100_0111,
                                                      0, 0, 0, vn, ve, vd, 0, 0, 0, 0, 0))


def test_offboard_needs_setpoints_follows_them_and_fails_safe(served: Any) -> None:
    s = served(1)
    c = s.client()
    _airborne(s, c)
    assert _ack(s, c, mav.MAV_CMD_DO_SET_MODE, 1, MAIN_OFFBOARD, 0) == DENIED  # no setpoint stream yet
    d = s.sim.world.drones
    start = d.pos[0].copy()
    _velocity(c, 2.0, 0.0)
    assert _ack(s, c, mav.MAV_CMD_DO_SET_MODE, 1, MAIN_OFFBOARD, 0) == ACCEPTED
    for _ in range(30):  # 3 s of a 10 Hz stream: 2 m/s north
        _velocity(c, 2.0, 0.0)
        s.pump(0.1)
    assert d.vel[0, 1] == pytest.approx(2.0, abs=0.3)
    assert d.pos[0, 1] - start[1] > 3.0
    s.pump(3.0)  # the stream stops: after COM_OF_LOSS_T (1 s) PX4 holds
    texts = [m.text for m in c.of("STATUSTEXT", c.read())]
    assert any("Offboard signal lost" in t for t in texts)
    s.pump(3.0)
    assert abs(d.vel[0, 1]) < 0.3


def test_zero_velocity_setpoint_stops_a_route_following_drone(served: Any) -> None:
    s = served(1, route=True)
    c = s.client()
    s.pump(15)
    d = s.sim.world.drones
    assert math.hypot(*d.vel[0, :2]) > 3.0  # flying its scenario route
    _velocity(c, 0.0, 0.0)
    assert _ack(s, c, mav.MAV_CMD_DO_SET_MODE, 1, MAIN_OFFBOARD, 0) == ACCEPTED
    for _ in range(60):
        _velocity(c, 0.0, 0.0)
        s.pump(0.1)
    assert math.hypot(*d.vel[0, :2]) < 0.3  # stopped where the setpoint says, not back on the route
    held = d.pos[0].copy()
    for _ in range(20):
        _velocity(c, 0.0, 0.0)
        s.pump(0.1)
    assert math.hypot(*(d.pos[0, :2] - held[:2])) < 1.0


def test_guided_flies_single_setpoints_and_stops_a_stale_velocity(served: Any) -> None:
    """ArduPilot-style GUIDED (OFFBOARD sub mode 2): no stream needed; a velocity times out after 3 s."""
    s = served(1)
    c = s.client()
    _airborne(s, c)
    assert _ack(s, c, mav.MAV_CMD_DO_SET_MODE, 1, MAIN_OFFBOARD, 2) == ACCEPTED  # no setpoints yet: holds
    d = s.sim.world.drones
    c.send(c.enc.set_position_target_global_int_encode(0, 1, 1, REL, 0b0000_1111_1111_1000, int(_north(30) * 1e7),
                                                       int(LON0 * 1e7), 10.0, 0, 0, 0, 0, 0, 0, 0, 0))
    s.pump(20)  # one setpoint, no stream
    assert d.pos[0, 1] - d.home[0, 1] == pytest.approx(30.0, abs=2.0)
    c.read()
    _velocity(c, 0.0, 2.0)  # one velocity setpoint: flown for 3 s, then the vehicle stops
    s.pump(2.0)
    assert d.vel[0, 0] == pytest.approx(2.0, abs=0.3)
    s.pump(5.0)
    assert math.hypot(*d.vel[0, :2]) < 0.3
    texts = [m.text for m in c.of("STATUSTEXT", c.read())]
    assert any("timed out" in t for t in texts), texts


# -- modes, parameters, services ---------------------------------------------------------------------------------

def test_base_mode_auto_flag_means_mission(served: Any) -> None:
    s = served(1)
    c = s.client()
    assert _upload(s, c, [(16, REL, 0, _north(20), LON0, 10.0)])[0] == mav.MAV_MISSION_ACCEPTED
    auto = mav.MAV_MODE_FLAG_AUTO_ENABLED | mav.MAV_MODE_FLAG_STABILIZE_ENABLED
    assert _ack(s, c, mav.MAV_CMD_DO_SET_MODE, auto) == ACCEPTED
    assert s.server.vehicles[0].mode == (MAIN_AUTO, SUB_MISSION)


def test_param_set_refusals_are_explicit(served: Any) -> None:
    s = served(1)
    c = s.client()
    c.send(c.enc.param_set_encode(1, 1, b"MPC_XY_CRUISE", -3.0, mav.MAV_PARAM_TYPE_REAL32))
    c.send(c.enc.param_set_encode(1, 1, b"MAV_SYS_ID", 7.0, mav.MAV_PARAM_TYPE_INT32))
    s.pump(0.2)
    errors = {m.param_id: m.error for m in c.of("PARAM_ERROR", c.read())}
    assert errors == {"MPC_XY_CRUISE": mav.MAV_PARAM_ERROR_VALUE_OUT_OF_RANGE,
                      "MAV_SYS_ID": mav.MAV_PARAM_ERROR_READ_ONLY}
    assert any("out of range" in m.text for m in c.of("STATUSTEXT"))
    c.send(c.enc.param_request_list_encode(1, 1))
    s.pump(0.3)
    names = {m.param_id for m in c.of("PARAM_VALUE", c.read())}
    assert {"GF_ACTION", "COM_OF_LOSS_T", "COM_OBL_RC_ACT", "MPC_LAND_SPEED", "COM_RC_IN_MODE"} <= names


def test_ftp_refusal_says_file_not_found(served: Any) -> None:
    s = served(1)
    c = s.client()
    request = [0] * 251
    request[0], request[3] = 7, 4  # sequence 7, OpenFileRO
    c.send(c.enc.file_transfer_protocol_encode(0, 1, 1, request))
    s.pump(0.1)
    reply = bytes(c.of("FILE_TRANSFER_PROTOCOL", c.read())[-1].payload)
    assert reply[0] == 7 and reply[3] == 129 and reply[12] == 10  # NAK, FileNotFound


def test_services_and_streams(served: Any) -> None:
    s = served(1)
    c = s.client()
    c.beat()
    c.send(c.enc.timesync_encode(0, 123456))
    c.send(c.enc.ping_encode(42, 9, 0, 0))
    c.command(1, 519)  # MAV_CMD_REQUEST_PROTOCOL_VERSION
    s.pump(2.1)
    got = c.read()
    ts = c.of("TIMESYNC", got)
    assert ts and ts[0].ts1 == 123456 and ts[0].tc1 != 0
    assert [(p.time_usec, p.seq, p.target_system) for p in c.of("PING", got)] == [(42, 9, 255)]
    assert any(m.get_type() == "UNKNOWN_300" for m in got)  # PROTOCOL_VERSION (not in pymavlink's common set)
    kinds = {m.get_type() for m in got}
    assert {"ATTITUDE_QUATERNION", "LOCAL_POSITION_NED", "ODOMETRY", "ALTITUDE", "SYSTEM_TIME", "SCALED_IMU",
            "SCALED_PRESSURE"} <= kinds


def test_statustext_and_link_survive_a_force_disarm(served: Any) -> None:
    s = served(1)
    c = s.client()
    _airborne(s, c)
    assert _ack(s, c, ARM, 0) == DENIED
    assert any("Disarming denied" in m.text for m in c.of("STATUSTEXT"))
    assert _ack(s, c, ARM, 0, 21196) == ACCEPTED
    c.read()
    s.pump(2.1)
    beats = c.of("HEARTBEAT", c.read())
    assert beats and not beats[-1].base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED  # still reporting, disarmed


def test_mission_started_on_the_ground_takes_off_and_skips_the_wpl_home_line(served: Any) -> None:
    s = served(1)
    c = s.client()
    home_line = (16, mav.MAV_FRAME_GLOBAL_INT, 0, LAT0, LON0, 0.0)  # QGC WPL line 0: home (altitude often 0)
    code, _ = _upload(s, c, [home_line, (16, REL, 0, _north(30), LON0, 15.0)], current0=1)
    assert code == mav.MAV_MISSION_ACCEPTED
    assert _ack(s, c, ARM, 1) == ACCEPTED
    assert _ack(s, c, mav.MAV_CMD_MISSION_START, 0, 0) == ACCEPTED
    d = s.sim.world.drones
    while d.pos[0, 2] < 2.0:  # PX4 takes off vertically first (MIS_TAKEOFF_ALT 2.5 m), then flies the item
        s.pump(0.2)
        assert abs(d.pos[0, 1] - d.home[0, 1]) < 1.0 and s.sim.t < 30
    s.pump(30)
    assert d.pos[0, 2] > 10.0 and d.pos[0, 1] - d.home[0, 1] > 25.0
    c.read()
    reached = {m.seq for m in c.of("MISSION_ITEM_REACHED")}
    assert reached >= {0, 1}


def test_push_each_follows_the_px4_sitl_port_convention(tmp_path: Path) -> None:
    import socket

    from tests.mavlink.conftest import free_ports

    gcs_base = free_ports(2)
    listeners = []
    for k in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", gcs_base + k))
        sock.setblocking(False)
        listeners.append(sock)
    s = Served(tmp_path, 2, push_each=("127.0.0.1", gcs_base))
    try:
        s.pump(1.1)
        dec = mav.MAVLink(None, 0, 0)
        seen = []
        for sock in listeners:
            systems = set()
            while True:
                try:
                    data, _ = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                systems |= {m.get_srcSystem() for m in dec.parse_buffer(data) or []}
            seen.append(systems)
        assert seen == [{1}, {2}]  # vehicle k streams to base + k only, unasked
    finally:
        s.close()
        for sock in listeners:
            sock.close()
