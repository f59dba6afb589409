"""Mesh communication: channel, delivery, faults, metrics (issue #3, "Done when")."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skyhive.comms.channel import link_success_probability
from skyhive.comms.config import RadioProfile
from skyhive.comms.system import CommsSystem
from skyhive.scenario.load import ScenarioError, scenario_from_dict
from skyhive.sim import Simulation
from tests.conftest import BASE, ll, ring, run_cli


def scenario(fleets: list[dict[str, Any]], comms: dict[str, Any] | None = None,
             stations: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    sc = copy.deepcopy(BASE)
    sc["fleets"] = fleets
    sc["comms"] = comms or {}
    if stations:
        sc["ground_stations"] = stations
    sc.update(extra)
    return sc


def station(name: str, x: float, y: float, **radio: Any) -> dict[str, Any]:
    p = ll(x, y)
    return {"name": name, "lat": p["lat"], "lon": p["lon"], "antenna_height_m": 0.0, "radio": radio}


def line(name: str, count: int, x0: float, spacing: float, **radio: Any) -> dict[str, Any]:
    """``count`` drones on the ground along +x from x0."""
    centre = x0 + spacing * (count - 1) / 2.0
    return {"name": name, "count": count, "launch": {"sites": [ll(centre, 0)], "layout": "line",
                                                       "spacing_m": spacing}, "radio": radio}


def sim_of(sc: dict[str, Any], seed: int | None = None) -> tuple[Simulation, CommsSystem]:
    # the radio tests park drones on the ground closer than the default separation: set it below the pads
    gaps = [f["launch"]["spacing_m"] for f in sc.get("fleets", []) if "spacing_m" in f.get("launch", {})]
    if gaps and "safety" not in sc:
        sc = {**sc, "safety": {"separation_m": min(10.0, 0.5 * min(gaps))}}
    sim = Simulation(scenario_from_dict(sc), seed=seed)
    comms = sim.system("comms")
    assert isinstance(comms, CommsSystem)
    return sim, comms


def collect(sim: Simulation, comms: CommsSystem, kind: str, ticks: int) -> list[Any]:
    """Step ``ticks`` times; every inbox row as (tick, receiver, sender, hops)."""
    rows: list[Any] = []
    for _ in range(ticks):
        sim.step()
        ib = comms.inbox(kind)
        rows += [(sim.step_count - 1, int(r), int(s), int(h)) for r, s, h in zip(ib.receivers, ib.senders, ib.hops,
                                                                                  strict=True)]
    return rows


def test_no_comms_section_means_no_system() -> None:
    sim = Simulation(scenario_from_dict(copy.deepcopy(BASE)))
    assert not any(s.name == "comms" for s in sim.systems)


def test_link_beyond_range_never_delivers() -> None:
    # strong radios: without the cap both links would be perfect
    sim, comms = sim_of(scenario([line("a", 3, 0.0, 150.0, max_range_m=200.0, tx_power_dbm=30.0)],
                                 {"queue_bytes": 1_000_000}))
    comms.register_kind("hello", 32)
    got: list[Any] = []
    for _ in range(50):
        comms.broadcast(np.zeros(10, np.int64), "hello")
        comms.unicast(np.zeros(10, np.int64), 2, "hello")  # 300 m away, direct link only
        got += collect(sim, comms, "hello", 1)
    receivers = {r for _, r, _, _ in got}
    assert receivers == {1}  # 150 m: delivered; 300 m: never
    st = comms.metrics()["comms_hello"]
    assert isinstance(st, dict)
    assert st["delivered"] == 500 and st["drop_range"] == 500  # the 500 unicasts to drone 2


def test_delivery_ratio_follows_model_curve() -> None:
    radio = {"tx_power_dbm": 0.0, "antenna_gain_dbi": 0.0, "path_loss_exponent": 3.0, "shadowing_sigma_db": 4.0,
             "rx_sensitivity_dbm": -90.0, "noise_floor_dbm": -95.0, "max_range_m": 200.0}
    sim, comms = sim_of(scenario([line("a", 25, 0.0, 4.0, **radio)], {"queue_bytes": 10_000_000}), seed=3)
    comms.register_kind("probe", 64)
    n = 2000
    comms.broadcast(np.zeros(n, np.int64), "probe")
    got = collect(sim, comms, "probe", 12)  # 2,000 x 80 B at 250 kB/s: 0.64 s of queue
    counts = np.bincount([r for _, r, _, _ in got], minlength=25)[1:]
    pos = sim.world.drones.pos
    d = np.linalg.norm(pos[1:] - pos[0], axis=1)
    p = link_success_probability(d, RadioProfile(**radio), RadioProfile(**radio), 64 + 16)
    assert p.max() > 0.9 and p.min() < 0.05  # the curve spans its whole range here
    sd = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) <= 4.5 * sd + 3), (counts, np.round(n * p))
    chi2 = float((((counts - n * p) ** 2) / np.maximum(n * p * (1 - p), 1.0)).sum())
    assert chi2 < 60.0  # 24 degrees of freedom; P(chi2 > 60) ~ 6e-5


def test_flood_reaches_far_drone_through_chain_with_hop_count() -> None:
    # 26 drones 400 m apart (10 km), range cap 500 m: only neighbours hear each other
    sc = scenario([line("chain", 26, 0.0, 400.0, max_range_m=500.0)], {},
                  [station("base", -400.0, 0.0, max_range_m=500.0)], duration=60.0)
    sim, comms = sim_of(sc)
    comms.register_kind("ping", 16, (), np.int64)
    gs = comms.n_drones
    comms.flood(gs, "ping", 7, ttl=40)
    comms.unicast(gs, 25, "ping", 8)  # a direct attempt cannot reach 10.4 km
    got = collect(sim, comms, "ping", 40)
    hops = {r: h for _, r, s, h in got if s == gs}
    assert sorted(hops) == list(range(26))
    assert all(hops[k] == k + 1 for k in range(26))
    far = [x for x in got if x[1] == 25]
    assert len(far) == 1 and far[0][0] == 26  # one hop per tick: hop k arrives in tick k
    assert np.linalg.norm(sim.world.drones.pos[25] - comms.positions()[gs]) > 10_000.0
    st = comms.metrics()["comms_ping"]
    assert isinstance(st, dict)
    assert st["drop_range"] == 1 and st["delivered"] == 26 and st["hops_max"] == 26
    # a TTL of 5 stops after five hops; a routed unicast gets only to its destination
    comms.flood(gs, "ping", 9, ttl=5)
    comms.unicast(gs, 17, "ping", 10, ttl=30)
    got = collect(sim, comms, "ping", 40)
    ids = {r for _, r, _, _ in got}
    assert ids == {0, 1, 2, 3, 4, 17}
    assert [h for _, r, _, h in got if r == 17] == [18]


def test_partition_stops_delivery_and_healing_restores_it() -> None:
    sc = scenario([line("a", 3, 0.0, 50.0), line("b", 3, 200.0, 50.0)],
                  {"faults": [{"type": "partition", "at_s": 1.0, "until_s": 2.0,
                               "a": [{"fleet": "a"}], "b": [{"fleet": "b", "drones": [0, 1, 2]}]}]})
    sim, comms = sim_of(sc)
    comms.register_kind("hb", 20)
    got: list[Any] = []
    for _ in range(30):
        comms.broadcast(np.arange(6), "hb")
        got += collect(sim, comms, "hb", 1)

    def crossing(t0: float, t1: float) -> int:
        return sum(1 for k, r, s, _ in got if t0 <= k * 0.1 < t1 and (r < 3) != (s < 3))

    def inside(t0: float, t1: float) -> int:
        return sum(1 for k, r, s, _ in got if t0 <= k * 0.1 < t1 and (r < 3) == (s < 3))

    # messages sent in tick k arrive in tick k + 1
    assert crossing(0.15, 1.05) > 0
    assert crossing(1.15, 2.05) == 0
    assert inside(1.15, 2.05) > 0
    assert crossing(2.15, 3.0) > 0
    st = comms.metrics()["comms_hb"]
    assert isinstance(st, dict) and st["drop_partition"] == 10 * 18  # 10 ticks x 9 pairs x 2 directions


def test_queue_overflow_drops_are_counted() -> None:
    sim, comms = sim_of(scenario([line("a", 2, 0.0, 50.0)], {"queue_bytes": 16_384, "header_bytes": 16}))
    comms.register_kind("bulk", 1000)
    comms.broadcast(np.zeros(100, np.int64), "bulk")
    got = collect(sim, comms, "bulk", 2)
    st = comms.metrics()["comms_bulk"]
    assert isinstance(st, dict)
    assert st["queue_dropped_msgs"] == 100 - 16384 // 1016 and st["drop_queue"] == st["queue_dropped_msgs"]
    assert len(got) == 16384 // 1016
    # the next tick's queue has drained (16 x 1016 B at 250 kB/s = 65 ms < 100 ms)
    comms.broadcast(np.zeros(16, np.int64), "bulk")
    got = collect(sim, comms, "bulk", 2)
    assert len(got) == 16
    assert st["sent"] == 100


def test_queue_delay_in_latency() -> None:
    sim, comms = sim_of(scenario([line("a", 2, 0.0, 50.0)], {"queue_bytes": 1_000_000, "processing_delay_s": 0.0}))
    comms.register_kind("m", 234)  # 250 B with the header: 1 ms airtime at 250 kB/s
    comms.broadcast(np.zeros(10, np.int64), "m")
    sim.step()
    assert len(comms.inbox("m")) == 0  # arrivals after t = 0 wait for the next tick
    sim.step()
    lat = np.sort(comms.inbox("m").latency_s)
    assert lat == pytest.approx(1e-3 * np.arange(1, 11) + 50.0 / 299_792_458.0, rel=1e-9)


def test_dead_nodes_and_silent_zone() -> None:
    sc = scenario([line("a", 4, 0.0, 100.0)],
                  {"faults": [{"type": "node_failure", "at_s": 0.0, "nodes": [{"fleet": "a", "drones": [3]}]},
                              {"type": "silent_zone", "at_s": 0.0, "until_s": 1.0,
                               "polygon": ring(150.0, -50.0, 250.0, 50.0)}]})
    sim, comms = sim_of(sc)
    comms.register_kind("x", 10)
    got: list[Any] = []
    for _ in range(15):
        comms.broadcast(np.arange(4), "x")
        got += collect(sim, comms, "x", 1)
    assert not any(r == 3 or s == 3 for _, r, s, _ in got)  # the failed radio neither sends nor receives
    assert not any(k * 0.1 < 1.05 and (r == 2 or s == 2) for k, r, s, _ in got)  # drone 2 sits in the zone
    assert any(k * 0.1 > 1.05 and r == 2 for k, r, s, _ in got)  # ... until it lifts
    st = comms.metrics()["comms_x"]
    assert isinstance(st, dict) and st["drop_dead_node"] > 0 and st["drop_silent_zone"] > 0


def test_in_flight_to_a_node_that_dies_is_dropped() -> None:
    sc = scenario([line("a", 2, 0.0, 50.0, data_rate_Bps=20_000.0)], {"queue_bytes": 1_000_000},
                  events=[{"type": "drone_failure", "at_s": 0.5, "fleet": "a", "drones": [1]}])
    sim, comms = sim_of(sc)
    comms.register_kind("big", 3984)
    comms.broadcast(np.zeros(20, np.int64), "big")  # 20 x 4000 B at 20 kB/s: one arrives every 0.2 s
    got = collect(sim, comms, "big", 50)
    st = comms.metrics()["comms_big"]
    assert isinstance(st, dict)
    assert 0 < len(got) < 20 and st["drop_dead_node"] == 20 - len(got)


def test_degraded_radio_loses_range() -> None:
    sc = scenario([line("a", 2, 0.0, 1000.0)],
                  {"faults": [{"type": "degraded", "at_s": 0.5, "until_s": 1.0, "loss_db": 40.0,
                               "nodes": [{"fleet": "a", "drones": [1]}]}]})
    sim, comms = sim_of(sc)
    comms.register_kind("x", 10)
    got: list[Any] = []
    for _ in range(15):
        comms.broadcast(np.arange(2), "x")
        got += collect(sim, comms, "x", 1)
    ticks = sorted({k for k, _, _, _ in got})
    assert ticks == [1, 2, 3, 4, 5, 11, 12, 13, 14]


def test_gilbert_elliott_losses_come_in_bursts() -> None:
    radio = {"gilbert_elliott": {"mean_good_s": 2.0, "mean_bad_s": 2.0, "loss_bad": 1.0}}
    sim, comms = sim_of(scenario([line("a", 2, 0.0, 50.0, **radio)], {}), seed=5)
    comms.register_kind("x", 10)
    ok = []
    for _ in range(3000):
        comms.unicast(0, 1, "x")
        sim.step()
        ok.append(len(comms.inbox("x")) == 1)
    lost = ~np.array(ok[:-1])
    assert 0.35 < lost.mean() < 0.65  # stationary P(bad) = 0.5
    stay = (lost[1:] & lost[:-1]).sum() / lost[:-1].sum()
    assert stay > 0.9  # P(bad -> bad) over 0.1 s = 0.5 + 0.5 exp(-0.1) ~ 0.95; independent loss would give 0.5


def test_runs_are_bit_identical_for_a_seed() -> None:
    radio = {"shadowing_sigma_db": 6.0, "path_loss_exponent": 2.8,
             "gilbert_elliott": {"mean_good_s": 3.0, "mean_bad_s": 0.5, "loss_bad": 0.8}}
    fleets = [{"name": "a", "count": 60, "launch": {"sites": [ll(0, 0)], "spacing_m": 30.0}, "radio": radio,
               "route": {"waypoints": [ll(0, 0, 40), ll(300, 200, 40)], "loop": True}}]
    sc = scenario(fleets, {"traffic": {"state_hz": 2.0, "ping_hz": 1.0, "ping_ttl": 8}},
                  [station("gs", -100.0, 0.0)])

    def run(seed: int) -> tuple[str, dict[str, Any]]:
        sim, comms = sim_of(sc, seed=seed)
        h = hashlib.sha256()
        for _ in range(80):
            sim.step()
            for kind in ("state", "ping"):
                ib = comms.inbox(kind)
                for arr in (ib.receivers, ib.senders, ib.via, ib.payload, ib.hops, ib.sent_t, ib.latency_s):
                    h.update(np.ascontiguousarray(arr).tobytes())
        m = {k: v for k, v in sim.metrics.items() if k.startswith("comms")}
        return h.hexdigest(), m

    a, b, c = run(11), run(11), run(12)
    assert a == b
    assert a[0] != c[0]
    st = a[1]["comms_state"]
    assert st["delivered"] > 0 and st["drop_loss"] > 0


def test_api_errors() -> None:
    sim, comms = sim_of(scenario([line("a", 2, 0.0, 50.0)], {"max_payload_bytes": 1500}))
    comms.register_kind("pos", 24, (3,), np.float64)
    with pytest.raises(KeyError, match="unknown message kind 'nope'"):
        comms.broadcast([0], "nope")
    with pytest.raises(ValueError, match="size_bytes 2000 is outside"):
        comms.register_kind("huge", 2000)
    with pytest.raises(ValueError, match="node ids"):
        comms.broadcast([5], "pos")
    with pytest.raises(ValueError, match="payload shape"):
        comms.broadcast([0, 1], "pos", np.zeros((2, 4)))
    with pytest.raises(ValueError, match="already registered"):
        comms.register_kind("pos", 32)
    comms.broadcast([0, 1], "pos", np.array([[1.0, 2, 3], [4, 5, 6]]))
    sim.step()
    sim.step()
    ib = comms.inbox("pos")
    assert ib.payload[ib.receivers == 1].tolist() == [[1.0, 2.0, 3.0]]
    assert ib.senders[ib.receivers == 0].tolist() == [1]
    st = comms.metrics()["comms_pos"]
    assert isinstance(st, dict) and st["sent"] == 2 and st["delivered"] == 2


@pytest.mark.parametrize(("radio", "path", "text"), [
    ({"data_rate_Bps": -5}, "fleets.0.radio.data_rate_Bps", "greater than 0"),
    ({"rx_sensitivity_dbm": -10, "tx_power_dbm": -30}, "fleets.0.radio", "no link is possible"),
    ({"max_range_m": 0}, "fleets.0.radio.max_range_m", "greater than 0"),
    ({"frequency_hz": 10}, "fleets.0.radio.frequency_hz", "greater than or equal"),
    ({"modulation": "qam4096"}, "fleets.0.radio.modulation", "Input should be"),
])
def test_bad_radio_profiles(radio: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario([line("a", 2, 0.0, 50.0, **radio)]))
    assert any(p.path == path and text in p.message for p in err.value.problems), err.value.problems


def test_bad_faults_and_stations() -> None:
    sc = scenario([line("a", 2, 0.0, 50.0)],
                  {"faults": [{"type": "node_failure", "at_s": 0, "nodes": [{"fleet": "zz"}]},
                              {"type": "partition", "at_s": 0, "a": [{"fleet": "a", "drones": [7]}],
                               "b": [{"ground_stations": ["nope"]}]},
                              {"type": "degraded", "at_s": 5, "until_s": 1, "loss_db": 3,
                               "nodes": [{"fleet": "a"}]}]},
                  [station("g", 0, 0), station("g", 10, 0)])
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(sc)
    paths = {p.path for p in err.value.problems}
    assert {"comms.faults.0.nodes.0.fleet", "comms.faults.1.a.0.drones", "comms.faults.1.b.0.ground_stations",
            "comms.faults.2", "ground_stations.1.name"} <= paths, err.value.problems


def test_cli_validate_reports_radio_errors(tmp_path: Path) -> None:
    import yaml

    sc = scenario([line("a", 2, 0.0, 50.0, data_rate_Bps=-1)], {"queue_bytes": -3})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(sc))
    out = run_cli("validate", str(path))
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "fleets.0.radio.data_rate_Bps" in text and "comms.queue_bytes" in text
    assert "Traceback" not in text


def test_link_graph_in_mcap(tmp_path: Path) -> None:
    from skyhive.record.attach import attach_recorder
    from skyhive.record.reader import read_messages

    sim, _ = sim_of(scenario([line("a", 5, 0.0, 100.0, max_range_m=150.0)], {"record_hz": 1.0}))
    rec = attach_recorder(sim, tmp_path / "run.mcap")
    sim.run(until=3.0)
    rec.close()
    msgs = [m for topic, _, m in read_messages(tmp_path / "run.mcap", ["/comms/links"])]
    assert len(msgs) == 4  # t = 0, 1, 2, 3 s
    import jsonschema

    from skyhive.record.schemas import FOXGLOVE_SCHEMAS

    jsonschema.validate(msgs[0], FOXGLOVE_SCHEMAS["foxglove.SceneUpdate"])
    lines = msgs[0]["entities"][0]["lines"][0]
    assert len(lines["points"]) == 5  # every node; links as index pairs
    pairs = sorted(zip(lines["indices"][0::2], lines["indices"][1::2], strict=True))
    assert pairs == [(0, 1), (1, 2), (2, 3), (3, 4)]  # 100 m links; the 200 m ones are beyond the cap


def test_example_mesh_relay_reaches_far_edge() -> None:
    root = Path(__file__).resolve().parents[2]
    sim = Simulation.from_file(root / "examples" / "mesh-relay.yaml")
    comms = sim.system("comms")
    assert isinstance(comms, CommsSystem)
    gs = comms.positions()[comms.n_drones]
    far = int(np.argmax(np.linalg.norm(sim.world.drones.pos - gs, axis=1)))
    far_dist = float(np.linalg.norm(sim.world.drones.pos[far] - gs))
    reached: set[int] = set()
    for _ in range(60):
        sim.step()
        ib = comms.inbox("ping")
        reached |= set(ib.receivers.tolist())
    assert far_dist > 5_000.0 and far_dist > 3 * comms.max_range[comms.n_drones]
    assert far in reached
    # and it keeps reaching the swarm for the whole run (the route must not carry the swarm out of range)
    sim.run()
    assert sim.metrics["comms_ping"]["delivery_ratio"] > 0.95


def test_free_space_numbers() -> None:
    from skyhive.comms.channel import bit_error_rate, packet_error_rate, path_loss_db

    # Friis at 2.4 GHz: 40.05 dB at 1 m, +20 dB per decade
    assert path_loss_db(np.array([1.0, 1000.0]), 2.4e9, 2.0) == pytest.approx([40.05, 100.05], abs=0.01)
    assert path_loss_db(np.array([100.0]), 2.4e9, 3.0)[0] == pytest.approx(40.05 + 60.0, abs=0.01)
    # BPSK at Eb/N0 = 9.6 dB: BER ~ 1e-5 (textbook point)
    assert bit_error_rate(np.array([9.6]), 0)[0] == pytest.approx(1.0e-5, rel=0.1)
    assert bit_error_rate(np.array([10.0]), 1)[0] == pytest.approx(0.5 * np.exp(-10.0))
    assert packet_error_rate(np.array([1e-4]), 100.0)[0] == pytest.approx(1 - (1 - 1e-4) ** 800)


def test_manned_vehicle_and_ground_station_are_nodes() -> None:
    sc = scenario([line("a", 1, 0.0, 10.0)], {}, [station("gs", 300.0, 0.0)],
                  manned=[{"name": "heli", "speed_mps": 1.0, "loop": False,
                           "route": [ll(0, 400, 100), ll(0, 2000, 100)]}])
    sim, comms = sim_of(sc)
    assert comms.n_nodes == 3
    comms.register_kind("hi", 8)
    comms.broadcast([0], "hi")
    sim.step()
    sim.step()
    assert sorted(comms.inbox("hi").receivers.tolist()) == [1, 2]  # ground station 1, manned vehicle 2
    comms.unicast(2, 1, "hi")  # sent in tick 1, arrives 1.2 ms later: delivered in tick 2
    sim.step()
    ib = comms.inbox("hi")
    assert ib.receivers.tolist() == [1] and ib.senders.tolist() == [2]


def test_flood_takes_shortest_hop_paths_with_summed_latency() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    # a 12 x 12 grid, 100 m apart, 250 m range: many paths and many duplicate copies per wave
    fleets = [{"name": "g", "count": 144, "launch": {"sites": [ll(550, 550)], "spacing_m": 100.0},
               "radio": {"max_range_m": 250.0}}]
    sim, comms = sim_of(scenario(fleets, {"processing_delay_s": 0.002}, [station("gs", -100.0, -100.0,
                                                                                 max_range_m=250.0)]))
    comms.register_kind("p", 40, (), np.int64)
    comms.flood(144, "p", 1, ttl=50)
    hops: dict[int, int] = {}
    lat: dict[int, float] = {}
    for _ in range(30):
        sim.step()
        ib = comms.inbox("p")
        for r, h, x in zip(ib.receivers.tolist(), ib.hops.tolist(), ib.latency_s.tolist(), strict=True):
            assert r not in hops  # duplicates suppressed: one delivery per node
            hops[r], lat[r] = h, x
    i, j, _ = comms.links()
    g = coo_matrix((np.ones(i.size), (i, j)), shape=(145, 145))
    bfs = shortest_path(g, directed=False, unweighted=True, indices=144)
    assert sorted(hops) == list(range(144))
    assert all(hops[k] == bfs[k] for k in range(144))
    # no queueing here (one message per node): latency = hops x (airtime + processing) + propagation
    per_hop = (40 + 16) / 250_000.0 + 0.002
    for k in range(144):
        assert per_hop * hops[k] <= lat[k] <= per_hop * hops[k] + hops[k] * 250.0 / 299_792_458.0 + 1e-12
    st = comms.metrics()["comms_p"]
    assert isinstance(st, dict) and st["duplicates"] > 144 and st["delivered"] == 144


def test_latency_percentiles_from_histogram() -> None:
    from skyhive.comms.system import KindStats

    st = KindStats()
    rng = np.random.default_rng(0)
    lat = rng.lognormal(np.log(0.02), 0.8, 50_000)
    st.add_latency(lat, lat + 0.1, np.ones(lat.size, np.int32))
    for q in (0.5, 0.95, 0.99):
        assert st.quantile(st.latency_hist, q) == pytest.approx(np.quantile(lat, q), rel=0.02)
        assert st.quantile(st.age_hist, q) == pytest.approx(np.quantile(lat + 0.1, q), rel=0.02)
    assert st.quantile(np.zeros_like(st.latency_hist), 0.5) is None


def test_huge_send_calls_are_split_and_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many floods relayed where every node hears every other once needed all links of a call in memory at
    once (a dense 2,000-drone grid asked for 7 GiB); calls over the cap are now sent in halves."""
    import skyhive.comms.system as system

    def run(cap: int) -> tuple[set[tuple[int, int]], dict[str, Any]]:
        monkeypatch.setattr(system, "MAX_LINKS_PER_CALL", cap)
        sim, comms = sim_of(scenario([line("a", 60, 0.0, 5.0)], {"queue_bytes": 1_000_000}))
        comms.register_kind("rep", 32)
        comms.flood(np.arange(0, 60, 3), "rep", ttl=4)
        got = collect(sim, comms, "rep", 6)
        st = comms.metrics()["comms_rep"]
        assert isinstance(st, dict)
        return {(r, s) for _, r, s, _ in got}, st

    whole, st_whole = run(1 << 21)
    split, st_split = run(100)  # far below one relay tick's links: every call splits down to single messages
    assert whole == split == {(r, s) for s in range(0, 60, 3) for r in range(60) if r != s}
    for key in ("sent", "transmissions", "delivered", "bytes", "queue_dropped_msgs"):
        assert st_split[key] == st_whole[key], key
