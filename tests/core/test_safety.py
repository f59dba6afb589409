"""The safety filter keeps drones apart, inside keep-in, out of keep-out and well clear of manned aircraft;
the monitor counts what gets through (shown by removing the filter)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from skyhive import Simulation
from skyhive.scenario import scenario_from_dict
from skyhive.systems import Phase, TickContext
from tests.conftest import ll, ring


def two_fleets_head_on(base: dict[str, Any]) -> dict[str, Any]:
    base["duration"] = 90
    base["fleets"] = [
        {"name": "west", "count": 1, "launch": {"sites": [ll(-400, 0)]},
         "route": {"waypoints": [ll(-400, 0, 40), ll(400, 0, 40)]}},
        {"name": "east", "count": 1, "launch": {"sites": [ll(400, 0.5)]},
         "route": {"waypoints": [ll(400, 0.5, 40), ll(-400, 0.5, 40)]}},
    ]
    return base


def unfiltered(sim: Simulation) -> Simulation:
    """The same simulation with the safety filter replaced by 'command = intent'."""
    def passthrough(ctx: Any) -> None:
        ctx.world.drones.cmd_vel[:] = ctx.world.drones.intent_vel

    sim.safety.step = passthrough  # type: ignore[method-assign]
    return sim


def test_head_on_pair_keeps_separation(base: dict[str, Any]) -> None:
    sim = Simulation(scenario_from_dict(two_fleets_head_on(base)))
    sim.run()
    m = sim.metrics
    assert m["loss_of_separation_events"] == 0
    assert m["min_separation_m"] >= 10.0
    # both still got where they were going
    assert sim.world.drones.pos[0, 0] > 390 and sim.world.drones.pos[1, 0] < -390


def test_monitor_counts_loss_of_separation_without_filter(base: dict[str, Any]) -> None:
    sim = unfiltered(Simulation(scenario_from_dict(two_fleets_head_on(base))))
    sim.run()
    assert sim.metrics["loss_of_separation_events"] == 1
    assert sim.metrics["min_separation_m"] < 2.0
    warnings = [e for e in sim.log.since(0) if e.source == "safety" and "loss of separation" in e.text]
    assert len(warnings) == 1 and warnings[0].drones is not None
    assert sorted(warnings[0].drones.tolist()) == [0, 1]


def test_dense_crossing_flows_keep_separation(base: dict[str, Any]) -> None:
    base["duration"] = 120
    base["fleets"] = [
        {"name": "ew", "count": 36, "launch": {"sites": [ll(-300, 0)], "spacing_m": 25},
         "route": {"waypoints": [ll(-300, 0, 40), ll(300, 0, 40)]}},
        {"name": "ns", "count": 36, "launch": {"sites": [ll(0, -300)], "spacing_m": 25},
         "route": {"waypoints": [ll(0, -300, 40), ll(0, 300, 40)]}},
    ]
    with_filter = Simulation(scenario_from_dict(base))
    with_filter.run()
    without = unfiltered(Simulation(scenario_from_dict(base)))
    without.run()
    assert without.metrics["loss_of_separation_events"] > 10
    assert with_filter.metrics["loss_of_separation_events"] <= without.metrics["loss_of_separation_events"] // 10
    assert with_filter.metrics["min_separation_m"] > 7.0


class PushEast:
    """A DECIDE-phase system commanding drone 0 due east at 10 m/s, whatever is in the way (as a careless
    ground station or policy would)."""

    name = "push_east"
    phase = Phase.DECIDE
    period = 0.0

    def step(self, ctx: TickContext) -> None:
        if ctx.world.drones.pos[0, 2] > 25.0:
            ctx.world.drones.intent_vel[0] = (10.0, 0.0, 0.0)

    def metrics(self) -> dict[str, object]:
        return {}


@pytest.mark.parametrize("filtered", [True, False])
def test_keep_out_holds_against_any_command(base: dict[str, Any], filtered: bool) -> None:
    base["duration"] = 120
    base["airspace"] = {"geofences": [{"name": "block", "kind": "keep_out", "polygon": ring(200, -100, 300, 100)}]}
    base["fleets"][0]["route"] = {"waypoints": [ll(0, 0, 30)]}
    sim = Simulation(scenario_from_dict(base))
    sim.add_system(PushEast())
    if not filtered:
        unfiltered(sim)
    sim.run()
    if filtered:
        assert sim.metrics["geofence_breach_events"] == 0
        assert sim.world.drones.pos[0, 0] < 200  # held at the fence
    else:
        assert sim.metrics["geofence_breach_events"] == 1


def test_route_is_planned_around_a_keep_out(base: dict[str, Any]) -> None:
    base["duration"] = 150
    base["airspace"] = {"geofences": [{"name": "block", "kind": "keep_out", "polygon": ring(200, -100, 300, 100)}]}
    base["fleets"][0]["route"] = {"waypoints": [ll(0, 0, 30), ll(500, 0, 30)]}
    sim = unfiltered(Simulation(scenario_from_dict(base)))  # the plan alone keeps it out
    sim.run()
    assert sim.metrics["geofence_breach_events"] == 0
    assert sim.metrics["routes_completed"] == 1
    assert abs(sim.world.drones.pos[0, 0] - 500) < 5


def test_route_replanned_when_a_keep_out_switches_on_across_it(base: dict[str, Any]) -> None:
    base["duration"] = 200
    base["airspace"] = {"geofences": [{"name": "tfr", "kind": "keep_out", "polygon": ring(300, -150, 400, 150),
                                       "active": False}]}
    base["events"] = [{"type": "geofence", "at_s": 20, "name": "tfr", "active": True}]
    base["fleets"][0]["route"] = {"waypoints": [ll(0, 0, 30), ll(700, 0, 30)]}
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    m = sim.metrics
    assert m["routes_replanned"] == 1 and m["routes_completed"] == 1 and m["geofence_breach_events"] == 0
    assert any("re-planned" in e.text for e in sim.log.since(0))


def test_goal_enclosed_at_run_time_holds_with_an_event(base: dict[str, Any]) -> None:
    base["duration"] = 120
    base["airspace"] = {"geofences": [{"name": "tfr", "kind": "keep_out", "polygon": ring(300, -150, 500, 150),
                                       "active": False}]}
    base["events"] = [{"type": "geofence", "at_s": 10, "name": "tfr", "active": True}]
    base["fleets"][0]["route"] = {"waypoints": [ll(0, 0, 30), ll(400, 0, 30)], "on_complete": "return"}
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    m = sim.metrics
    assert m["routes_blocked"] == 1 and m["geofence_breach_events"] == 0
    assert any("can no longer be reached" in e.text and "returning" in e.text for e in sim.log.since(0))
    assert np.linalg.norm(sim.world.drones.pos[0, :2]) < 10  # went home


def test_keep_in_and_ceiling(base: dict[str, Any]) -> None:
    base["duration"] = 120
    base["airspace"] = {"geofences": [{"name": "box", "kind": "keep_in", "polygon": ring(-200, -200, 200, 200),
                                       "ceiling_m": 60}]}
    base["fleets"][0]["route"] = {"waypoints": [ll(0, 0, 100), ll(600, 0, 100)]}
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    pos = sim.world.drones.pos[0]
    assert sim.metrics["geofence_breach_events"] == 0
    assert pos[0] < 200 and pos[2] < 60


def test_geofence_activation_event_pushes_drones_out(base: dict[str, Any]) -> None:
    base["duration"] = 90
    base["fleets"][0]["launch"]["sites"][0]["alt_m"] = 30
    base["airspace"] = {"geofences": [{"name": "tfr", "kind": "keep_out", "polygon": ring(-50, -50, 50, 50),
                                       "active": False}]}
    base["events"] = [{"type": "geofence", "at_s": 10, "name": "tfr", "active": True}]
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    pos = sim.world.drones.pos[0]
    assert sim.metrics["geofence_breach_events"] == 0  # being inside when it switched on is not an entry ...
    assert sim.metrics["geofence_inside_at_activation"] == 1  # ... it is counted apart
    assert max(abs(pos[0]), abs(pos[1])) > 50  # ... and it left
    assert 0 < sim.metrics["geofence_clear_after_activation_s"] < 20


def test_drones_deep_inside_a_large_keep_out_leave_it(base: dict[str, Any]) -> None:
    """A 2 km x 2 km keep-out switching on over hovering drones is left however deep inside they are."""
    base["duration"] = 200
    base["fleets"][0]["count"] = 9
    base["fleets"][0]["launch"] = {"sites": [ll(150, 200, 0)], "spacing_m": 15}
    base["fleets"][0]["route"] = {"waypoints": [ll(150, 200, 40)]}
    base["airspace"] = {"geofences": [{"name": "wildfire", "kind": "keep_out",
                                       "polygon": ring(-1000, -1000, 1000, 1000), "active": False}]}
    base["events"] = [{"type": "geofence", "at_s": 30, "name": "wildfire", "active": True}]
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    pos = sim.world.drones.pos
    assert np.all(np.maximum(np.abs(pos[:, 0]), np.abs(pos[:, 1])) > 1000)
    m = sim.metrics
    assert m["geofence_inside_at_activation"] == 9 and m["geofence_breach_events"] == 0
    assert m["loss_of_separation_events"] == 0
    assert m["geofence_clear_after_activation_s"] < 120


def test_drone_pinned_between_two_keep_outs_enters_neither(base: dict[str, Any]) -> None:
    """Two keep-outs switch on 12 m apart around a hovering drone: it holds between them."""
    base["duration"] = 60
    base["fleets"][0]["launch"]["sites"][0]["alt_m"] = 0
    base["fleets"][0]["route"] = {"waypoints": [ll(0, 0, 30)]}
    base["airspace"] = {"geofences": [
        {"name": "west", "kind": "keep_out", "polygon": ring(-300, -300, -6, 300), "active": False},
        {"name": "east", "kind": "keep_out", "polygon": ring(6, -300, 300, 300), "active": False}]}
    base["events"] = [{"type": "geofence", "at_s": 20, "name": "west", "active": True},
                      {"type": "geofence", "at_s": 20, "name": "east", "active": True}]
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    assert sim.metrics["geofence_breach_events"] == 0
    assert abs(sim.world.drones.pos[0, 0]) < 6


def helicopter(base: dict[str, Any]) -> dict[str, Any]:
    base["duration"] = 120
    base["fleets"][0]["launch"]["sites"][0]["alt_m"] = 80
    base["manned"] = [{"name": "heli", "kind": "aircraft", "speed_mps": 50, "loop": False,
                       "route": [ll(-3000, 0, 120), ll(3000, 0, 120)]}]
    return base


def test_drone_keeps_well_clear_of_manned_aircraft(base: dict[str, Any]) -> None:
    sim = Simulation(scenario_from_dict(helicopter(base)))
    sim.run()
    assert sim.metrics["well_clear_violations"] == 0


def test_well_clear_violation_is_counted_without_filter(base: dict[str, Any]) -> None:
    sim = unfiltered(Simulation(scenario_from_dict(helicopter(base))))
    sim.run()
    assert sim.metrics["well_clear_violations"] == 1


def test_ground_vehicles_have_no_well_clear_volume(base: dict[str, Any]) -> None:
    base = helicopter(base)
    base["manned"][0]["kind"] = "ground"
    sim = Simulation(scenario_from_dict(base))
    sim.run()
    assert sim.metrics["well_clear_violations"] == 0
    assert np.linalg.norm(sim.world.drones.pos[0] - [0, 0, 80]) < 2.0  # did not dodge a fire engine
