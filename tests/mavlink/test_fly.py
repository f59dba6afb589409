"""``skyhive fly``: external vehicles (``skyhive serve`` playing PX4, an ArduCopter stand-in) mixed with simulated
drones, through the one safety layer; link loss; refusals; bad endpoints."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skyhive.geo.frames import LocalFrame
from skyhive.mavlink.external import Stage
from skyhive.mavlink.fly import FlyLoop
from skyhive.scenario.load import ScenarioError, scenario_from_dict
from skyhive.sim import Simulation
from skyhive.world.world import DroneStatus
from tests.conftest import run_cli
from tests.mavlink.conftest import free_ports
from tests.mavlink.standins import GUIDED, ArduCopterStandIn

ORIGIN = {"lat": 47.3769, "lon": 8.5417, "alt": 408.0}  # the served vehicles' scenario origin (conftest.SCENARIO)
FRAME = LocalFrame(ORIGIN["lat"], ORIGIN["lon"], ORIGIN["alt"])


def ll(x: float, y: float, z: float | None = None) -> dict[str, float]:
    lat, lon, _ = FRAME.geodetic(np.array([x, y, 0.0]))
    out = {"lat": float(lat), "lon": float(lon)}
    if z is not None:
        out["alt_m"] = z
    return out


def mixed(endpoints: list[Any], **external: Any) -> dict[str, Any]:
    """Simulated drones 60 m north of the external vehicles' pads; tasks between and around them."""
    return {
        "schema_version": 1, "name": "mixed", "origin": ORIGIN, "duration": 600.0, "dt": 0.1, "seed": 5,
        "fleets": [
            {"name": "sim", "count": 2, "launch": {"sites": [ll(0, 60)], "layout": "line", "spacing_m": 15}},
            {"name": "field", "count": len(endpoints), "launch": {"sites": [ll(0, 0)], "layout": "line",
                                                                  "spacing_m": 15},
             "external": {"endpoints": endpoints, "takeoff_alt_m": 8, "connect_timeout_s": 5, **external}},
        ],
        "tasks": [{"id": f"t{k}", "kind": "inspect", "at": ll(x, y, 12), "service_s": 2}
                  for k, (x, y) in enumerate([(-25, 30), (25, 30), (0, 95), (-40, 5), (40, 5), (0, -30)])],
        "mission": {"alt_m": 12, "transit_above_m": 4, "speed_mps": 5},
    }


class UdpProxy(threading.Thread):
    """Forwards a ground station's datagrams to ``target`` and back; ``cut`` drops both ways (a link that dies)."""

    def __init__(self, target: int) -> None:
        super().__init__(daemon=True)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.target = ("127.0.0.1", target)
        self.client: tuple[str, int] | None = None
        self.cut = False
        self.running = True
        self.start()

    def run(self) -> None:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.front, selectors.EVENT_READ)
        sel.register(self.back, selectors.EVENT_READ)
        while self.running:
            for key, _ in sel.select(0.05):
                data, addr = key.fileobj.recvfrom(65535)  # type: ignore[union-attr]
                if self.cut:
                    continue
                if key.fileobj is self.front:
                    self.client = addr
                    self.back.sendto(data, self.target)
                elif self.client is not None:
                    self.front.sendto(data, self.client)

    def stop(self) -> None:
        self.running = False
        self.join(timeout=2)
        self.front.close()
        self.back.close()


def fly(scenario: dict[str, Any], until: float, on_tick: Any = None) -> tuple[FlyLoop, dict[str, Any]]:
    sim = Simulation(scenario_from_dict(scenario))
    loop = FlyLoop(sim)
    if on_tick is not None:
        sim.step_hooks.append(lambda s: on_tick(loop))
    try:
        loop.run(until=until)
    finally:
        loop.finish()
    return loop, loop.metrics()


def min_mixed_distance(loop: FlyLoop, track: list[float]) -> None:
    """Closest approach between an airborne external drone and an airborne simulated one, this tick."""
    d = loop.sim.world.drones
    ext = loop.fleets.world_idx
    sim_rows = np.setdiff1d(np.arange(d.n), ext)
    air = (d.status <= DroneStatus.LANDING) & (d.pos[:, 2] > 1.0)
    a, b = ext[air[ext]], sim_rows[air[sim_rows]]
    if a.size and b.size:
        gap = np.linalg.norm(d.pos[a][:, None, :] - d.pos[b][None, :, :], axis=2)
        track.append(float(gap.min()))


def test_serve_vehicles_fly_mixed_with_simulated_drones_and_survive_a_cut_link(serve: Any) -> None:
    """The issue's CI test: one ``skyhive serve`` plays 3 PX4-style vehicles; ``skyhive fly`` flies them with 2
    simulated drones on inspect tasks, keeps separation between the two kinds, and rides out one vehicle's link
    being cut for 4 s and restored mid-mission."""
    served = serve(3)
    proxy = UdpProxy(served.base + 1)
    endpoints = [f"udpout:127.0.0.1:{served.base}", f"udpout:127.0.0.1:{proxy.port}",
                 f"udpout:127.0.0.1:{served.base + 2}"]
    gaps: list[float] = []
    seen: dict[str, Any] = {}

    def on_tick(loop: FlyLoop) -> None:
        min_mixed_distance(loop, gaps)
        t = loop.sim.t
        if 20.0 <= t < 24.0 and not proxy.cut:
            seen["stage_before_cut"] = int(loop.fleets.stage[1])
            proxy.cut = True
        elif t >= 24.0 and proxy.cut:
            proxy.cut = False
        if 40.0 <= t < 40.1:
            seen["stage_after"] = int(loop.fleets.stage[1])
        if 22.0 <= t < 22.1:
            seen["lost_during_cut"] = bool(loop.fleets.lost[1])
            seen["not_commanded_during_cut"] = bool(loop.fleets.control.gcs[loop.fleets.world_idx[1]])

    try:
        loop, m = fly(mixed(endpoints), until=45.0, on_tick=on_tick)
    finally:
        proxy.stop()
    served_summary = served.stop()
    assert m["external_vehicles_connected"] == 3
    assert m["external_never_connected"] == 0
    assert m["external_commands_rejected"] == 0, m["external_rejections"]
    assert m["external_setpoints_sent"] > 3 * 10 * 15  # ~10 Hz to each vehicle for most of the run
    assert m["external_command_rtt_ms_mean"] is not None
    # the cut: lost (not heard for 1 s), not commanded while lost, back and re-taken afterwards
    assert seen["stage_before_cut"] == Stage.FLYING
    assert seen["lost_during_cut"] and seen["not_commanded_during_cut"]
    assert m["external_link_losses"] == 1 and m["external_reconnects"] == 1
    assert served_summary["mavlink_offboard_losses"] >= 1  # the vehicle's own failsafe (Hold) took over
    assert m["external_launches"] >= 4  # three launches plus the re-take after the cut
    assert seen["stage_after"] == Stage.FLYING  # back under skyhive's command, not left to its failsafe
    # tasks got done, by external and simulated drones alike
    report = {t["id"]: t for t in m["mission_task_report"]}
    done = [t for t in report.values() if t["done"]]
    assert len(done) >= 4, report
    mission = next(s for s in loop.sim.systems if s.name == "mission")
    doers = set(mission.done_by[mission.done_by >= 0].tolist())  # type: ignore[attr-defined]
    ext_rows = set(loop.fleets.world_idx.tolist())
    assert doers & ext_rows and doers - ext_rows, doers
    # separation between real and simulated drones
    assert gaps, "external and simulated drones never flew at the same time"
    assert min(gaps) >= 10.0, min(gaps)
    assert m["loss_of_separation_events"] == 0
    assert served_summary["mavlink_offboard_setpoints"] > 0


def test_ardupilot_standin_is_flown_in_guided_and_an_arming_refusal_is_reported() -> None:
    base = free_ports(3)
    good = ArduCopterStandIn(base, ORIGIN["lat"], ORIGIN["lon"])
    bad = ArduCopterStandIn(base + 1, ORIGIN["lat"] + 0.0002, ORIGIN["lon"], refuse_arm=True)
    no_guided = ArduCopterStandIn(base + 2, ORIGIN["lat"] + 0.0004, ORIGIN["lon"], refuse_guided=True)
    scenario = mixed([f"udpout:127.0.0.1:{base + k}" for k in range(3)])
    scenario["tasks"] = scenario["tasks"][:2]
    try:
        loop, m = fly(scenario, until=14.0)
    finally:
        good.stop()
        bad.stop()
        no_guided.stop()
    # ArduCopter order: GUIDED before arming, take-off to a height above home, then setpoints in GUIDED
    assert good.log[:3] == [f"mode {GUIDED}", "arm", "takeoff 8"], good.log
    assert good.setpoints > 20
    assert float(np.hypot(good.pos[0], good.pos[1])) > 5.0  # the setpoints moved it
    assert "arm" not in bad.log
    assert m["external_commands_rejected"] >= 1
    assert any("COMPONENT_ARM_DISARM refused with MAV_RESULT_FAILED (4)" in r for r in m["external_rejections"])
    assert any("DO_SET_MODE refused with MAV_RESULT_FAILED (4)" in r for r in m["external_rejections"])
    assert no_guided.mode != GUIDED and "arm" not in no_guided.log  # never armed outside GUIDED
    assert loop.fleets.stage[1] in (Stage.REFUSED, Stage.ARMING, Stage.SYNC)
    # at the end skyhive sends the vehicle it flies home on its own autopilot
    assert m["external_returned_at_end"] == 1 and good.mode == 6


def test_a_silent_endpoint_is_a_warning_and_the_run_goes_on(tmp_path: Path) -> None:
    base = free_ports(1)
    scenario = mixed([f"udpout:127.0.0.1:{base}"], connect_timeout_s=1.0)
    path = tmp_path / "fly.yaml"
    import yaml

    path.write_text(yaml.safe_dump(scenario))
    r = run_cli("fly", str(path), "--until", "3", "--summary", str(tmp_path / "s.json"), "--record",
                str(tmp_path / "fly.mcap"), timeout=90)
    assert r.returncode == 0, r.stderr
    assert "has not answered in 1 s; flying on without it" in r.stderr.replace("\n", " ")
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["external_never_connected"] == 1 and summary["external_vehicles_connected"] == 0
    assert summary["sim_time_s"] == pytest.approx(3.0)
    from mcap.reader import make_reader

    with (tmp_path / "fly.mcap").open("rb") as f:
        topics = {ch.topic for ch in make_reader(f).get_summary().channels.values()}  # type: ignore[union-attr]
    assert {"/drones/scene", "/events"} <= topics, topics


@pytest.mark.parametrize(("endpoint", "message"), [
    ("udp:localhost", "is not a MAVLink connection string"),
    ("udpout:127.0.0.1:99999", "port 99999 is outside 1-65535"),
    ("/dev/ttyUSB0:12345", "12345 is not a standard baud rate"),
    ("http://vehicle:14540", "is not a MAVLink connection string"),
])
def test_malformed_endpoints_name_the_fleet_and_index(endpoint: str, message: str) -> None:
    scenario = mixed(["udpout:127.0.0.1:14540", endpoint])
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario)
    problems = {p.path: p.message for p in err.value.problems}
    assert any(path.startswith("fleets.1.external.endpoints.1") and message in msg
               for path, msg in problems.items()), problems


def test_endpoint_forms_and_count_check() -> None:
    ok = mixed(["udpin:0.0.0.0:14550", {"url": "udpout:10.0.0.7:14540", "sysid": 2}, "tcp:127.0.0.1:5760",
                "/dev/ttyUSB0,57600", "/dev/ttyACM0"])
    fleet = scenario_from_dict(ok).fleets[1]
    assert fleet.external is not None and fleet.external.endpoints[1].sysid == 2
    bad = copy.deepcopy(ok)
    bad["fleets"][1]["count"] = 3
    bad["fleets"][1]["external"]["endpoints"][2] = "udpin:0.0.0.0:14550"
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(bad)
    paths = {p.path for p in err.value.problems}
    assert "fleets.1.count" in paths and "fleets.1.external.endpoints.2" in paths


def test_served_vehicle_refuses_offboard_without_setpoints_and_holds_when_they_stop(serve: Any, gcs: Any) -> None:
    """PX4's rule on a served vehicle: no OFFBOARD without a setpoint stream; setpoints fly it; silence -> Hold."""
    served = serve(1)
    g = gcs(served.base)
    assert g.command(400, 1) == 0  # arm
    assert g.command(22, 0, 0, 0, float("nan"), float("nan"), float("nan"), 408 + 6) == 0  # take off to 6 m
    assert g.recv("GLOBAL_POSITION_INT", 20, lambda m: m.relative_alt > 5500) is not None
    assert g.mode(6) == 2  # DENIED: no setpoints yet
    for _ in range(5):
        g.conn.mav.set_position_target_local_ned_send(0, 1, 1, 1, 0b110111000111, 0, 0, 0, 3.0, 0, 0, 0, 0, 0, 0, 0)
        time.sleep(0.05)
    assert g.mode(6) == 0
    t_end = time.time() + 3
    while time.time() < t_end:  # 3 s north at 3 m/s
        g.conn.mav.set_position_target_local_ned_send(0, 1, 1, 1, 0b110111000111, 0, 0, 0, 3.0, 0, 0, 0, 0, 0, 0, 0)
        g.beat()
        time.sleep(0.1)
    g.drain()
    fix = g.recv("GLOBAL_POSITION_INT", 5)
    assert fix is not None and fix.vx > 150  # cm/s north
    hb = g.recv("HEARTBEAT", 5, lambda m: (m.custom_mode >> 16) & 0xFF == 4 and (m.custom_mode >> 24) == 3)
    assert hb is not None, "no AUTO.LOITER (Hold) after the setpoints stopped"
    summary = served.stop()
    assert summary["mavlink_offboard_losses"] == 1 and summary["mavlink_offboard_setpoints"] > 20


def test_signed_link_flies(serve: Any, tmp_path: Path) -> None:
    """A served vehicle that requires MAVLink 2 signing is flown with the fleet's ``signing_key``."""
    keys = tmp_path / "keys.txt"
    keys.write_text("default passphrase:field test key\n")
    served = serve(1, "--key-file", str(keys))
    scenario = mixed([f"udpout:127.0.0.1:{served.base}"], signing_key="passphrase:field test key")
    scenario["tasks"] = scenario["tasks"][:1]
    _, m = fly(scenario, until=14.0)
    summary = served.stop()
    assert m["external_launches"] == 1 and m["external_commands_rejected"] == 0
    assert summary["mavlink_signed_ok"] > 30 and summary["mavlink_rejected_unsigned"] == 0
    assert summary["mavlink_offboard_setpoints"] > 20
