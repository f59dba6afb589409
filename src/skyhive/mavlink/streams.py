"""The telemetry streams MAVSDK and QGroundControl read beyond the core set, built from the point-mass state.

PX4 sends these on a normal link; a point-mass model has no IMU, barometer or
estimator, so the values are what an ideal sensor would read: attitude from the
velocity-derived roll, pitch and yaw; local position and velocity relative to
home (PX4's local origin); accelerometer 1 g up plus nothing else; barometric
pressure from the ISA standard atmosphere at the AMSL altitude.  Rates: see
``STREAMS`` in ``vehicle.py`` (a ground station changes them with
SET_MESSAGE_INTERVAL).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

if TYPE_CHECKING:
    from skyhive.sim import Simulation

EXTRA_STREAMS: dict[int, float] = {  # message id -> default interval, s
    mav.MAVLINK_MSG_ID_ATTITUDE_QUATERNION: 0.2,
    mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED: 0.2,
    mav.MAVLINK_MSG_ID_ODOMETRY: 1.0,
    mav.MAVLINK_MSG_ID_ALTITUDE: 1.0,
    mav.MAVLINK_MSG_ID_SYSTEM_TIME: 1.0,
    mav.MAVLINK_MSG_ID_SCALED_IMU: 1.0,
    mav.MAVLINK_MSG_ID_SCALED_PRESSURE: 1.0,
}
UNKNOWN_COVARIANCE = [math.nan] + [0.0] * 20  # MAVLink: NaN in the first element = covariance unknown
ISA_T0, ISA_P0 = 288.15, 1013.25  # K, hPa


def quaternion(roll: float, pitch: float, yaw: float) -> list[float]:
    """(w, x, y, z) of the aerospace ZYX rotation (yaw from north, clockwise)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return [cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy]


def quaternions(roll: Any, pitch: Any, yaw: Any) -> Any:
    """``quaternion`` for arrays of angles: (n, 4) array of (w, x, y, z)."""
    cr, sr = np.cos(roll / 2), np.sin(roll / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    return np.stack([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy], axis=1)


def isa_pressure_hpa(alt_amsl_m: float) -> float:
    return ISA_P0 * (1.0 - 0.0065 * alt_amsl_m / ISA_T0) ** 5.25588


def build_extra_stream(msg_id: int, v: Any, sim: Simulation, boot_ms: int, alt: float, vel: Any, yaw: float,
                       pitch: float, roll: float) -> Any | None:
    """The message ``msg_id`` of ``EXTRA_STREAMS`` for vehicle ``v``; None for any other id."""
    if msg_id not in EXTRA_STREAMS:
        return None
    m, d, i = v.mav, sim.world.drones, v.i
    rel = d.pos[i] - d.home[i]
    north, east, down = float(rel[1]), float(rel[0]), -float(rel[2])
    vn, ve, vd = float(vel[1]), float(vel[0]), -float(vel[2])
    if msg_id == mav.MAVLINK_MSG_ID_ATTITUDE_QUATERNION:
        w, x, y, z = quaternion(roll, pitch, yaw)
        return m.attitude_quaternion_encode(boot_ms, w, x, y, z, 0.0, 0.0, 0.0)
    if msg_id == mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED:
        return m.local_position_ned_encode(boot_ms, north, east, down, vn, ve, vd)
    if msg_id == mav.MAVLINK_MSG_ID_ODOMETRY:
        cy, sy = math.cos(yaw), math.sin(yaw)  # velocity in the body frame (forward, right, down), level flight
        return m.odometry_encode(boot_ms * 1000, mav.MAV_FRAME_LOCAL_NED, mav.MAV_FRAME_BODY_FRD, north, east, down,
                                 quaternion(roll, pitch, yaw), vn * cy + ve * sy, -vn * sy + ve * cy, vd,
                                 0.0, 0.0, 0.0, UNKNOWN_COVARIANCE, UNKNOWN_COVARIANCE, 0,
                                 mav.MAV_ESTIMATOR_TYPE_NAIVE, 100)
    if msg_id == mav.MAVLINK_MSG_ID_ALTITUDE:
        height = float(d.pos[i, 2])
        return m.altitude_encode(boot_ms * 1000, float(alt), float(alt), -down, -down, height, height)
    if msg_id == mav.MAVLINK_MSG_ID_SYSTEM_TIME:
        return m.system_time_encode(int(time.time() * 1e6), boot_ms)
    if msg_id == mav.MAVLINK_MSG_ID_SCALED_IMU:
        return m.scaled_imu_encode(boot_ms, 0, 0, -1000, 0, 0, 0, 200, 0, 400, 2000)
    return m.scaled_pressure_encode(boot_ms, isa_pressure_hpa(float(alt)), 0.0, 2000)


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
    **EXTRA_STREAMS,
}
