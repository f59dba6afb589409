"""MAVSDK (4.x, unchanged PX4 scripts): Offboard flies a square; PX4 SITL's port convention (``udpin://``)."""

from __future__ import annotations

import asyncio
import math
import socket
from typing import Any

import pytest

from tests.mavlink.conftest import free_ports

SQUARE = [(0.0, 0.0), (20.0, 0.0), (20.0, 20.0), (0.0, 20.0), (0.0, 0.0)]  # north, east, m from home
ALT = 10.0


async def _fly_square(system: Any) -> list[tuple[float, float, float]]:
    """The PX4 offboard example, position variant: returns the position reached at each corner."""
    from mavsdk.asyncio.plugins.action import ActionAsync
    from mavsdk.asyncio.plugins.offboard import OffboardAsync, PositionNedYaw
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

    action, offboard, telemetry = ActionAsync(system), OffboardAsync(system), TelemetryAsync(system)
    async for health in telemetry.subscribe_health():
        if health.is_global_position_ok and health.is_home_position_ok:
            break
    await action.arm()
    await offboard.set_position_ned(PositionNedYaw(0.0, 0.0, -ALT, 0.0))
    await offboard.start()
    reached = []
    for north, east in SQUARE:
        await offboard.set_position_ned(PositionNedYaw(north, east, -ALT, 0.0))
        async for pv in telemetry.subscribe_position_velocity_ned():
            p = pv.position
            if math.hypot(p.north_m - north, p.east_m - east) < 1.0 and abs(-p.down_m - ALT) < 1.0:
                reached.append((p.north_m, p.east_m, -p.down_m))
                break
    await offboard.stop()
    await action.land()
    return reached


def test_mavsdk_offboard_flies_a_square(serve: Any) -> None:
    pytest.importorskip("mavsdk.asyncio", reason="MAVSDK-Python 4.x (pip install mavsdk) is not installed")
    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk

    server = serve(1, "--speed", "4")

    async def main() -> list[tuple[float, float, float]]:
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        async with Mavsdk(config) as mavsdk:
            await mavsdk.add_any_connection(f"udpout://127.0.0.1:{server.base}")
            system = await mavsdk.first_autopilot(timeout_s=20.0)
            assert system is not None
            return await _fly_square(system)

    reached = asyncio.run(asyncio.wait_for(main(), 120))
    summary = server.stop()
    assert len(reached) == len(SQUARE)
    assert summary["mavlink_handler_errors"] == 0


def test_px4_sitl_port_convention_with_udpin(serve: Any) -> None:
    """``skyhive serve --push-each 127.0.0.1:P`` = PX4 SITL: vehicle k streams to P+k, so a MAVSDK script written
    for PX4 (``udpin://0.0.0.0:P``, the first autopilot it hears) finds vehicle 0 alone, and flies it.
    (P is 14540 for PX4; the test takes free ports so it can run beside other tests.)"""
    pytest.importorskip("mavsdk.asyncio", reason="MAVSDK-Python 4.x (pip install mavsdk) is not installed")
    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

    gcs_port = free_ports(3)
    held = []  # keep the ground-station ports taken until the server has picked its own
    for k in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", gcs_port + k))
        held.append(sock)
    server = serve(3, "--speed", "4", "--push-each", f"127.0.0.1:{gcs_port}")
    for sock in held:
        sock.close()

    async def main() -> tuple[int, list[tuple[float, float, float]]]:
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        async with Mavsdk(config) as mavsdk:
            await mavsdk.add_any_connection(f"udpin://0.0.0.0:{gcs_port + 1}")  # PX4 instance 1 <-> 14541
            system = await mavsdk.first_autopilot(timeout_s=20.0)
            assert system is not None
            await asyncio.sleep(2.0)  # any other vehicle would have been heard by now
            ids = {await s.get_system_id() for s in await mavsdk.get_systems()}
            assert await system.get_system_id() == 2  # vehicle 1 (system id 2), as PX4 instance 1
            async for _ in TelemetryAsync(system).subscribe_position():
                break
            return len(ids), await _fly_square(system)

    n_systems, reached = asyncio.run(asyncio.wait_for(main(), 120))
    summary = server.stop()
    assert n_systems == 1  # only the vehicle of this port, never all three
    assert len(reached) == len(SQUARE)
    assert summary["mavlink_handler_errors"] == 0
