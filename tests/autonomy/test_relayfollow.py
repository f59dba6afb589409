"""Follow formations around a manned vehicle and relay chains to a ground station (docs/autonomy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skyhive.autonomy.mission import slot_positions
from skyhive.sim import Simulation

from .test_mission import ll, scenario

OFFSETS = [[30.0, 0.0, 30.0], [0.0, 30.0, 30.0], [0.0, -30.0, 30.0]]


def _follow(tmp_path: Path, **over: Any) -> Simulation:
    engine = {"name": "engine", "kind": "ground", "speed_mps": 6.0, "loop": False,
              "route": [{**ll(0, 100), "alt_m": 0}, {**ll(3000, 100), "alt_m": 0}],
              "radio": {"max_range_m": 1500}}
    task = {"id": "escort", "kind": "follow", "vehicle": "engine", "offsets": OFFSETS, "value": 10}
    return Simulation.from_file(scenario(tmp_path, manned=[engine], tasks=[task], duration=300, **over))


def _truth_slots(sim: Simulation) -> np.ndarray:
    m = sim.world.manned
    h = np.arctan2(m.vel[0, 1], m.vel[0, 0])
    return slot_positions(m.pos[0][None, :], np.array([h]), np.asarray(OFFSETS))


def test_follow_holds_formation_around_a_moving_fire_engine(tmp_path: Path) -> None:
    sim = _follow(tmp_path)
    mis = sim.system("mission")
    sim.run(until=120.0)
    slots = _truth_slots(sim)
    assert np.hypot(*sim.world.manned.vel[0, :2]) > 5.0  # it is driving
    for s in range(3):
        who = np.flatnonzero(mis.cur == s)  # type: ignore[attr-defined]
        assert who.size == 1, (s, who)  # one drone per slot, no conflicts
        err = np.linalg.norm(sim.world.drones.pos[mis.wid[who[0]]] - slots[s])  # type: ignore[attr-defined]
        assert err < 8.0, (s, err)
    sim.run()
    assert sim.metrics["mission_conflicts"] == 0
    assert np.isfinite(mis.mv_t).all()  # type: ignore[attr-defined]  # every worker heard the engine


def test_follow_dead_reckons_then_holds_when_the_vehicle_radio_fails(tmp_path: Path) -> None:
    fault = {"type": "node_failure", "at_s": 100, "nodes": [{"manned": ["engine"]}]}
    sim = _follow(tmp_path, comms={"record_hz": 0, "faults": [fault]})
    mis = sim.system("mission")
    sim.run(until=99.0)
    node = mis.wid[np.flatnonzero(mis.cur == 0)[0]]  # type: ignore[attr-defined]
    sim.run(until=101.0)
    p0 = sim.world.drones.pos[node].copy()
    sim.run(until=103.0)
    assert np.linalg.norm(sim.world.drones.pos[node] - p0) > 8.0  # dead-reckoning: still moving with it
    sim.run(until=130.0)
    p1, v1 = sim.world.drones.pos[node].copy(), sim.world.manned.pos[0].copy()
    sim.run(until=150.0)
    assert np.linalg.norm(sim.world.drones.pos[node] - p1) < 2.0  # holding at the last estimate
    assert np.linalg.norm(sim.world.manned.pos[0] - v1) > 100.0  # while the engine drives on
    assert np.linalg.norm(sim.world.drones.pos[node] - _truth_slots(sim)[0]) > 100.0


def _ping(sim: Simulation, kind: Any, src: int, dst: int, ticks: int = 25) -> bool:
    comms = sim.system("comms")
    comms.unicast([src], [dst], kind, [1], ttl=16)  # type: ignore[attr-defined]
    got = False
    for _ in range(ticks):
        sim.step()
        got |= bool((comms.inbox(kind).receivers == dst).any())  # type: ignore[attr-defined]
    return got


def _at(sim: Simulation, p: np.ndarray) -> int:
    """The one drone within 10 m of ``p``."""
    near = np.flatnonzero(np.linalg.norm(sim.world.drones.pos - p, axis=1) < 10.0)
    assert near.size == 1, near
    return int(near[0])


def test_relay_chain_connects_station_to_a_far_drone(tmp_path: Path) -> None:
    far = {"id": "far", "kind": "inspect", "at": {**ll(1300, 0), "alt_m": 40}, "service_s": 500, "value": 5}
    relay = {"id": "chain", "kind": "relay", "at": {**ll(1300, 0), "alt_m": 40}, "value": 5}
    path = scenario(tmp_path, tasks=[far], duration=500,
                    fleets=[{"name": "team", "count": 8, "launch": {"sites": [ll(0, 0)], "layout": "grid",
                                                                     "spacing_m": 20}, "radio": {"max_range_m": 500}}],
                    ground_stations=[{"name": "base", **ll(0, -20), "radio": {"max_range_m": 500}}],
                    mission={"stale_rounds": 1000, "operator": [{"at_s": 200, "add": relay}]})
    sim = Simulation.from_file(path)
    mis = sim.system("mission")
    comms = sim.system("comms")
    kind = comms.register_kind("test/ping", 8, (), np.int64)  # type: ignore[attr-defined]
    gs = int(mis.gs_nodes[0])  # type: ignore[attr-defined]
    sim.run(until=180.0)
    assert np.isfinite(mis.arrive_t[0])  # type: ignore[attr-defined]
    dst = _at(sim, mis.tasks.pos[0])  # type: ignore[attr-defined]
    assert not _ping(sim, kind, gs, dst)  # 1.3 km, 500 m radios: out of reach
    sim.run(until=200.5)
    chain = mis.mtasks[1].cbba  # type: ignore[attr-defined]
    assert chain.size == 3  # ceil(1300 / 350) - 1 relays, evenly spaced
    pts = np.vstack([mis.gs_pos[0], mis.tasks.pos[chain], mis.tasks.pos[0]])  # type: ignore[attr-defined]
    hops = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    assert (hops <= 350.0).all() and np.ptp(hops) < 5.0, hops
    while not np.isfinite(mis.arrive_t[chain]).all() and sim.t < 450:  # type: ignore[attr-defined]
        sim.step()
    assert np.isfinite(mis.arrive_t[chain]).all()  # type: ignore[attr-defined]
    sim.run(until=sim.t + 3.0)
    assert _at(sim, mis.tasks.pos[0]) == dst  # type: ignore[attr-defined]  # still the same drone out there
    assert _ping(sim, kind, gs, dst)


@pytest.mark.parametrize(("extra", "task", "path", "words"), [
    ({}, {"id": "t", "kind": "relay", "at": {**ll(100, 0), "alt_m": 40}}, "tasks.0.station", "no ground station"),
    ({"manned": [{"name": "heli", "speed_mps": 40,
                  "route": [{**ll(0, 0), "alt_m": 300}, {**ll(900, 0), "alt_m": 300}]}]},
     {"id": "t", "kind": "follow", "vehicle": "heli", "offsets": [[100, 0, 0]]}, "tasks.0.offsets.0", "well-clear"),
    ({}, {"id": "t", "kind": "follow", "vehicle": "nobody"}, "tasks.0.vehicle", "no manned vehicle named 'nobody'"),
])
def test_bad_relay_and_follow_are_named(base: dict[str, Any], extra: dict[str, Any], task: dict[str, Any],
                                        path: str, words: str) -> None:
    from skyhive.scenario.load import ScenarioError, scenario_from_dict

    base = {**base, **extra, "tasks": [task]}
    base.pop("ground_stations", None)
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(base)
    assert path in str(exc.value) and words in str(exc.value)
