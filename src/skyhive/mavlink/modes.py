"""PX4 flight modes and MAVLink command results, shared by the vehicle's protocol parts."""

from __future__ import annotations

import math

# PX4 custom modes (px4_custom_mode.h): main mode in bits 16-23, sub mode in bits 24-31 of custom_mode
MAIN_MANUAL, MAIN_ALTCTL, MAIN_POSCTL, MAIN_AUTO, MAIN_ACRO, MAIN_OFFBOARD, MAIN_STABILIZED = 1, 2, 3, 4, 5, 6, 7
SUB_READY, SUB_TAKEOFF, SUB_LOITER, SUB_MISSION, SUB_RTL, SUB_LAND = 1, 2, 3, 4, 5, 6
SUB_SWARM = 1  # under main mode OFFBOARD, which has no sub modes on PX4
OFFBOARD = (MAIN_OFFBOARD, 0)  # PX4 OFFBOARD: the ground station's setpoints fly (offboard.py)
SWARM = (MAIN_OFFBOARD, SUB_SWARM)  # skyhive: the scenario route / swarm autonomy flies
SUB_GUIDED = 2
GUIDED = (MAIN_OFFBOARD, SUB_GUIDED)  # skyhive: ArduPilot-style GUIDED, single setpoints without a stream
LOITER = (MAIN_AUTO, SUB_LOITER)
TAKEOFF = (MAIN_AUTO, SUB_TAKEOFF)
MISSION = (MAIN_AUTO, SUB_MISSION)
RTL = (MAIN_AUTO, SUB_RTL)
LAND = (MAIN_AUTO, SUB_LAND)
MODE_NAMES = {SWARM: "OFFBOARD (swarm)", OFFBOARD: "OFFBOARD", GUIDED: "GUIDED (ArduPilot-style)",
              LOITER: "AUTO_LOITER", TAKEOFF: "AUTO_TAKEOFF",
              MISSION: "AUTO_MISSION", RTL: "AUTO_RTL", LAND: "AUTO_LAND", (MAIN_POSCTL, 0): "POSCTL",
              (MAIN_ALTCTL, 0): "ALTCTL"}

ACCEPTED, TEMP_REJECTED, DENIED, UNSUPPORTED, FAILED = 0, 1, 2, 3, 4


def valid_latlon(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def as_int(x: float, default: int = -1) -> int:
    """An integer command parameter sent as a float; ``default`` for NaN, infinities and absurd sizes."""
    return int(x) if math.isfinite(x) and abs(x) < 2**31 else default
