"""Operator actions: validation names every problem and changes nothing; valid ones reach the drones through the
mission's ground-station orders, the alert list and the fence set (the safety layer keeps drones out)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from skyhive.console.actions import MAX_MESSAGE_BYTES, ActionError, Operator, parse_action
from skyhive.console.picture import Picture
from skyhive.sim import Simulation
from tests.console.conftest import SCENARIO


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ActionError) as exc:
        parse_action(text)
    return exc.value.problems


def test_malformed_oversized_and_unknown_messages_are_named() -> None:
    assert "malformed JSON" in problems("{not json")[0][1]
    assert "limit" in problems(" " * (MAX_MESSAGE_BYTES + 1))[0][1]
    assert problems("[1, 2]")[0][1].startswith("an action is a JSON object")
    assert problems('{"op": "launch_missiles"}')[0][0] == "op"


def test_every_bad_field_is_listed_with_its_path() -> None:
    got = dict(problems(json.dumps({"op": "add_task", "kind": "inspect", "lat": 95.0, "lon": 200.0,
                                    "alt_m": -5})))
    assert set(got) == {"lat", "lon", "alt_m"}
    got = dict(problems(json.dumps({"op": "add_keep_out", "polygon": [[8.0, 47.0], [8.001, 47.0]]})))
    assert "at least 3" in got["polygon"]
    got = dict(problems(json.dumps({"op": "ack_alert", "id": "x", "extra": 1})))
    assert set(got) == {"id", "extra"}


def sim_and_operator() -> tuple[Simulation, Operator]:
    sim = Simulation.from_file(SCENARIO)
    return sim, Operator(Picture(sim))


def apply(operator: Operator, **action: object) -> dict[str, object]:
    return operator.apply(parse_action(json.dumps(action)))


def test_rejected_actions_change_nothing() -> None:
    sim, op = sim_and_operator()
    mission = op.picture.mission
    assert mission is not None
    before = (len(mission.mtasks), len(sim.fences.prisms), len(sim.log))
    for action in ({"op": "cancel_task", "id": "nope"}, {"op": "ack_alert", "id": 99},
                   {"op": "set_keep_out", "name": "nope", "active": True},
                   {"op": "add_task", "kind": "inspect", "lat": 10.0, "lon": 8.0},  # 4,000 km away
                   {"op": "add_task", "kind": "search"},  # no area
                   {"op": "add_keep_out", "polygon": [[8.0, 47.0], [8.001, 47.0], [8.001, 47.001]], "floor_m": 100,
                    "ceiling_m": 50}):
        with pytest.raises(ActionError) as exc:
            apply(op, **action)
        assert exc.value.problems and all(m for _, m in exc.value.problems)
    assert (len(mission.mtasks), len(sim.fences.prisms), len(sim.log)) == before
    assert op.rejected == 6 and op.applied == 0


def test_added_task_is_flown_to_and_logged() -> None:
    sim, op = sim_and_operator()
    lat, lon, _ = sim.frame.geodetic(np.array([250.0, 150.0, 0.0]))
    reply = apply(op, op="add_task", kind="inspect", lat=float(lat), lon=float(lon), alt_m=40.0, service_s=5.0)
    task = str(reply["task"])
    assert any("operator: add task " + task in e.text for e in sim.log.events)
    goal = np.array([250.0, 150.0])
    best = np.inf
    while sim.t < 60.0 and best > 6.0:
        sim.step()
        best = float(np.hypot(*(sim.world.drones.pos[:, :2] - goal).T).min())
    assert best <= 6.0, f"no drone reached the operator's task (closest {best:.1f} m)"
    # and cancelling it by id works; a second cancel of an unknown id does not
    apply(op, op="cancel_task", id=task)
    assert op.picture.mission is not None and op.picture.mission.mtasks[-1].cancelled_t is not None


def test_drawn_keep_out_is_respected() -> None:
    sim, op = sim_and_operator()
    corners = np.array([[200.0, -100.0], [400.0, -100.0], [400.0, 100.0], [200.0, 100.0]])
    lat, lon, _ = sim.frame.geodetic(np.column_stack([corners, np.zeros(4)]))
    reply = apply(op, op="add_keep_out", polygon=[[float(a), float(b)] for a, b in zip(lon, lat, strict=True)])
    name = str(reply["fence"])
    assert name in sim.fences.names()
    # a task in the middle of it: drones try to get there, the safety layer stops them at the edge
    clat, clon, _ = sim.frame.geodetic(np.array([300.0, 0.0, 0.0]))
    apply(op, op="add_task", kind="inspect", lat=float(clat), lon=float(clon), alt_m=40.0)
    box = shapely.box(200.0, -100.0, 400.0, 100.0)
    closest = np.inf
    while sim.t < 70.0:
        sim.step()
        p = sim.world.drones.pos
        assert not shapely.contains_xy(box, p[:, 0], p[:, 1]).any(), f"a drone entered the keep-out at t={sim.t}"
        closest = min(closest, float(200.0 - p[:, 0].max()))
    assert closest < 30.0, f"no drone even approached the keep-out (closest {closest:.0f} m): the test shows nothing"
    # switching it off through the same action path
    apply(op, op="set_keep_out", name=name, active=False)
    assert not sim.fences.prisms[-1].active


def test_acknowledging_an_alert() -> None:
    sim, op = sim_and_operator()
    pic = op.picture.airspace
    assert pic is not None
    while sim.t < 30.0 and not pic.alerts:
        sim.step()
    assert pic.alerts, "the test scenario's intruder raised no alert"
    first = pic.alerts[0].alert_id
    apply(op, op="ack_alert", id=first)
    assert pic.alerts[0].acknowledged
    assert all(a["id"] != first for a in op.picture.tracks_and_alerts()[1])


def test_operator_actions_reach_the_mcap_log(tmp_path: object) -> None:
    from skyhive.record.attach import attach_recorder
    from skyhive.record.reader import read_messages

    path = tmp_path / "run.mcap"  # type: ignore[operator]
    sim, op = sim_and_operator()
    rec = attach_recorder(sim, path)
    sim.step()
    lat, lon, _ = sim.frame.geodetic(np.array([100.0, 100.0, 0.0]))
    apply(op, op="add_task", kind="loiter", lat=float(lat), lon=float(lon), id="watch-gate")
    sim.step()
    rec.close()
    texts = [m["message"] for _, _, m in read_messages(path, topics=["/events"])]
    assert any("operator: add task watch-gate (loiter)" in t for t in texts), texts


def test_keep_out_across_a_route_replans_the_fleet() -> None:
    """A route fleet (airport-watch's inspection loop) flies around an operator's keep-out drawn across its route."""
    from pathlib import Path

    sim = Simulation.from_file(Path(__file__).parents[2] / "examples" / "airport-watch.yaml")
    op = Operator(Picture(sim))
    follower = sim.waypoints
    before = follower.replans
    # a block across the loop's first (eastbound) leg, 47.4365 N from 8.560 E to 8.5759 E at 50 m
    apply(op, op="add_keep_out", polygon=[[8.566, 47.4350], [8.569, 47.4350], [8.569, 47.4380], [8.566, 47.4380]])
    for _ in range(5):
        sim.step()
    assert follower.replans > before
