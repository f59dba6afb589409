"""Scenario section ``tasks``: good tasks load; every bad one is named by ``skyhive validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from skyhive.autonomy.config import CAPABILITY_BITS, taskset_from_specs
from skyhive.scenario.load import ScenarioError, scenario_from_dict

from ..conftest import FRAME, ll, ring, run_cli


def _with_fences(base: dict[str, Any]) -> dict[str, Any]:
    for fleet in base["fleets"]:
        fleet["capabilities"] = ["camera", "thermal"]
    base["airspace"] = {"geofences": [
        {"name": "field", "kind": "keep_in", "polygon": ring(-2000, -2000, 2000, 2000)},
        {"name": "school", "kind": "keep_out", "polygon": ring(500, 500, 800, 800)},
    ]}
    return base


def test_tasks_load_and_convert(base: dict[str, Any]) -> None:
    base = _with_fences(base)
    base["tasks"] = [
        {"id": "bridge", "kind": "inspect", "at": {**ll(100, 200), "alt_m": 40.0}, "value": 5, "service_s": 30,
         "requires": ["camera", "thermal"], "start_s": 10, "end_s": 50},
        {"id": "meadow", "kind": "survey", "area": ring(-1000, -1000, -500, -500)},
    ]
    sc = scenario_from_dict(base)
    ts, names = taskset_from_specs(sc.tasks, FRAME.local)
    assert names == ["bridge", "meadow"]
    assert np.allclose(ts.pos[0], [100, 200, 40], atol=0.5)
    assert np.allclose(ts.pos[1, :2], [-750, -750], atol=1.0)
    assert ts.req_cap[0] == CAPABILITY_BITS["camera"] | CAPABILITY_BITS["thermal"]
    assert (ts.t_start[0], ts.t_end[0], ts.service[0]) == (10, 50, 30)


@pytest.mark.parametrize(("task", "path", "words"), [
    ({"id": "t", "kind": "inspect", "at": ll(3000, 0)}, "tasks.0.at", "outside every active keep-in"),
    ({"id": "t", "kind": "inspect", "at": ll(600, 600)}, "tasks.0.at", "inside keep-out geofence 'school'"),
    ({"id": "t", "kind": "inspect", "at": ll(0, 0), "start_s": 30, "end_s": 20}, "tasks.0", "impossible time window"),
    ({"id": "t", "kind": "inspect", "at": ll(0, 0), "start_s": 100}, "tasks.0.start_s", "after the mission ends"),
    ({"id": "t", "kind": "survey", "area": ring(550, 550, 700, 700)}, "tasks.0.area", "entirely inside keep-out"),
    ({"id": "t", "kind": "survey"}, "tasks.0", "needs 'area'"),
    ({"id": "t", "kind": "follow", "vehicle": "heli"}, "tasks.0.vehicle", "no manned vehicle named 'heli'"),
    ({"id": "t", "kind": "inspect", "at": ll(0, 0), "requires": ["xray"]}, "tasks.0.requires", ""),
    ({"id": "t", "kind": "inspect", "at": ll(0, 0), "requires": ["lidar"]}, "tasks.0.requires",
     "no fleet without a route"),
    # 80 Wh above the reserve; hovering 1,300 s at 240 W alone takes 87 Wh
    ({"id": "t", "kind": "loiter", "at": ll(100, 100), "service_s": 1300}, "tasks.0.at", "out of battery reach"),
])
def test_bad_task_is_named(base: dict[str, Any], task: dict[str, Any], path: str, words: str) -> None:
    base = _with_fences(base)
    good = {"id": "ok", "kind": "inspect", "at": ll(10, 10)}
    base["tasks"] = [task, good]
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(base)
    text = str(exc.value)
    assert path in text and words in text
    assert "tasks.1" not in text  # the good task is not blamed


def test_cli_validate_names_bad_tasks(tmp_path: Path, base: dict[str, Any]) -> None:
    base = _with_fences(base)
    base["tasks"] = [{"id": "a", "kind": "inspect", "at": ll(600, 600)},
                     {"id": "a", "kind": "loiter", "at": ll(0, 0), "start_s": 5, "end_s": 1}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(base))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2
    out = proc.stderr + proc.stdout
    assert "Traceback" not in out
    assert "tasks.0.at" in out and "school" in out and "impossible time window" in out
