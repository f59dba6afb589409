"""Scenario files: valid examples load; every kind of bad input is reported, all at once, with its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from skyhive.scenario import ScenarioError, load_scenario, scenario_from_dict
from skyhive.scenario import load as load_module
from tests.conftest import ll, ring, run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.n_drones > 0


def test_zurich_example_has_2000_drones() -> None:
    assert load_scenario(ROOT / "examples" / "zurich-2000.yaml").n_drones == 2000


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    return {p.path: p.message for p in info.value.problems}


def test_unknown_field_is_named(base: dict[str, Any]) -> None:
    base["fleets"][0]["colour"] = "red"
    assert "fleets.0.colour" in problems(base)


def test_out_of_range_values_are_named(base: dict[str, Any]) -> None:
    base["fleets"][0]["vehicle"] = {"max_speed_mps": -3}
    base["origin"]["lat"] = 123.0
    found = problems(base)
    assert "fleets.0.vehicle.max_speed_mps" in found
    assert "origin.lat" in found


@pytest.mark.parametrize("dt", [0.0, -0.1])
def test_zero_or_negative_dt(base: dict[str, Any], dt: float) -> None:
    base["dt"] = dt
    assert "greater than 0" in problems(base)["dt"]


def test_self_intersecting_polygon(base: dict[str, Any]) -> None:
    bow_tie = [ll(0, 0), ll(100, 100), ll(100, 0), ll(0, 100), ll(0, 0)]
    base["airspace"] = {"geofences": [{"name": "x", "kind": "keep_out",
                                       "polygon": [[p["lon"], p["lat"]] for p in bow_tie]}]}
    msg = problems(base)["airspace.geofences.0.polygon"]
    assert "Self-intersection" in msg or "invalid" in msg


def test_unclosed_polygon(base: dict[str, Any]) -> None:
    open_ring = ring(-100, -100, 100, 100)[:-1]
    base["airspace"] = {"geofences": [{"name": "x", "kind": "keep_in", "polygon": open_ring}]}
    assert "not closed" in problems(base)["airspace.geofences.0.polygon"]


def test_launch_site_outside_keep_in(base: dict[str, Any]) -> None:
    base["airspace"] = {"geofences": [{"name": "box", "kind": "keep_in", "polygon": ring(500, 500, 900, 900)}]}
    assert "outside every active keep-in" in problems(base)["fleets.0.launch.sites.0"]


def test_launch_site_inside_keep_out(base: dict[str, Any]) -> None:
    base["airspace"] = {"geofences": [{"name": "nofly", "kind": "keep_out", "polygon": ring(-50, -50, 50, 50)}]}
    assert "inside keep-out geofence 'nofly'" in problems(base)["fleets.0.launch.sites.0"]


def test_more_drones_than_memory(base: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "available_memory_bytes", lambda: 50 * 1024**2)
    base["fleets"][0]["count"] = 1_000_000
    assert "GB" in problems(base)["fleets.0.count"]


def test_event_references(base: dict[str, Any]) -> None:
    base["events"] = [{"type": "drone_failure", "at_s": 3, "fleet": "nope", "drones": [0]},
                      {"type": "drone_failure", "at_s": 3, "fleet": "a", "drones": [5]},
                      {"type": "geofence", "at_s": 1, "name": "ghost", "active": True}]
    found = problems(base)
    assert "no fleet named 'nope'" in found["events.0.fleet"]
    assert "beyond fleet" in found["events.1.drones"]
    assert "no geofence" in found["events.2.name"]


def test_every_problem_at_once_with_lines(tmp_path: Path, base: dict[str, Any]) -> None:
    base["dt"] = 0
    base["fleets"][0]["vehicle"] = {"max_speed_mps": 999}
    base["airspace"] = {"geofences": [{"name": "box", "kind": "keep_in", "polygon": ring(500, 500, 900, 900)}]}
    base["wind"] = {"speed_mps": 5, "gust": {}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    paths = {p.path for p in info.value.problems}
    assert {"dt", "fleets.0.vehicle.max_speed_mps", "wind.gust", "fleets.0.launch.sites.0"} <= paths
    text = path.read_text().splitlines()
    for p in info.value.problems:
        assert p.line is not None
        assert p.path.split(".")[-1] in text[p.line - 1] or p.path.split(".")[-1].isdigit()


def test_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("schema_version: 1\nfleets: [\n  {name: a\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems[0].line is not None


def test_toml_scenario(tmp_path: Path, base: dict[str, Any]) -> None:
    site = base["fleets"][0]["launch"]["sites"][0]
    path = tmp_path / "s.toml"
    path.write_text(
        'schema_version = 1\nduration = 10\n[origin]\nlat = 47.0\nlon = 8.0\n'
        f'[[fleets]]\nname = "a"\ncount = 3\n[fleets.launch]\nsites = [{{lat = {site["lat"]}, lon = {site["lon"]}}}]\n'
    )
    assert load_scenario(path).n_drones == 3


def test_qgc_plan_geofences(tmp_path: Path, base: dict[str, Any]) -> None:
    box = ring(-300, -300, 300, 300)[:-1]
    circle_centre = ll(1000, 0)
    plan = {"fileType": "Plan", "version": 1, "groundStation": "QGroundControl",
            "geoFence": {"version": 2, "polygons": [{"inclusion": True, "version": 1,
                                                     "polygon": [[lat, lon] for lon, lat in box]}],
                         "circles": [{"inclusion": False, "version": 1,
                                      "circle": {"center": [circle_centre["lat"], circle_centre["lon"]],
                                                 "radius": 100.0}}]},
            "mission": {"items": [], "version": 2}, "rallyPoints": {"points": [], "version": 2}}
    (tmp_path / "fence.plan").write_text(json.dumps(plan))
    base["airspace"] = {"import_plan": {"path": "fence.plan", "ceiling_m": 100}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(base))
    from skyhive import Simulation

    sim = Simulation.from_file(tmp_path / "s.yaml")
    kinds = sorted((p.kind, round(p.enu.area, -3)) for p in sim.fences.prisms)
    assert kinds[0][0] == "keep_in" and abs(kinds[0][1] - 360_000) < 2_000
    assert kinds[1][0] == "keep_out" and abs(kinds[1][1] - 31_400) < 1_000


def test_cli_validate_reports_without_traceback(tmp_path: Path, base: dict[str, Any]) -> None:
    base["dt"] = -1
    base["fleets"][0]["count"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(base))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "dt" in proc.stderr and "fleets.0.count" in proc.stderr
