"""attach_recorder: a simulation's frames, events and geofence switches land in the MCAP log."""

from __future__ import annotations

import json
from pathlib import Path

from skyhive.bench.core import crossing_scenario
from skyhive.record import is_complete, read_messages
from skyhive.record.attach import attach_recorder
from skyhive.scenario.load import scenario_from_dict
from skyhive.sim import Simulation


def test_simulation_is_recorded_at_the_scenario_rate(tmp_path: Path) -> None:
    data = crossing_scenario(30)
    data["record"] = {"rate_hz": 2.0}
    data["events"] = [{"type": "geofence", "at_s": 1.0, "name": "block", "active": False}]
    sim = Simulation(scenario_from_dict(data))
    path = tmp_path / "sim.mcap"
    rec = attach_recorder(sim, path)
    sim.run(until=3.0)
    rec.close()
    rec.close()
    assert is_complete(path)
    msgs = list(read_messages(path))
    scene_t = [ns for t, ns, _ in msgs if t == "/drones/scene"]
    assert scene_t == [round(k * 0.5e9) for k in range(7)]  # t = 0, 0.5, ..., 3.0
    last = next(o for t, ns, o in msgs if t == "/drones/scene" and ns == scene_t[-1])
    assert len(last["entities"][0]["spheres"]) == 30
    x = [s["pose"]["position"]["x"] for s in last["entities"][0]["spheres"]]
    assx = sim.world.drones.pos[:, 0]
    assert max(abs(a - b) for a, b in zip(x, assx, strict=True)) <= 0.005 + 1e-9
    fences = [(ns, json.loads(o["geojson"])) for t, ns, o in msgs if t == "/airspace/geofences"]
    assert len(fences) == 2
    active = [{f["properties"]["name"]: f["properties"]["active"] for f in doc["features"]} for _, doc in fences]
    assert active == [{"area": True, "block": True}, {"area": True, "block": False}]
    assert len([1 for t, _, _ in msgs if t == "/events"]) == len(sim.log)
