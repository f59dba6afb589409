"""In process: ground-station intents go through the core safety filter; RTL, landing and failsafe precedence."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.server import MavlinkServer, ServeOptions
from skyhive.mavlink.vehicle import LOITER, RTL, SWARM, Vehicle
from skyhive.scenario.load import load_scenario
from skyhive.sim import Simulation
from skyhive.world.world import DroneStatus
from tests.mavlink.conftest import SCENARIO, free_ports

NAN = float("nan")


@pytest.fixture
def world(tmp_path: Path) -> Any:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(count=2, route=""))
    sim = Simulation(load_scenario(path), base_dir=tmp_path)
    server = MavlinkServer(sim, np.arange(2), ServeOptions(base_port=free_ports(2)), time.monotonic)
    yield sim, server
    server.close()


def _run(sim: Simulation, server: MavlinkServer, seconds: float) -> None:
    for _ in range(round(seconds / sim.dt)):
        sim.step()
        server.after_step()


def _cmd(v: Vehicle, cmd: int, *p: float) -> int:
    return v._run_command(cmd, [*p, *[NAN] * (7 - len(p))], mav.MAV_FRAME_GLOBAL_RELATIVE_ALT)


def test_safety_filter_still_guards_ground_station_commands(world: Any) -> None:
    sim, server = world
    a, b = server.vehicles
    for v in (a, b):
        assert _cmd(v, mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
        assert _cmd(v, mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, NAN, NAN, 10.0) == 0
    _run(sim, server, 15)
    assert a.mode == LOITER and abs(sim.world.drones.pos[0, 2] - 10.0) < 1.0
    # both sent to the very same point: the separation barrier keeps them apart
    lat, lon, _ = sim.frame.geodetic(np.array([7.5, 30.0, 0.0]))
    for v in (a, b):
        assert _cmd(v, mav.MAV_CMD_DO_REPOSITION, -1, 0, 0, NAN, float(lat), float(lon), 10.0) == 0
    _run(sim, server, 30)
    d = sim.world.drones
    gap = float(np.linalg.norm(d.pos[0] - d.pos[1]))
    assert gap >= 0.9 * sim.scenario.safety.separation_m
    assert sim.metrics["loss_of_separation_events"] == 0
    mid = d.pos.mean(axis=0)
    assert np.hypot(mid[0] - 7.5, mid[1] - 30.0) < 3.0  # both went there, side by side


def test_rtl_climbs_returns_lands_and_disarms(world: Any) -> None:
    sim, server = world
    v = server.vehicles[0]
    v.params.set("RTL_RETURN_ALT", 15.0, 9)
    _cmd(v, mav.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    _cmd(v, mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, NAN, NAN, 8.0)
    _run(sim, server, 10)
    lat, lon, _ = sim.frame.geodetic(np.array([40.0, 40.0, 0.0]))
    _cmd(v, mav.MAV_CMD_DO_REPOSITION, -1, 0, 0, NAN, float(lat), float(lon), 8.0)
    _run(sim, server, 25)
    d = sim.world.drones
    assert np.hypot(d.pos[0, 0] - 40, d.pos[0, 1] - 40) < 2.0
    assert _cmd(v, mav.MAV_CMD_NAV_RETURN_TO_LAUNCH) == 0
    top = 0.0
    for _ in range(120):
        _run(sim, server, 1)
        top = max(top, float(d.pos[0, 2]))
        if d.status[0] == DroneStatus.LANDED:
            break
    assert top > 14.0  # climbed to RTL_RETURN_ALT first
    assert d.status[0] == DroneStatus.LANDED and not v.armed
    assert np.hypot(*(d.pos[0, :2] - d.home[0, :2])) < 1.5
    assert v.mode == LOITER


def test_battery_failsafe_wins_over_the_ground_station(world: Any) -> None:
    sim, server = world
    v = server.vehicles[0]
    _cmd(v, mav.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    _cmd(v, mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, NAN, NAN, 10.0)
    _run(sim, server, 10)
    d = sim.world.drones
    d.battery_wh[0] = 0.1 * d.capacity_wh[0]  # below the 20 % reserve
    _run(sim, server, 1)
    assert d.status[0] == DroneStatus.RETURNING
    assert v.reported_mode() == RTL  # the heartbeat shows the failsafe's mode
    lat, lon, _ = sim.frame.geodetic(np.array([80.0, 0.0, 0.0]))
    _cmd(v, mav.MAV_CMD_DO_REPOSITION, -1, 0, 0, NAN, float(lat), float(lon), 10.0)
    x0 = float(d.pos[0, 0])
    _run(sim, server, 5)
    assert float(d.pos[0, 0]) <= x0 + 0.5  # the reposition does not pull it away from home


def test_disarm_refused_in_the_air_unless_forced(world: Any) -> None:
    sim, server = world
    v = server.vehicles[1]
    assert v.mode == LOITER and not v.armed
    _cmd(v, mav.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    _cmd(v, mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, NAN, NAN, 5.0)
    _run(sim, server, 8)
    assert _cmd(v, mav.MAV_CMD_COMPONENT_ARM_DISARM, 0) == 2  # DENIED
    assert _cmd(v, mav.MAV_CMD_COMPONENT_ARM_DISARM, 0, 21196) == 0  # forced: motors off, the drone is lost
    assert sim.world.drones.status[1] == DroneStatus.FAILED
    assert v.set_mode(*SWARM) == 4  # FAILED: a lost drone takes no mode
