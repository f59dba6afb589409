"""The simulated world as struct-of-arrays: a drone is an index, never an object."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]


class DroneStatus(IntEnum):
    """Life cycle of one drone (stored as uint8 in ``DroneState.status``)."""

    ACTIVE = 0  # flying (or on the pad) under its intent
    RETURNING = 1  # return-to-launch at battery reserve
    LANDING = 2  # descending in place (battery empty or commanded)
    LANDED = 3  # on the ground, motors off
    FAILED = 4  # lost: no motion, no radio, no decisions


@dataclass
class DroneState:
    """All drones of all fleets, one row each (positions in ENU metres)."""

    pos: F64
    vel: F64
    home: F64
    intent_vel: F64
    cmd_vel: F64
    status: NDArray[np.uint8]
    fleet: NDArray[np.int16]
    battery_wh: F64
    capacity_wh: F32
    reserve_frac: F32
    max_h_speed: F32
    max_climb: F32
    max_descent: F32
    max_accel: F32
    tau: F32
    hover_power_w: F32
    drag_power_coef: F32
    climb_power_coef: F32
    distance_m: F64

    @property
    def n(self) -> int:
        return int(self.pos.shape[0])

    @property
    def flying(self) -> NDArray[np.bool_]:
        return self.status <= DroneStatus.LANDING

    @property
    def alive(self) -> NDArray[np.bool_]:
        return self.status != DroneStatus.FAILED

    @classmethod
    def empty(cls, n: int) -> DroneState:
        def f64(*shape: int) -> F64:
            return np.zeros(shape, dtype=np.float64)

        def f32() -> F32:
            return np.zeros(n, dtype=np.float32)

        return cls(
            pos=f64(n, 3), vel=f64(n, 3), home=f64(n, 3), intent_vel=f64(n, 3), cmd_vel=f64(n, 3),
            status=np.zeros(n, dtype=np.uint8), fleet=np.zeros(n, dtype=np.int16),
            battery_wh=f64(n), capacity_wh=f32(), reserve_frac=f32(), max_h_speed=f32(), max_climb=f32(),
            max_descent=f32(), max_accel=f32(), tau=f32(), hover_power_w=f32(), drag_power_coef=f32(),
            climb_power_coef=f32(), distance_m=f64(n),
        )

    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in self.__dataclass_fields__)


@dataclass
class MannedState:
    """Manned vehicles (aircraft or ground) flying fixed waypoint routes."""

    names: list[str]
    is_aircraft: NDArray[np.bool_]
    pos: F64
    vel: F64
    routes: list[F64]  # per vehicle (W, 3) ENU waypoints
    speeds: F64  # (M,) m/s
    leg: NDArray[np.int64]  # index of the waypoint being flown to
    loop: NDArray[np.bool_]

    @property
    def m(self) -> int:
        return len(self.names)

    @classmethod
    def empty(cls) -> MannedState:
        return cls([], np.zeros(0, bool), np.zeros((0, 3)), np.zeros((0, 3)), [], np.zeros(0),
                   np.zeros(0, np.int64), np.zeros(0, bool))


@dataclass
class World:
    """Everything that exists in the simulation at time ``t``."""

    drones: DroneState
    manned: MannedState = field(default_factory=MannedState.empty)
    t: float = 0.0
