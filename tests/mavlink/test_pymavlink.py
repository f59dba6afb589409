"""A pymavlink ground station: modes, hand-over, parameters, missions, geofence upload, port plan."""

from __future__ import annotations

import math
import struct
import time
from typing import Any

from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.vehicle import MAIN_AUTO, MAIN_MANUAL, MAIN_OFFBOARD, SUB_LOITER, SUB_MISSION

ACCEPTED, DENIED, UNSUPPORTED = 0, 2, 3
LAT0, LON0 = 47.3769, 8.5417


def _mode(hb: Any) -> tuple[int, int]:
    return (hb.custom_mode >> 16) & 0xFF, (hb.custom_mode >> 24) & 0xFF


def _speed(g: Any) -> float:
    g.drain()
    p = g.recv("GLOBAL_POSITION_INT")
    return math.hypot(p.vx, p.vy) / 100.0


def _upload(g: Any, items: list[tuple[int, int, float, float, float, float]], mission_type: int = 0) -> int:
    """(command, frame, p1, lat, lon, alt) items; returns the MISSION_ACK type."""
    g.conn.mav.mission_count_send(g.target, 1, len(items), mission_type)
    while True:
        req = g.recv("MISSION_REQUEST_INT", 5.0)
        ack = None if req is not None else g.recv("MISSION_ACK", 0.5)
        if ack is not None:
            return int(ack.type)
        assert req is not None, "upload stalled"
        cmd, frame, p1, lat, lon, alt = items[req.seq]
        g.conn.mav.mission_item_int_send(g.target, 1, req.seq, frame, cmd, 0, 1, p1, 0, 0, math.nan,
                                         int(lat * 1e7), int(lon * 1e7), alt, mission_type)
        if req.seq == len(items) - 1:
            ack = g.recv("MISSION_ACK", 5.0)
            assert ack is not None
            return int(ack.type)


def test_modes_params_and_mission_list(serve: Any, gcs: Any) -> None:
    server = serve(2, "--speed", "4")
    g = gcs(server.base)
    hb = g.recv("HEARTBEAT")
    assert hb.autopilot == mav.MAV_AUTOPILOT_PX4 and hb.type == mav.MAV_TYPE_QUADROTOR
    assert not hb.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED  # a drone without a route waits on the pad, disarmed

    # commands: refusals carry the right result
    assert g.command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, math.nan) == DENIED  # not armed
    assert g.mode(MAIN_MANUAL) == DENIED  # no sticks in a simulation
    assert g.mode(MAIN_AUTO, SUB_MISSION) == DENIED  # no mission yet
    assert g.command(31999) == UNSUPPORTED
    assert g.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == ACCEPTED
    assert g.command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, math.nan) == ACCEPTED
    assert g.recv("GLOBAL_POSITION_INT", 20, lambda m: m.relative_alt > 2000) is not None  # MIS_TAKEOFF_ALT 2.5 m
    assert g.recv("HEARTBEAT", 10, lambda m: _mode(m) == (MAIN_AUTO, SUB_LOITER)) is not None
    assert g.mode(MAIN_AUTO, SUB_LOITER) == ACCEPTED

    # parameters: list, read, write, range and read-only checks
    g.conn.mav.param_request_list_send(g.target, 1)
    names: dict[str, Any] = {}
    while (p := g.recv("PARAM_VALUE", 2.0)) is not None:
        names[p.param_id] = p
    assert {"MPC_XY_CRUISE", "MIS_TAKEOFF_ALT", "RTL_RETURN_ALT", "MAV_SYS_ID"} <= set(names)
    assert len(names) == names["MPC_XY_CRUISE"].param_count
    sysid = names["MAV_SYS_ID"]
    assert sysid.param_type == mav.MAV_PARAM_TYPE_INT32
    assert struct.unpack("<i", struct.pack("<f", sysid.param_value))[0] == 1  # PX4 byte-wise integer
    g.conn.mav.param_request_read_send(g.target, 1, b"RTL_RETURN_ALT", -1)
    assert g.recv("PARAM_VALUE", 5, lambda m: m.param_id == "RTL_RETURN_ALT").param_value == 60.0
    g.conn.mav.param_set_send(g.target, 1, b"MPC_XY_CRUISE", 7.5, mav.MAV_PARAM_TYPE_REAL32)
    assert g.recv("PARAM_VALUE", 5, lambda m: m.param_id == "MPC_XY_CRUISE").param_value == 7.5
    g.conn.mav.param_set_send(g.target, 1, b"MPC_XY_CRUISE", -3.0, mav.MAV_PARAM_TYPE_REAL32)  # out of range
    assert g.recv("PARAM_VALUE", 5, lambda m: m.param_id == "MPC_XY_CRUISE").param_value == 7.5
    g.conn.mav.param_request_read_send(g.target, 1, b"", 1)  # by index
    assert g.recv("PARAM_VALUE", 5, lambda m: m.param_index == 1) is not None

    # mission: upload, list it back, fly it in AUTO_MISSION, clear
    wps = [(16, 6, 0.0, 47.37705, 8.5417, 10.0), (178, 2, 1.0, 0.0, 0.0, 0.0), (16, 6, 0.0, 47.3772, 8.5417, 12.0)]
    wps[1] = (178, 2, 1.0, 0.0, 0.0, 0.0)
    assert _upload(g, wps) == mav.MAV_MISSION_ACCEPTED
    g.conn.mav.mission_request_list_send(g.target, 1, 0)
    assert g.recv("MISSION_COUNT").count == 3
    g.conn.mav.mission_request_int_send(g.target, 1, 2, 0)
    item = g.recv("MISSION_ITEM_INT")
    assert (item.seq, item.command, item.x, item.y, item.z) == (2, 16, int(47.3772 * 1e7), int(8.5417 * 1e7), 12.0)
    g.conn.mav.mission_ack_send(g.target, 1, 0, 0)
    assert g.mode(MAIN_AUTO, SUB_MISSION) == ACCEPTED
    reached = [g.recv("MISSION_ITEM_REACHED", 30, lambda m, k=k: m.seq == k) for k in range(3)]
    assert all(r is not None for r in reached)
    assert g.recv("HEARTBEAT", 10, lambda m: _mode(m) == (MAIN_AUTO, SUB_LOITER)) is not None  # PX4 holds after
    g.conn.mav.mission_clear_all_send(g.target, 1, 0)
    assert g.recv("MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED
    g.conn.mav.mission_request_list_send(g.target, 1, 0)
    assert g.recv("MISSION_COUNT").count == 0

    assert g.command(mav.MAV_CMD_NAV_LAND) == ACCEPTED
    assert g.recv("HEARTBEAT", 30, lambda m: not m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED) is not None
    summary = server.stop()
    assert summary["mavlink_commands_rejected"] >= 4
    assert summary["mavlink_handler_errors"] == 0


def test_out_of_order_mission_items_are_rerequested(serve: Any, gcs: Any) -> None:
    server = serve(1, "--speed", "2")
    g = gcs(server.base)
    g.conn.mav.mission_count_send(g.target, 1, 2, 0)
    assert g.recv("MISSION_REQUEST_INT").seq == 0
    g.conn.mav.mission_item_int_send(g.target, 1, 1, 6, 16, 0, 1, 0, 0, 0, 0, int(LAT0 * 1e7), int(LON0 * 1e7), 5, 0)
    assert g.recv("MISSION_REQUEST_INT").seq == 0  # wrong seq: asked again for item 0
    g.conn.mav.mission_item_int_send(g.target, 1, 0, 12, 16, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0)  # MAV_FRAME_LOCAL_ENU
    assert g.recv("MISSION_ACK").type == mav.MAV_MISSION_UNSUPPORTED_FRAME
    assert server.stop()["mavlink_protocol_drops"] >= 1


def test_swarm_mode_hand_over(serve: Any, gcs: Any) -> None:
    """OFFBOARD = the scenario route / swarm autonomy flies; any other mode hands control to the ground station."""
    server = serve(1, "--speed", "2", route=True)
    g = gcs(server.base)
    hb = g.recv("HEARTBEAT")
    assert _mode(hb)[0] == MAIN_OFFBOARD and hb.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED
    assert g.recv("GLOBAL_POSITION_INT", 30, lambda m: math.hypot(m.vx, m.vy) > 300) is not None  # flying its route
    assert g.mode(MAIN_AUTO, SUB_LOITER) == ACCEPTED  # ground station takes over: hold
    assert g.recv("GLOBAL_POSITION_INT", 30, lambda m: math.hypot(m.vx, m.vy) < 30) is not None  # it stops
    g.drain()
    p0 = g.recv("GLOBAL_POSITION_INT")
    time.sleep(1.0)
    g.drain()
    p1 = g.recv("GLOBAL_POSITION_INT")
    assert abs(p1.lat - p0.lat) < 20  # held within ~2 m
    assert g.mode(MAIN_OFFBOARD) == ACCEPTED  # hand back to the swarm: the route resumes
    assert g.recv("GLOBAL_POSITION_INT", 20, lambda m: math.hypot(m.vx, m.vy) > 300) is not None
    assert server.stop()["mavlink_handler_errors"] == 0


def test_geofence_upload_becomes_a_skyhive_fence(serve: Any, gcs: Any) -> None:
    server = serve(1, "--speed", "4")
    g = gcs(server.base)
    # a keep-out block from 25 m to 60 m north of the pad
    box = [(47.37712, 8.5410), (47.37712, 8.5424), (47.37744, 8.5424), (47.37744, 8.5410)]
    fence = [(5002, 0, 4.0, lat, lon, 0.0) for lat, lon in box]
    assert _upload(g, fence, mission_type=1) == mav.MAV_MISSION_ACCEPTED
    assert g.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == ACCEPTED
    assert g.command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, math.nan) == ACCEPTED
    assert g.recv("GLOBAL_POSITION_INT", 20, lambda m: m.relative_alt > 2000) is not None
    time.sleep(1.0)
    # ask to go 100 m north, through the fence: the safety filter stops it at the boundary
    assert g.command(mav.MAV_CMD_DO_REPOSITION, -1, 0, 0, math.nan, 47.37780, LON0, 410.5) == ACCEPTED
    g.drain()
    north_max, stopped = 0.0, None
    deadline = time.time() + 40
    while time.time() < deadline and stopped is None:
        p = g.recv("GLOBAL_POSITION_INT")
        north = (p.lat / 1e7 - LAT0) * 111_195
        north_max = max(north_max, north)
        if north > 5.0 and math.hypot(p.vx, p.vy) < 20:
            stopped = north
    assert stopped is not None, north_max  # moved towards the fence and stopped
    assert north_max < 24.4, north_max  # never reached the keep-out block (its edge is 24.5 m north)
    summary = server.stop()
    assert summary["mavlink_fences_uploaded"] == 1
    assert summary["geofence_breach_events"] == 0


def test_several_vehicles_per_port(serve: Any, gcs: Any) -> None:
    server = serve(3, "--per-port", "3", "--speed", "2", ports=1)
    seen: set[int] = set()
    g = gcs(server.base)
    deadline = time.time() + 10
    while time.time() < deadline and len(seen) < 3:
        m = g.conn.recv_match(type="HEARTBEAT", blocking=True, timeout=0.5)
        if m is not None:
            seen.add(m.get_srcSystem())
    assert seen == {1, 2, 3}
    g.target = 3
    assert g.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == ACCEPTED
    assert g.recv("HEARTBEAT", 5, lambda m: m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED) is not None
    g.target = 1
    assert g.recv("HEARTBEAT", 5, lambda m: not m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED) is not None
    server.stop()
