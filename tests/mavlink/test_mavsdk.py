"""Interop: MAVSDK-Python flies a skyhive drone through a mission (both the 4.x native and the gRPC package)."""

from __future__ import annotations

import asyncio
import math
import socket
from typing import Any

import pytest

WAYPOINTS = [(47.3775, 8.5420, 15.0), (47.3775, 8.5428, 15.0), (47.3770, 8.5428, 12.0)]


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _fly(system: Any, Action: Any, Mission: Any, Telemetry: Any, item: Any, plan: Any) -> dict[str, Any]:
    """The newcomer's flight: health, arm, take off, mission up, fly to the end, mission down, land."""
    tel, act, mis = Telemetry, Action, Mission
    out: dict[str, Any] = {}

    def sub(obj: Any, name: str) -> Any:  # 4.x: subscribe_position(); gRPC: position() is the stream
        return getattr(obj, "subscribe_" + name, None) or getattr(obj, name)

    async for health in sub(tel, "health")():
        if health.is_global_position_ok and health.is_home_position_ok:
            break
    async for pos in sub(tel, "position")():
        out["start"] = (pos.latitude_deg, pos.longitude_deg, pos.relative_altitude_m)
        break
    items = [item(lat, lon, alt, 8.0) for lat, lon, alt in WAYPOINTS]
    await mis.upload_mission(plan(items))
    await act.arm()
    async for armed in sub(tel, "armed")():
        if armed:
            break
    await act.set_takeoff_altitude(8.0)
    await act.takeoff()
    async for pos in sub(tel, "position")():
        if pos.relative_altitude_m > 6.0:
            break
    out["in_air"] = await _first(sub(tel, "in_air")())
    await mis.start_mission()
    async for progress in sub(mis, "mission_progress")():
        if progress.current == progress.total and await mis.is_mission_finished():
            break
    out["finished"] = await mis.is_mission_finished()
    async for pos in sub(tel, "position")():
        out["end"] = (pos.latitude_deg, pos.longitude_deg, pos.relative_altitude_m)
        break
    out["download"] = (await mis.download_mission()).mission_items
    await act.land()
    async for in_air in sub(tel, "in_air")():
        if not in_air:
            break
    async for armed in sub(tel, "armed")():
        if not armed:
            break
    async for pos in sub(tel, "position")():
        out["landed"] = pos.relative_altitude_m
        break
    return out


async def _first(gen: Any) -> Any:
    async for value in gen:
        return value
    return None


def _check(out: dict[str, Any]) -> None:
    assert abs(out["start"][2]) < 0.5
    assert out["in_air"] is True
    assert out["finished"] is True
    lat, lon, alt = WAYPOINTS[-1]
    north = (out["end"][0] - lat) * 111_000
    east = (out["end"][1] - lon) * 111_000 * math.cos(math.radians(lat))
    assert math.hypot(north, east) < 12.0  # NAV_ACC_RAD is 10 m
    assert abs(out["end"][2] - alt) < 1.5
    got = [(i.latitude_deg, i.longitude_deg, i.relative_altitude_m) for i in out["download"]]
    assert len(got) == len(WAYPOINTS)
    for (a, b, c), (x, y, z) in zip(got, WAYPOINTS, strict=True):
        assert abs(a - x) < 1e-6 and abs(b - y) < 1e-6 and abs(c - z) < 1e-3
    assert out["landed"] < 0.3


def test_mavsdk_native_flies_a_mission(serve: Any) -> None:
    pytest.importorskip("mavsdk.asyncio", reason="MAVSDK-Python 4.x (pip install mavsdk) is not installed")
    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
    from mavsdk.asyncio.plugins.action import ActionAsync
    from mavsdk.asyncio.plugins.mission import MissionAsync, MissionItem, MissionPlan
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

    server = serve(2, "--speed", "4")

    def item(lat: float, lon: float, alt: float, speed: float) -> Any:
        return MissionItem(latitude_deg=lat, longitude_deg=lon, relative_altitude_m=alt, speed_m_s=speed,
                           is_fly_through=True)

    async def main() -> dict[str, Any]:
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        async with Mavsdk(config) as mavsdk:
            await mavsdk.add_any_connection(f"udpout://127.0.0.1:{server.base}")
            system = await mavsdk.first_autopilot(timeout_s=20.0)
            assert system is not None, "MAVSDK found no autopilot"
            return await _fly(system, ActionAsync(system), MissionAsync(system), TelemetryAsync(system), item,
                              MissionPlan)

    out = asyncio.run(asyncio.wait_for(main(), 120))
    summary = server.stop()
    _check(out)
    assert summary["mavlink_mission_uploads"] >= 1
    assert summary["mavlink_handler_errors"] == 0


def test_mavsdk_grpc_flies_a_mission(serve: Any) -> None:
    pytest.importorskip("mavsdk_grpc", reason="classic MAVSDK-Python (pip install mavsdk-grpc) is not installed")
    from mavsdk_grpc import System
    from mavsdk_grpc.mission import MissionItem, MissionPlan

    server = serve(2, "--speed", "4")

    def item(lat: float, lon: float, alt: float, speed: float) -> Any:
        nan = float("nan")
        return MissionItem(lat, lon, alt, speed, True, nan, nan, MissionItem.CameraAction.NONE, nan, nan, nan, nan,
                           nan, MissionItem.VehicleAction.NONE)

    async def main() -> dict[str, Any]:
        drone = System(port=_free_tcp_port())
        await drone.connect(system_address=f"udpout://127.0.0.1:{server.base}")
        async for state in drone.core.connection_state():
            if state.is_connected:
                break
        try:
            return await _fly(drone, drone.action, drone.mission, drone.telemetry, item, MissionPlan)
        finally:
            drone._stop_mavsdk_server()

    out = asyncio.run(asyncio.wait_for(main(), 120))
    summary = server.stop()
    _check(out)
    assert summary["mavlink_handler_errors"] == 0


def test_docs_example_flies(serve: Any, tmp_path: Any) -> None:
    """The copy-paste MAVSDK example in docs/mavlink.md works as written (only the port differs)."""
    pytest.importorskip("mavsdk.asyncio", reason="MAVSDK-Python 4.x (pip install mavsdk) is not installed")
    import subprocess
    import sys
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "mavlink.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    server = serve(1, "--speed", "4")
    script = tmp_path / "fly.py"
    script.write_text(code.replace("14540", str(server.base)))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=150)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "downloaded back: 3 items" in r.stdout
    assert r.stdout.rstrip().endswith("landed")
    server.stop()


def test_mavsdk_goto_hold_and_return_to_launch(serve: Any) -> None:
    """Direct control without a mission: goto (DO_REPOSITION), hold, RTL back to the pad."""
    pytest.importorskip("mavsdk.asyncio", reason="MAVSDK-Python 4.x (pip install mavsdk) is not installed")
    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
    from mavsdk.asyncio.plugins.action import ActionAsync
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

    server = serve(1, "--speed", "4")
    target = (47.3772, 8.5421)

    async def main() -> dict[str, Any]:
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        async with Mavsdk(config) as mavsdk:
            await mavsdk.add_any_connection(f"udpout://127.0.0.1:{server.base}")
            system = await mavsdk.first_autopilot(timeout_s=20.0)
            assert system is not None
            act, tel = ActionAsync(system), TelemetryAsync(system)
            async for health in tel.subscribe_health():
                if health.is_global_position_ok and health.is_home_position_ok:
                    break
            home = await _first(tel.subscribe_home())
            await act.set_return_to_launch_altitude(12.0)
            await act.arm()
            await act.takeoff()
            async for pos in tel.subscribe_position():
                if pos.relative_altitude_m > 2.0:
                    break
            await act.goto_location(target[0], target[1], home.absolute_altitude_m + 10.0, 0.0)
            out: dict[str, Any] = {}
            async for pos in tel.subscribe_position():
                north = (pos.latitude_deg - target[0]) * 111_195
                east = (pos.longitude_deg - target[1]) * 111_195 * math.cos(math.radians(target[0]))
                if math.hypot(north, east) < 1.5 and abs(pos.relative_altitude_m - 10.0) < 1.0:
                    out["at_target"] = True
                    break
            await act.hold()
            await act.return_to_launch()
            top = 0.0
            async for pos in tel.subscribe_position():
                top = max(top, pos.relative_altitude_m)
                if top > 11.5:
                    break
            out["climbed"] = top
            async for in_air in tel.subscribe_in_air():
                if not in_air:
                    break
            pos = await _first(tel.subscribe_position())
            out["home_err"] = math.hypot((pos.latitude_deg - home.latitude_deg) * 111_195,
                                         (pos.longitude_deg - home.longitude_deg) * 111_195 * 0.68)
            return out

    out = asyncio.run(asyncio.wait_for(main(), 120))
    summary = server.stop()
    assert out["at_target"] is True
    assert out["climbed"] > 11.5  # RTL climbed to RTL_RETURN_ALT, as set through MAVSDK
    assert out["home_err"] < 1.5
    assert summary["mavlink_handler_errors"] == 0
