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
    ParamSpec("MAV_SYS_ID", 1, 1, 255, INT32, False, "this vehicle's system id (read-only: set by the port plan)"),
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
