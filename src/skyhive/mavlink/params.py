"""The vehicle parameter set: real PX4 names, PX4 defaults, and which of them the simulation honours.

Floats are MAV_PARAM_TYPE_REAL32; integers are MAV_PARAM_TYPE_INT32 sent with PX4's
byte-wise encoding (the int's four bytes in the float field), which MAVSDK expects
from a PX4 autopilot and AUTOPILOT_VERSION announces.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

REAL32 = 9
INT32 = 6


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    lo: float
    hi: float
    kind: int = REAL32
    writable: bool = True
    doc: str = ""


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("MIS_TAKEOFF_ALT", 2.5, 0.0, 1000.0, doc="takeoff altitude above home, m (NAV_TAKEOFF without altitude)"),
    ParamSpec("MPC_XY_CRUISE", 5.0, 0.5, 60.0, doc="default horizontal speed in missions, goto and RTL, m/s"),
    ParamSpec("MPC_XY_VEL_MAX", 12.0, 0.5, 60.0, doc="upper bound on commanded horizontal speed, m/s"),
    ParamSpec("MPC_Z_VEL_MAX_UP", 3.0, 0.5, 30.0, doc="climb rate under ground-station control, m/s"),
    ParamSpec("MPC_Z_VEL_MAX_DN", 1.5, 0.5, 30.0, doc="descent rate under ground-station control, m/s"),
    ParamSpec("MPC_TKO_SPEED", 1.5, 0.5, 30.0, doc="takeoff climb rate, m/s"),
    ParamSpec("NAV_ACC_RAD", 10.0, 0.05, 200.0, doc="default horizontal acceptance radius of mission items, m"),
    ParamSpec("NAV_MC_ALT_RAD", 0.8, 0.05, 10.0, doc="vertical acceptance radius of mission items, m"),
    ParamSpec("RTL_RETURN_ALT", 60.0, 0.0, 1000.0, doc="climb to this height above home before returning, m"),
    ParamSpec("GF_MAX_VER_DIST", 120.0, 1.0, 10000.0, doc="ceiling of geofences uploaded over MAVLink, m"),
    ParamSpec("GF_ACTION", 2, 0, 5, INT32, doc="own-geofence breach: 0 none, 1 warn, 2 hold, 3 return, 5 land"),
    ParamSpec("COM_OF_LOSS_T", 1.0, 0.0, 60.0, doc="OFFBOARD setpoint timeout before the failsafe, s"),
    ParamSpec("COM_OBL_RC_ACT", 0, 0, 5, INT32, doc="OFFBOARD loss action: 3 return, 4 land, otherwise hold"),
    ParamSpec("MAV_SYS_ID", 1, 1, 255, INT32, False, "this vehicle's system id (read-only: set by the port plan)"),
    # PX4 parameters ground stations and scripts read or set; stored and reported, not used by the simulation
    ParamSpec("MPC_LAND_SPEED", 0.7, 0.6, 10.0, doc="landing descent rate, m/s (stored only)"),
    ParamSpec("MPC_ACC_HOR", 3.0, 2.0, 15.0, doc="horizontal acceleration, m/s^2 (stored only)"),
    ParamSpec("RTL_DESCEND_ALT", 30.0, 2.0, 100.0, doc="RTL descent altitude, m (stored only)"),
    ParamSpec("RTL_LAND_DELAY", 0.0, -1.0, 300.0, doc="RTL hover before landing, s (stored only)"),
    ParamSpec("GF_MAX_HOR_DIST", 0.0, 0.0, 10000.0, doc="maximum distance from home, m (stored only)"),
    ParamSpec("NAV_DLL_ACT", 0, 0, 6, INT32, doc="data link loss action (stored only)"),
    ParamSpec("NAV_RCL_ACT", 2, 0, 6, INT32, doc="RC loss action (stored only)"),
    ParamSpec("COM_RC_IN_MODE", 1, 0, 4, INT32, doc="RC input mode; 4 = no RC (stored only)"),
    ParamSpec("COM_DISARM_LAND", 2.0, -1.0, 20.0, doc="disarm delay after landing, s (stored only)"),
    ParamSpec("COM_ARM_WO_GPS", 1, 0, 1, INT32, doc="allow arming without GPS (stored only)"),
    ParamSpec("BAT_LOW_THR", 0.15, 0.12, 0.5, doc="low battery threshold (stored only)"),
    ParamSpec("BAT_CRIT_THR", 0.07, 0.05, 0.5, doc="critical battery threshold (stored only)"),
    ParamSpec("SYS_HAS_MAG", 1, 0, 1, INT32, doc="magnetometer present (stored only)"),
    ParamSpec("MAV_PROTO_VER", 2, 0, 2, INT32, False, "MAVLink protocol version (read-only)"),
    ParamSpec("MAV_TYPE", 2, 0, 255, INT32, False, "MAV_TYPE_QUADROTOR (read-only)"),
    ParamSpec("SYS_AUTOSTART", 4001, 0, 9999999, INT32, False, "PX4 airframe id, generic quadcopter (read-only)"),
)
INDEX = {p.name: k for k, p in enumerate(PARAMS)}


def encode(value: float, kind: int) -> float:
    """The float carried in PARAM_VALUE.param_value (byte-wise for integers)."""
    if kind == INT32:
        return float(struct.unpack("<f", struct.pack("<i", int(value)))[0])
    return float(value)


def decode(raw: float, kind: int) -> float | None:
    """Value from PARAM_SET.param_value; None if it is not a finite number of that type."""
    if kind == INT32:
        try:
            return float(struct.unpack("<i", struct.pack("<f", raw))[0])
        except (struct.error, OverflowError):
            return None
    return float(raw) if math.isfinite(raw) else None


class ParamStore:
    """One vehicle's values, index-aligned with ``PARAMS``."""

    def __init__(self, sysid: int) -> None:
        self.values = [p.default for p in PARAMS]
        self.values[INDEX["MAV_SYS_ID"]] = float(sysid)
        self.sets = 0
        self.rejected = 0

    def __getitem__(self, name: str) -> float:
        return self.values[INDEX[name]]

    def set(self, name: str, raw: float, kind: int) -> bool:
        """Apply a PARAM_SET; False (value unchanged) if unknown, read-only, of the wrong type or out of range."""
        k = INDEX.get(name)
        if k is None:
            self.rejected += 1
            return False
        spec = PARAMS[k]
        value = decode(raw, spec.kind if kind not in (INT32, REAL32) else kind)
        if not spec.writable or value is None or not spec.lo <= value <= spec.hi:
            self.rejected += 1
            return False
        self.values[k] = value
        self.sets += 1
        return True
