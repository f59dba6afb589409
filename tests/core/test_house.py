"""House rules of issue 9: systems get a build context and ports (never the Simulation), timers are ``Rate``s,
recording goes through ``Recordable`` and ``record.scene``, checks have one shape, the tracker is configurable, and
the ``Simulation`` docstring example is real."""

from __future__ import annotations

import copy
import doctest
import math
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skyhive.sim
from skyhive.airspace.picture import AirspacePicture
from skyhive.mavlink.control import GcsControl
from skyhive.record import scene
from skyhive.record.schemas import FOXGLOVE_SCHEMAS
from skyhive.scenario.base import CheckInput, Problem
from skyhive.scenario.load import CONCERN_CHECKS, ScenarioError, load_scenario, scenario_from_dict
from skyhive.sim import Simulation
from skyhive.systems import Mesh, Rate, Recordable
from tests.airspace.scenarios import watch_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_simulation_docstring_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(skyhive.sim) if t.name.endswith("Simulation")]
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner()
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0


# -- Rate: the same schedules as the hand-written timers it replaced ---------------------------------------------
def _old_fixed(period: float, times: list[float]) -> list[float]:
    nxt, out = 0.0, []
    for t in times:
        if t + 1e-9 >= nxt:
            nxt += period
            out.append(t)
    return out


def _old_from_last(period: float, times: list[float]) -> list[float]:
    nxt, out = 0.0, []
    for t in times:
        if t + 1e-9 >= nxt:
            nxt = t + period
            out.append(t)
    return out


@settings(max_examples=60, deadline=None)
@given(period=st.floats(0.05, 7.0), dt=st.sampled_from([0.05, 0.1, 0.2, 0.25]))
def test_rate_fires_exactly_when_the_old_timers_did(period: float, dt: float) -> None:
    times = [k * dt for k in range(400)]
    fixed, last = Rate(period), Rate(period, from_last=True)
    assert [t for t in times if fixed.due(t)] == _old_fixed(period, times)
    assert [t for t in times if last.due(t)] == _old_from_last(period, times)


def test_rate_ready_does_not_consume() -> None:
    r = Rate.hz(1.0)
    assert r.ready(0.0) and r.ready(0.0)
    assert r.due(0.0) and not r.ready(0.5) and r.ready(1.0)


# -- systems get ports, never the simulation ---------------------------------------------------------------------
def _holds_simulation(obj: Any, depth: int = 2) -> bool:
    if isinstance(obj, Simulation):
        return True
    if depth == 0 or not hasattr(obj, "__dict__"):
        return False
    return any(_holds_simulation(v, depth - 1) for v in vars(obj).values())


@pytest.mark.parametrize("example", ["airport-watch.yaml", "sar-100.yaml", "mesh-relay.yaml"])
def test_no_system_holds_the_simulation(example: str) -> None:
    sim = Simulation.from_file(ROOT / "examples" / example)
    assert len(sim.systems) > 7
    for system in sim.systems:
        assert not _holds_simulation(system), system.name


def test_ports_are_wired() -> None:
    sim = Simulation.from_file(ROOT / "examples" / "airport-watch.yaml")
    mesh = sim.ports.mesh
    assert mesh is not None and mesh is sim.system("comms")
    assert isinstance(sim.airspace, AirspacePicture) and sim.ports.airspace is sim.airspace
    assert sim.ports.control is sim.control and sim.control.external.shape == (sim.n_drones,)
    assert not sim.control.external.any()


def test_mission_without_comms_section_gets_the_default_mesh() -> None:
    sc = load_scenario(ROOT / "examples" / "sar-100.yaml")
    sc = sc.model_copy(update={"comms": None, "ground_stations": []})
    sim = Simulation(sc)
    mesh: Mesh | None = sim.ports.mesh
    assert mesh is not None and mesh is sim.system("comms") is sim.system("mission").comms  # type: ignore[attr-defined]


def test_drones_a_ground_station_commands_leave_the_mission() -> None:
    sim = Simulation.from_file(ROOT / "examples" / "sar-100.yaml")
    mission: Any = sim.system("mission")
    ctl = GcsControl(sim.world.drones, sim.control)
    sim.add_system(ctl)
    taken = int(mission.wid[0])
    ctl.gcs[taken] = True  # what the MAVLink side does when a ground station takes a drone over
    assert sim.control.external[taken]
    for _ in range(15):
        sim.step()
    assert mission.rounds > 0
    assert not mission.cbba.alive[0] and mission.cbba.alive[1:].all()


def test_recordable_systems() -> None:
    sim = Simulation.from_file(ROOT / "examples" / "airport-watch.yaml")
    recordable = sorted(s.name for s in sim.systems if isinstance(s, Recordable))
    assert recordable == ["airspace_track", "comms"]


# -- scenario: one check shape, the tracker section ----------------------------------------------------------------
def test_every_concern_check_returns_problems() -> None:
    data = watch_scenario()
    data["intruders"][0]["zone"] = "nowhere"
    inp = CheckInput(data, [], None, None)
    found = [p for check in CONCERN_CHECKS for p in check(inp)]
    assert found and all(isinstance(p, Problem) for p in found)
    assert any(p.path == "intruders.0.zone" for p in found)


def test_tracker_settings_reach_the_tracker() -> None:
    data = watch_scenario(10.0)
    data["tracker"] = {"confirm_m": 2, "confirm_n": 3, "method": "jpda"}
    sim = Simulation(scenario_from_dict(copy.deepcopy(data)))
    assert sim.airspace is not None
    cfg = sim.airspace.tracker.cfg
    assert (cfg.confirm_m, cfg.confirm_n, cfg.method) == (2, 3, "jpda")
    data["tracker"] = {"confirm_m": 5, "confirm_n": 3, "gate_chi": 1.0}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    paths = {p.path for p in err.value.problems}
    assert "tracker.gate_chi" in paths
    assert any("unknown field" in p.message for p in err.value.problems)


# -- record.scene: valid Foxglove messages -------------------------------------------------------------------------
def test_scene_builders_match_the_foxglove_schemas() -> None:
    ns = 1_500_000_000
    update = scene.scene_update([scene.entity(
        ns, "x", lines=[scene.line([(0.0, 0.0, 0.0), (1.0, 2.0, 3.0)], (0.2, 0.8, 1.0), 0.6, indices=[0, 1])],
        spheres=[scene.sphere((1.0, 2.0, 3.0), 8.0, (0.1, 0.8, 0.2))], metadata={"k": "v"})])
    jsonschema.validate(update, FOXGLOVE_SCHEMAS["foxglove.SceneUpdate"])
    assert update["entities"][0]["timestamp"] == {"sec": 1, "nsec": 500_000_000}
    geo = scene.geojson([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [8.5, 47.4]},
                          "properties": {"style": {"color": scene.hex_color((1.0, 0.0, 0.5))}}}])
    jsonschema.validate(geo, FOXGLOVE_SCHEMAS["foxglove.GeoJSON"])
    assert '"#ff0080"' in geo["geojson"]


def test_power_law_is_shared() -> None:
    from skyhive.scenario.models import Battery, cruise_power_w

    b = Battery()
    v = b.economical_speed_mps(30.0)
    assert math.isclose(v, (b.hover_power_w / (2.0 * b.drag_power_coef)) ** (1.0 / 3.0))
    assert b.cruise_power_w(v) == cruise_power_w(b.hover_power_w, b.drag_power_coef, v)
    speeds = np.array([0.0, 5.0, 10.0])
    assert np.allclose(cruise_power_w(240.0, 0.03, speeds), 240.0 + 0.03 * speeds**3)
