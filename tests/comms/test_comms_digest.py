"""The mesh's outputs on a fixed busy scenario are pinned: every inbox row and every metric, tick by tick.

The digests below were recorded from the comms model before its hot path was rewritten into fused kernels
(docs/comms.md, "Performance"); the rewrite must reproduce them exactly.  The scenario exercises every path:
shadowing, Gilbert-Elliott, two modulations, slow radios with full queues, every fault type, a drone failing
with messages in flight, a ground station, a manned vehicle, broadcasts, direct and routed unicasts, floods
from several senders in one call, and the built-in state and ping traffic.  Drones stay on the ground, so the
run depends on the core only through launch positions.  Floats are hashed rounded (latency to 1e-12 s,
payload to 1e-6) so that a last-bit difference of a platform's libm in the launch geometry does not fail it;
integers (who got what, hops, counts) are hashed exactly.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import numpy as np

from skyhive.comms.system import CommsSystem
from skyhive.scenario.load import scenario_from_dict
from skyhive.sim import Simulation
from tests.conftest import BASE, ll, ring

RECORDED = {
    "inbox": "52e5c4263c643b1f009713fb054eb4fa8e465b667ab2d4596b04eb6555583e7b",
    "metrics": "35654065b8166ee03046e8605a621bb0aaf930390e8d6e9d1e0450f4cdc064a3",
}


def busy_scenario() -> dict[str, Any]:
    sc = copy.deepcopy(BASE)
    ge = {"mean_good_s": 3.0, "mean_bad_s": 0.5, "loss_bad": 0.7, "loss_good": 0.01}
    sc["fleets"] = [
        {"name": "a", "count": 120, "launch": {"sites": [ll(0, 0)], "layout": "grid", "spacing_m": 60.0},
         "radio": {"max_range_m": 250.0, "path_loss_exponent": 2.6, "shadowing_sigma_db": 5.0,
                   "gilbert_elliott": ge}},
        {"name": "b", "count": 60, "launch": {"sites": [ll(700, 0)], "layout": "grid", "spacing_m": 80.0},
         "radio": {"max_range_m": 300.0, "modulation": "dbpsk", "data_rate_Bps": 20_000.0,
                   "shadowing_sigma_db": 3.0}},
    ]
    sc["ground_stations"] = [
        {"name": "gs1", "lat": ll(-400, 0)["lat"], "lon": ll(-400, 0)["lon"], "antenna_height_m": 10.0,
         "radio": {"max_range_m": 300.0}},
        {"name": "gs2", "lat": ll(1000, 100)["lat"], "lon": ll(1000, 100)["lon"], "antenna_height_m": 5.0,
         "radio": {"max_range_m": 400.0, "tx_power_dbm": 27.0}},
    ]
    sc["manned"] = [{"name": "heli", "speed_mps": 40.0, "loop": True,
                     "route": [ll(-300, -300, 120), ll(900, 300, 120)]}]
    sc["events"] = [{"type": "drone_failure", "at_s": 6.05, "fleet": "b", "drones": [5, 6, 7, 20]}]
    sc["comms"] = {
        "queue_bytes": 4000, "processing_delay_s": 0.0015,
        "traffic": {"state_hz": 2.0, "state_bytes": 64, "ping_hz": 3.0, "ping_bytes": 32, "ping_ttl": 20},
        "faults": [
            {"type": "node_failure", "at_s": 2.0, "until_s": 5.0,
             "nodes": [{"fleet": "a", "drones": [3, 4, 50]}, {"ground_stations": ["gs2"]}]},
            {"type": "silent_zone", "at_s": 4.0, "until_s": 9.0, "polygon": ring(100.0, -100.0, 250.0, 100.0)},
            {"type": "partition", "at_s": 7.0, "until_s": 11.0, "a": [{"fleet": "a"}],
             "b": [{"fleet": "b"}, {"manned": ["heli"]}]},
            {"type": "degraded", "at_s": 1.0, "until_s": 8.0, "loss_db": 15.0,
             "nodes": [{"fleet": "b", "drones": [0, 1, 2]}, {"ground_stations": ["gs1"]}]},
        ],
    }
    return sc


def run_busy(ticks: int = 150, seed: int = 7, exact: bool = False) -> tuple[str, str]:
    """(inbox digest, metrics digest) of the busy scenario; ``exact`` hashes floats bit for bit."""
    sim = Simulation(scenario_from_dict(busy_scenario()), seed=seed)
    comms = sim.system("comms")
    assert isinstance(comms, CommsSystem)
    comms.register_kind("cmd", 200, (2,), np.float64)
    comms.register_kind("alert", 24, (), np.int64)
    gen = np.random.default_rng(123)  # the test's own traffic, independent of the simulation's generators
    n = comms.n_nodes
    h = hashlib.sha256()

    def f(x: Any, nd: int) -> bytes:
        a = np.ascontiguousarray(x)
        return a.tobytes() if exact or a.dtype.kind != "f" else np.round(a.astype(np.float64), nd).tobytes()

    for k in range(ticks):
        s, d = gen.integers(0, n, 25), gen.integers(0, n, 25)
        comms.unicast(s, d, "cmd", gen.random((25, 2)))
        comms.unicast(gen.integers(0, n, 3), gen.integers(0, n, 3), "cmd", gen.random((3, 2)), ttl=10)
        comms.broadcast(gen.integers(0, n, 12), "cmd", gen.random((12, 2)))
        if k % 7 == 0:
            comms.flood(gen.integers(0, n, 2), "alert", gen.integers(0, 1000, 2), ttl=12)
        if k % 11 == 3:
            comms.broadcast(np.full(30, gen.integers(0, 180)), "cmd", gen.random((30, 2)))  # overflows a queue
        sim.step()
        for kind in ("state", "ping", "cmd", "alert"):
            ib = comms.inbox(kind)
            h.update(f"{k}:{kind}:{len(ib)}".encode())
            for arr in (ib.receivers, ib.senders, ib.via, ib.hops):
                h.update(np.ascontiguousarray(arr, np.int64).tobytes())
            h.update(f(ib.payload, 6))
            h.update(f(ib.sent_t, 12))
            h.update(f(ib.latency_s, 12))
    m = {k: v for k, v in comms.metrics().items()}
    return h.hexdigest(), hashlib.sha256(json.dumps(m, sort_keys=True).encode()).hexdigest()


def test_busy_scenario_outputs_are_pinned() -> None:
    inbox, metrics = run_busy()
    assert inbox == RECORDED["inbox"]
    assert metrics == RECORDED["metrics"]


def test_compiled_histograms_match_numpy_binning() -> None:
    from skyhive.comms.system import KindStats

    rng = np.random.default_rng(1)
    lat = np.concatenate([rng.lognormal(np.log(0.01), 2.0, 20_000), [0.0, 1e-12, 1e6]])
    sent = rng.uniform(0.0, 50.0, lat.size)
    hops = rng.integers(1, 40, lat.size).astype(np.int32)
    a, b = KindStats(), KindStats()
    a.add_latency(lat, 60.0 - sent, hops)
    b.add_delivered(lat, sent, 60.0, hops)
    assert np.array_equal(a.latency_hist, b.latency_hist)
    assert np.array_equal(a.age_hist, b.age_hist)
    assert np.array_equal(a.hops_hist, b.hops_hist)


def test_gilbert_elliott_sample_of_no_links_with_a_large_table() -> None:
    # used to raise (max of an empty array) once the table held more than 4,096 links and a send had no
    # Gilbert-Elliott links at all (e.g. a ground station without it flooding into a fleet with it)
    from skyhive.comms.channel import GilbertElliottLinks

    ge, rng = GilbertElliottLinks(), np.random.default_rng(0)
    keys = np.arange(5000, dtype=np.int64)
    ge.sample(keys, 0.0, np.full(keys.size, 2.0), np.full(keys.size, 1.0), rng)
    got = ge.sample(np.zeros(0, np.int64), 0.1, np.zeros(0), np.zeros(0), rng)
    assert got.shape == (0,) and ge.keys.size == 5000
