"""Missions in flight: the mission system over the mesh radio (docs/autonomy.md, "Missions in flight")."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pymap3d
import pytest
import yaml

from skyhive.sim import Simulation
from skyhive.world.world import DroneStatus
from tests.conftest import run_cli

ORIGIN = (46.5, 7.6)


def ll(x: float, y: float) -> dict[str, float]:
    lat, lon, _ = pymap3d.enu2geodetic(x, y, 0.0, ORIGIN[0], ORIGIN[1], 0.0)
    return {"lat": round(float(lat), 7), "lon": round(float(lon), 7)}


def scenario(tmp_path: Path, **over: Any) -> Path:
    """Eight workers at the origin, a base station there, four inspect tasks 300-600 m away."""
    data: dict[str, Any] = {
        "schema_version": 1, "name": "mission-test", "origin": {"lat": ORIGIN[0], "lon": ORIGIN[1], "alt": 0},
        "duration": 200, "dt": 0.2, "seed": 1,
        "fleets": [{"name": "team", "count": 8, "launch": {"sites": [ll(0, 0)], "layout": "grid", "spacing_m": 20},
                    "radio": {"max_range_m": 1500}}],
        "ground_stations": [{"name": "base", **ll(0, -20), "radio": {"max_range_m": 1500}}],
        "comms": {"record_hz": 0},
        "tasks": [{"id": f"t{k}", "kind": "inspect", "at": {**ll(x, y), "alt_m": 40}, "service_s": 10, "value": 5}
                  for k, (x, y) in enumerate([(300, 0), (0, 400), (-500, 100), (200, 600)])],
        "mission": {"stale_rounds": 8},
    }
    for k, v in over.items():
        data[k] = v
    path = tmp_path / "mission.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_inspect_tasks_done_by_the_swarm(tmp_path: Path) -> None:
    sim = Simulation.from_file(scenario(tmp_path))
    sim.run()
    m = sim.metrics
    assert m["mission_tasks_done"] == 4
    assert m["mission_value_collected"] == pytest.approx(20.0)
    assert m["mission_conflicts"] == 0
    assert m["mission_alloc_conflicts"] == 0
    assert m["mission_coord_bytes"] > 0 and m["mission_rounds"] >= 199
    mis = sim.system("mission")
    # every task was finished by a drone that was there: the finisher's path passed within 5 m of the task
    assert (mis.done_by >= 0).all()  # type: ignore[attr-defined]


def _step_to_round(sim: Simulation) -> None:
    mis = sim.system("mission")
    while not mis.round_rate.ready(sim.t):  # type: ignore[attr-defined]
        sim.step()


def _poison_all_but(sim: Simulation, i: int, rng: np.random.Generator) -> None:
    """Replace every other drone's allocator and mission state by garbage."""
    mis = sim.system("mission")
    alg = mis.cbba  # type: ignore[attr-defined]
    others = np.arange(alg.n) != i
    k, m = alg.n - 1, alg.y.shape[1]
    alg.y[others] = rng.random((k, m)).astype(np.float32) * 50
    alg.z[others] = rng.integers(-1, alg.n, (k, m))
    alg.t[others] = rng.integers(-1, 50, (k, m))
    alg.s[others] = rng.integers(-1, 50, (k, alg.n))
    alg.bundle[others] = rng.integers(0, m, alg.bundle[others].shape)
    alg.path[others] = rng.integers(0, m, alg.path[others].shape)
    alg.blen[others] = rng.integers(0, alg.bundle.shape[1] + 1, k)
    alg.usable[others] = rng.random((k, m)) < 0.5
    for name in ("closed", "acked", "found_by"):
        arr = getattr(mis, name)
        arr[others] = rng.random(arr[others].shape) < 0.5
    for name, hi in (("cur", m), ("wp", 3), ("mode", 2)):
        arr = getattr(mis, name)
        arr[others] = rng.integers(-1 if name == "cur" else 0, hi, k)
    mis.serve_end[others] = rng.random(k) * 100  # type: ignore[attr-defined]
    for name in ("mv_pos", "mv_vel", "mv_head", "mv_t"):  # what each drone heard of manned vehicles
        arr = getattr(mis, name)
        arr[others] = rng.normal(0.0, 500.0, arr[others].shape)


def _with_follow_and_relay(tmp_path: Path) -> Path:
    """The test scenario plus a fire engine escorted by two drones and a relay chain to a far point."""
    engine = {"name": "engine", "kind": "ground", "speed_mps": 6.0, "loop": False,
              "route": [{**ll(0, 100), "alt_m": 0}, {**ll(3000, 100), "alt_m": 0}], "radio": {"max_range_m": 1500}}
    extra = [{"id": "escort", "kind": "follow", "vehicle": "engine", "offsets": [[30, 0, 30], [0, 30, 30]]},
             {"id": "chain", "kind": "relay", "at": {**ll(-1200, 300), "alt_m": 40}}]
    base = yaml.safe_load(scenario(tmp_path).read_text())
    return scenario(tmp_path, manned=[engine], tasks=base["tasks"][:2] + extra)


@pytest.mark.parametrize("kinds", ["inspect", "follow+relay"])
@pytest.mark.parametrize("at_round", [True, False])
def test_decisions_read_only_own_state_and_inbox(tmp_path: Path, at_round: bool, kinds: str) -> None:
    """Mid-mission, for each drone i, replace every other drone's allocator and mission state by garbage; one
    tick later (a CBBA round, or a tick between rounds) drone i's CBBA row and velocity intent must be
    bit-identical to the unpoisoned run.  Reading anything but its own row and inbox breaks this."""
    sim = Simulation.from_file(scenario(tmp_path) if kinds == "inspect" else _with_follow_and_relay(tmp_path))
    sim.run(until=6.0)
    _step_to_round(sim)
    if not at_round:
        sim.step()
    ref = copy.deepcopy(sim)
    rounds = ref.system("mission").rounds  # type: ignore[attr-defined]
    ref.step()
    assert ref.system("mission").rounds == rounds + int(at_round)  # type: ignore[attr-defined]
    a = ref.system("mission").cbba  # type: ignore[attr-defined]
    rng = np.random.default_rng(5)
    for i in range(a.n):
        twin = copy.deepcopy(sim)
        _poison_all_but(twin, i, rng)
        twin.step()
        b = twin.system("mission").cbba  # type: ignore[attr-defined]
        for name in ("y", "z", "t", "s", "bundle", "path", "blen"):
            assert np.array_equal(getattr(a, name)[i], getattr(b, name)[i]), (i, name)
        node = int(twin.system("mission").wid[i])  # type: ignore[attr-defined]
        assert np.array_equal(ref.world.drones.intent_vel[node], twin.world.drones.intent_vel[node]), i


def _one_drone_serving_a_far_loiter(tmp_path: Path) -> tuple[Simulation, Any, int]:
    """A mission with one 60 s loiter 670 m out, run until a drone is serving it: (sim, mission, that drone)."""
    path = scenario(tmp_path, tasks=[{"id": "far", "kind": "loiter", "at": {**ll(600, 300), "alt_m": 40},
                                      "service_s": 60, "value": 5}])
    sim = Simulation.from_file(path)
    mis = sim.system("mission")
    sim.run(until=70.0)
    serving = np.flatnonzero(mis.cur >= 0)  # type: ignore[attr-defined]
    assert serving.size >= 1
    return sim, mis, int(mis.wid[serving[0]])  # type: ignore[attr-defined]


def test_failed_drone_task_is_reallocated_and_done(tmp_path: Path) -> None:
    sim, mis, victim = _one_drone_serving_a_far_loiter(tmp_path)
    sim.world.drones.status[victim] = DroneStatus.FAILED
    sim.world.drones.vel[victim] = 0.0
    sim.run()
    assert np.isfinite(mis.done_t[0])
    assert mis.done_by[0] not in (-1, victim)


def test_operator_task_arrives_through_the_mesh(tmp_path: Path) -> None:
    new = {"id": "late", "kind": "inspect", "at": {**ll(-300, -200), "alt_m": 40}, "service_s": 5, "value": 8}
    path = scenario(tmp_path, mission={"stale_rounds": 8, "operator": [{"at_s": 50, "add": new}]})
    sim = Simulation.from_file(path)
    mis = sim.system("mission")
    sim.run(until=49.0)
    assert len(mis.tasks) == 4  # type: ignore[attr-defined]
    sim.run(until=50.2)
    assert len(mis.tasks) == 5 and not mis.cbba.usable[:, 4].any()  # type: ignore[attr-defined]
    sim.run()
    heard = mis.op_heard_t[(0, 4)]  # type: ignore[attr-defined]
    assert heard > 50.0  # never in the tick it was sent
    assert np.isfinite(mis.done_t[4]) and mis.done_t[4] > heard  # type: ignore[attr-defined]
    assert sim.metrics["comms_mission/order"]["delivered"] > 0


def test_out_of_range_operator_waits_for_the_relay(tmp_path: Path) -> None:
    """A station 2.5 km away (radio 800 m) is heard only once a drone flies out to its first task near it."""
    gs = [{"name": "base", **ll(0, -20), "radio": {"max_range_m": 800}},
          {"name": "far", **ll(2500, 0), "radio": {"max_range_m": 800}}]
    tasks = [{"id": "out", "kind": "loiter", "at": {**ll(2000, 0), "alt_m": 40}, "service_s": 200, "value": 5}]
    new = {"id": "late", "kind": "inspect", "at": {**ll(-200, 0), "alt_m": 40}, "service_s": 5, "value": 8}
    path = scenario(tmp_path, ground_stations=gs, tasks=tasks, duration=500,
                    fleets=[{"name": "team", "count": 4, "launch": {"sites": [ll(0, 0)], "spacing_m": 20},
                             "radio": {"max_range_m": 800}}],
                    mission={"stale_rounds": 8, "operator": [{"at_s": 5, "station": "far", "add": new}]})
    sim = Simulation.from_file(path)
    mis = sim.system("mission")
    sim.run(until=60.0)
    assert (0, 1) not in mis.op_heard_t  # type: ignore[attr-defined]  # still out of range
    sim.run()
    heard = mis.op_heard_t[(0, 1)]  # type: ignore[attr-defined]
    assert heard > 60.0  # the drone flying to "out" (2 km at <= 15 m/s) brought the far station in range
    assert np.isfinite(mis.done_t[1])  # type: ignore[attr-defined]
    assert sim.metrics["comms_mission/order"]["sent"] >= 2  # the station repeated its order


def test_search_finds_objects_and_reports_arrive_through_the_mesh(tmp_path: Path) -> None:
    area = [[p["lon"], p["lat"]] for p in (ll(-300, 100), ll(300, 100), ll(300, 500), ll(-300, 500),
                                             ll(-300, 100))]
    objs = [ll(-200, 200), ll(150, 450), ll(0, 300)]
    path = scenario(tmp_path, duration=300,
                    tasks=[{"id": "s", "kind": "search", "area": area, "value": 10}],
                    mission={"stale_rounds": 8, "search_objects": objs})
    sim = Simulation.from_file(path)
    sim.run()
    mis = sim.system("mission")
    m = sim.metrics
    assert m["search_found_reported"] == 3 and m["mission_coverage_pct"] > 95.0
    # the ground station heard each find after a drone saw it, through the radio
    assert (mis.gs_t > mis.detect_t).all()  # type: ignore[attr-defined]
    assert m["comms_mission/find"]["delivered"] >= 3
    assert m["search_time_to_find_all_s"] == pytest.approx(float(mis.gs_t.max()))  # type: ignore[attr-defined]


def test_search_with_no_station_link_never_reports(tmp_path: Path) -> None:
    """Finds are counted only when the ground station receives them: a station in a silent zone hears none."""
    area = [[p["lon"], p["lat"]] for p in (ll(-300, 100), ll(300, 100), ll(300, 500), ll(-300, 500),
                                             ll(-300, 100))]
    zone = [[p["lon"], p["lat"]] for p in (ll(-60, -60), ll(60, -60), ll(60, 10), ll(-60, 10), ll(-60, -60))]
    path = scenario(tmp_path, duration=200, tasks=[{"id": "s", "kind": "search", "area": area, "value": 10}],
                    comms={"record_hz": 0, "faults": [{"type": "silent_zone", "at_s": 0, "polygon": zone,
                                                       "floor_m": -10, "ceiling_m": 100}]},
                    fleets=[{"name": "team", "count": 8, "launch": {"sites": [ll(0, 150)], "spacing_m": 20},
                             "radio": {"max_range_m": 1500}}],
                    mission={"stale_rounds": 8, "search_objects": [ll(0, 300)]})
    sim = Simulation.from_file(path)
    sim.run()
    m = sim.metrics
    assert m["search_detected"] == 1
    assert m["search_found_reported"] == 0 and m["search_time_to_find_all_s"] is None


def test_mission_without_radio_section_gets_the_default_radio(tmp_path: Path) -> None:
    text = yaml.safe_load(scenario(tmp_path).read_text())
    del text["comms"]
    del text["ground_stations"]
    path = tmp_path / "noradio.yaml"
    path.write_text(yaml.safe_dump(text))
    sim = Simulation.from_file(path)
    assert sim.system("comms") is sim.system("mission").comms  # type: ignore[attr-defined]
    sim.run()
    assert sim.metrics["mission_tasks_done"] == 4


def test_search_objects_without_station_is_a_validation_error(tmp_path: Path) -> None:
    text = yaml.safe_load(scenario(tmp_path, mission={"search_objects": [ll(0, 300)]}).read_text())
    del text["ground_stations"]
    path = tmp_path / "nostation.yaml"
    path.write_text(yaml.safe_dump(text))
    out = run_cli("validate", str(path))
    assert out.returncode != 0
    text_out = out.stdout + out.stderr
    assert "search_objects" in text_out and "Traceback" not in text_out


def test_sar_example_runs_to_the_end(tmp_path: Path) -> None:
    summary = tmp_path / "sar.json"
    out = run_cli("run", "examples/sar-100.yaml", "--summary", str(summary), timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    m = json.loads(summary.read_text())
    assert m["sim_time_s"] == pytest.approx(1500.0)
    assert m["mission_tasks_done"] == 1
    assert m["search_found_reported"] == 20 and m["search_time_to_find_all_s"] is not None


def test_operator_cancel_arrives_and_the_task_is_never_done(tmp_path: Path) -> None:
    """Cancel the farthest task early through the mesh: drones drop it once they hear the order."""
    path = scenario(tmp_path, mission={"stale_rounds": 8, "operator": [{"at_s": 3, "cancel": "t3"}]})
    sim = Simulation.from_file(path)
    sim.run()
    mis = sim.system("mission")
    assert mis.op_heard_t[(1, 3)] > 3.0  # type: ignore[attr-defined]
    assert not np.isfinite(mis.done_t[3])  # type: ignore[attr-defined]
    assert np.isfinite(mis.done_t[:3]).all()  # type: ignore[attr-defined]
    assert mis.closed[:, 3].all()  # type: ignore[attr-defined]  # every drone heard it
    rep = {r["id"]: r for r in sim.metrics["mission_task_report"]}
    assert rep["t3"]["cancelled"] and not rep["t3"]["done"]


def test_python_api_add_task_and_survey_coverage(tmp_path: Path) -> None:
    area = [[p["lon"], p["lat"]] for p in (ll(-200, 100), ll(200, 100), ll(200, 400), ll(-200, 400),
                                             ll(-200, 100))]
    sim = Simulation.from_file(scenario(tmp_path, duration=300, tasks=[]))
    mis = sim.system("mission")
    sim.run(until=10.0)
    ids = mis.add_task({"id": "map", "kind": "survey", "area": area, "value": 4})  # type: ignore[attr-defined]
    assert ids.size == 8  # one share per worker
    sim.run()
    m = sim.metrics
    assert m["mission_tasks_done"] == 1 and m["mission_coverage_pct"] > 99.0
    series = m["mission_coverage_series"]
    assert series[0][1] == 0.0 and series[-1][1] == pytest.approx(m["mission_coverage_pct"])
    with pytest.raises(ValueError, match="already used"):
        mis.add_task({"id": "map", "kind": "inspect", "at": ll(0, 0)})  # type: ignore[attr-defined]


def test_mission_markers_in_the_mcap_log(tmp_path: Path) -> None:
    from mcap.reader import make_reader

    out = tmp_path / "m.mcap"
    res = run_cli("run", str(scenario(tmp_path, duration=30)), "--record", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    with out.open("rb") as f:
        msgs = [(ch.topic, sc.name if sc else "", m.data)
                for sc, ch, m in make_reader(f).iter_messages(topics=["/mission/tasks"])]
    assert msgs and all(name == "foxglove.SceneUpdate" for _, name, _ in msgs)
    last = json.loads(msgs[-1][2])
    ent = last["entities"][0]
    assert len(ent["spheres"]) == 4 and len(ent["lines"][0]["points"]) >= 2


def test_low_battery_drone_gives_its_task_to_others(tmp_path: Path) -> None:
    """A worker that reaches its battery reserve mid-task returns home (core failsafe) and stops bidding; the
    others take its task over through the allocation."""
    sim, mis, low = _one_drone_serving_a_far_loiter(tmp_path)
    d = sim.world.drones
    d.battery_wh[low] = 0.19 * d.capacity_wh[low]  # just under the 20 % reserve
    sim.run()
    assert d.status[low] in (DroneStatus.RETURNING, DroneStatus.LANDING, DroneStatus.LANDED)
    assert np.isfinite(mis.done_t[0])
    assert mis.done_by[0] not in (-1, low)


def test_required_capability_goes_only_to_the_fleet_that_carries_it(tmp_path: Path) -> None:
    team = {"name": "team", "count": 6, "launch": {"sites": [ll(0, 0)], "layout": "grid", "spacing_m": 20},
            "radio": {"max_range_m": 1500}}
    thermal = {**team, "name": "thermal", "count": 2, "launch": {"sites": [ll(300, -300)], "layout": "grid",
                                                                  "spacing_m": 20}, "capabilities": ["thermal"]}
    # the hot spot is nearest the plain team; only a thermal drone may take it
    tasks = [{"id": "hot", "kind": "inspect", "at": {**ll(-100, 100), "alt_m": 40}, "service_s": 5, "value": 5,
              "requires": ["thermal"]},
             {"id": "plain", "kind": "inspect", "at": {**ll(100, 0), "alt_m": 40}, "service_s": 5, "value": 5}]
    sim = Simulation.from_file(scenario(tmp_path, fleets=[team, thermal], tasks=tasks))
    sim.run()
    mis = sim.system("mission")
    done_by = mis.done_by  # type: ignore[attr-defined]
    assert (done_by >= 0).all()
    assert done_by[0] in range(6, 8)  # drone ids 6-7 are the thermal fleet
