"""Probabilistic search (docs/autonomy.md, "Probabilistic search"): the POC update is Bayes, the prior is what the
scenario says, searched-not-found news only arrives through the mesh, bad priors are named."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from skyhive.autonomy.mission import MissionSystem
from skyhive.autonomy.search import Belief, SearchGrid, glimpse_effort, prior_weights
from skyhive.autonomy.search_config import SearchPrior
from skyhive.autonomy.search_mission import SearchPart
from skyhive.scenario.load import ScenarioError, scenario_from_dict
from skyhive.sim import Simulation

from .test_mission import ll

TAN30 = math.tan(math.radians(30.0))


def _mission(sim: Simulation) -> MissionSystem:
    ms = sim.system("mission")
    assert isinstance(ms, MissionSystem)
    return ms


def _part(ms: MissionSystem) -> SearchPart:
    assert ms.search is not None
    return ms.search


def _grid(prior: SearchPrior | None = None, size: float = 1000.0, cell: float = 25.0) -> SearchGrid:
    def to_local(lat: float, lon: float) -> np.ndarray:
        return np.array([lon, lat]) * 100.0  # the tests' "degrees" are hectometres

    poly = Polygon([(0, 0), (size, 0), (size, size), (0, size)])
    return SearchGrid.build([(poly, prior, 1.0)], cell, 200.0, 50.0, to_local)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_poc_is_the_bayesian_posterior_of_searched_not_found(seed: int, sweeps: int) -> None:
    """Applying POC'(c) = POC(c)(1 - POD(c)) / (1 - sum POC POD) sweep by sweep gives the belief's POC."""
    rng = np.random.default_rng(seed)
    g = _grid(cell=100.0)
    prior = rng.dirichlet(np.ones(g.n_cells))
    g.prior = prior
    b = Belief(g, 1)
    direct = prior.copy()
    for _ in range(sweeps):
        effort = rng.exponential(1.0, g.n_cells) * (rng.random(g.n_cells) < 0.5)
        pod = 1.0 - np.exp(-effort)
        direct = direct * (1.0 - pod) / (1.0 - (direct * pod).sum())
        b.add(np.zeros(g.n_cells, np.int64), np.arange(g.n_cells), effort)
    assert np.allclose(b.poc(np.array([0]))[0], direct, rtol=1e-4, atol=1e-12)
    # POS: the probability a single person would have been found by now
    assert b.pos(np.array([0]))[0] == pytest.approx(1.0 - (prior * np.exp(-b.effort[0].astype(float))).sum())


def test_glimpse_effort_is_the_detection_law() -> None:
    g = _grid(cell=10.0)
    h = 50.0
    xyz = np.array([[505.0, 505.0, h]])
    s, c, e = glimpse_effort(g, xyz, 0.2, 2.0, 50.0, TAN30)
    sigma = h * TAN30 / 2.0
    d = np.hypot(g.centres[c, 0] - 505.0, g.centres[c, 1] - 505.0)
    assert np.allclose(e, 2.0 * np.exp(-0.5 * (d / sigma) ** 2) * 0.2)
    assert d.max() <= 3.0 * sigma + 1e-9 and (s == 0).all()
    # higher than ref_alt: the rate falls with (ref / h)^2
    _, _, e2 = glimpse_effort(g, np.array([[505.0, 505.0, 100.0]]), 0.2, 2.0, 50.0, TAN30)
    assert e2.max() < 0.25 * e.max() + 1e-12


def test_ring_prior_puts_each_ring_s_mass_inside_it() -> None:
    prior = SearchPrior.model_validate({"last_known": {"lat": 20.0, "lon": 20.0},
                                        "rings_m": [300, 800, 1500], "ring_quantiles": [0.25, 0.5, 0.95]})
    g = _grid(prior, size=4000.0)
    d = np.hypot(g.centres[:, 0] - 2000.0, g.centres[:, 1] - 2000.0)
    assert g.prior.sum() == pytest.approx(1.0)
    for r, q in ((300, 0.25), (800, 0.5), (1500, 0.95)):
        assert g.prior[d <= r].sum() == pytest.approx(q, abs=1e-9)
    assert g.prior[d > 1500].sum() == pytest.approx(0.05)
    # within a ring the density is uniform
    ring1 = (d > 300) & (d <= 800)
    assert np.ptp(g.prior[ring1]) < 1e-15


def test_area_prior_weights_and_uniform_default() -> None:
    def to_local(lat: float, lon: float) -> np.ndarray:
        return np.array([lon, lat]) * 100.0

    cells = np.array([[50.0, 50.0], [150.0, 50.0], [250.0, 50.0], [350.0, 50.0]])
    prior = SearchPrior.model_validate({"areas": [
        {"area": [[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]], "weight": 3},
        {"area": [[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]], "weight": 1}]})
    assert np.allclose(prior_weights(prior, cells, to_local), [0.375, 0.375, 0.25, 0.0])
    assert np.allclose(prior_weights(None, cells, to_local), 0.25)


def _small(tmp_path: Path, strategy: str = "probability", range_m: float = 1500.0, **search: Any) -> Path:
    data: dict[str, Any] = {
        "schema_version": 1, "name": "search-test", "origin": {"lat": 46.5, "lon": 7.6, "alt": 0},
        "duration": 60, "dt": 0.2, "seed": 3,
        "fleets": [{"name": "team", "count": 6, "launch": {"sites": [ll(0, 0)], "layout": "grid", "spacing_m": 15},
                    "radio": {"max_range_m": range_m}}],
        "ground_stations": [{"name": "base", **ll(0, -20), "radio": {"max_range_m": range_m}}],
        "comms": {"record_hz": 0},
        "tasks": [{"id": "area", "kind": "search",
                   "area": [[v["lon"], v["lat"]] for v in (ll(-400, -400), ll(400, -400), ll(400, 400),
                                                           ll(-400, 400), ll(-400, -400))],
                   "prior": {"last_known": ll(100, 100), "rings_m": [100, 300, 600],
                             "ring_quantiles": [0.3, 0.7, 0.95]}}],
        "mission": {"search": {"strategy": strategy, "persons": 3, "share_s": 5, **search}},
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_probability_search_flies_blocks_and_reports_pos(tmp_path: Path) -> None:
    sim = Simulation.from_file(_small(tmp_path))
    sim.run()
    ms = _mission(sim)
    m = sim.metrics
    assert m["search_strategy"] == "probability"
    assert _part(ms).planner.started and (_part(ms).planner.claim_by[0] >= 0).any()
    series = [p for _, p in m["search_pos_series"]]
    assert series == sorted(series) and 0.2 < series[-1] <= 1.0
    assert m["search_objects"] == 3
    # the launch fan-out: every worker took a different block
    assert len(set(_part(ms).planner.block.tolist()) - {-1}) == int((_part(ms).planner.block >= 0).sum())


def test_same_seed_same_persons_in_both_strategies(tmp_path: Path) -> None:
    a = Simulation.from_file(_small(tmp_path, "probability"))
    b = Simulation.from_file(_small(tmp_path, "lawnmower"))
    ma = _mission(a)
    mb = _mission(b)
    assert np.array_equal(ma.obj, mb.obj) and ma.obj.shape[0] == 3
    assert mb.search is not None and not _part(mb).active and len(mb.tasks) > 0  # lawnmower: shares for CBBA
    assert len(ma.tasks) == 0


def test_searched_not_found_only_arrives_through_the_mesh(tmp_path: Path) -> None:
    """With radios that reach nobody, each drone's map is exactly its own camera's effort; with the mesh up, drones
    also know cells only others searched."""
    sim = Simulation.from_file(_small(tmp_path, range_m=1.0))
    ms = _mission(sim)
    sp = _part(ms)
    own = np.zeros_like(sp.belief.effort, dtype=np.float64)
    d = sim.world.drones
    det = ms.cfg.detection
    for _ in range(200):  # the mission senses before the drones move in a tick
        s, c, e = glimpse_effort(sp.grid, d.pos[ms.wid], sim.dt, det.rate_per_s, det.ref_alt_m, TAN30)
        np.add.at(own, (s, c), e)
        sim.step()
    assert np.allclose(sp.belief.effort, own, rtol=1e-4, atol=1e-4)
    assert len(sp.comms.inbox(sp.k_track)) == 0
    # with the mesh: a drone's map has effort where it never flew, from the others' tracks
    sim2 = Simulation.from_file(_small(tmp_path))
    ms2 = _mission(sim2)
    own2 = np.zeros_like(_part(ms2).belief.effort, dtype=np.float64)
    for _ in range(200):
        s, c, e = glimpse_effort(_part(ms2).grid, sim2.world.drones.pos[ms2.wid], sim2.dt, det.rate_per_s,
                                 det.ref_alt_m, TAN30)
        np.add.at(own2, (s, c), e)
        sim2.step()
    heard = (_part(ms2).belief.effort > 0.5) & (own2 == 0)
    assert heard.any(axis=1).sum() >= 4


def test_same_seed_same_run(tmp_path: Path) -> None:
    runs = []
    for _ in range(2):
        sim = Simulation.from_file(_small(tmp_path))
        sim.run(until=30)
        ms = _mission(sim)
        runs.append((sim.world.drones.pos.copy(), _part(ms).belief.effort.copy()))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"prior": {"last_known": ll(5000, 0)}}, "tasks.0.prior.last_known", "outside the search area"),
    ({"prior": {"areas": [{"area": [[0, 0], [1, 0], [1, 1], [0, 0]], "weight": 0}]}}, "tasks.0.prior",
     "must sum to a positive number"),
    ({"prior": {"areas": [{"area": [[v["lon"], v["lat"]] for v in (ll(5000, 0), ll(5100, 0), ll(5100, 100),
                                                                    ll(5000, 0))], "weight": 1}]}},
     "tasks.0.prior.areas.0.area", "outside the search area"),
    ({"prior": {"last_known": ll(0, 0), "rings_m": [300, 200, 900]}}, "tasks.0.prior", "increasing"),
])
def test_bad_prior_is_named(tmp_path: Path, change: dict[str, Any], path: str, words: str) -> None:
    data = yaml.safe_load(_small(tmp_path).read_text())
    data["tasks"][0].update(change)
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(data)
    text = str(exc.value)
    assert path in text and words in text, text


def test_unknown_strategy_is_named(tmp_path: Path) -> None:
    data = yaml.safe_load(_small(tmp_path).read_text())
    data["mission"]["search"]["strategy"] = "spiral"
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(data)
    assert "mission.search.strategy" in str(exc.value)


def test_heartbeat_not_below_stale_rounds_is_named(tmp_path: Path) -> None:
    data = yaml.safe_load(_small(tmp_path).read_text())
    data["mission"].update({"heartbeat_rounds": 40, "stale_rounds": 30})
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(data)
    assert "mission.heartbeat_rounds" in str(exc.value) and "below stale_rounds" in str(exc.value)


def test_search_decisions_read_only_own_map_and_inbox(tmp_path: Path) -> None:
    """Mid-search, replace every other drone's map and planner state by garbage: one tick later drone i's map,
    block and velocity intent are bit-identical to the unpoisoned run."""
    import copy

    sim = Simulation.from_file(_small(tmp_path))
    sim.run(until=20.0)
    ref = copy.deepcopy(sim)
    ref.step()
    rng = np.random.default_rng(9)
    n = _mission(sim).wid.size
    for i in range(n):
        twin = copy.deepcopy(sim)
        sp = _part(_mission(twin))
        pl, others = sp.planner, np.arange(n) != i
        sp.belief.effort[others] = rng.exponential(1.0, sp.belief.effort[others].shape)
        pl.block[others] = rng.integers(-1, sp.grid.n_blocks, others.sum())
        pl.variant[others] = rng.integers(0, 4, others.sum())
        pl.wp[others] = rng.integers(0, 3, others.sum())
        pl.sweeping[others] = rng.random(others.sum()) < 0.5
        pl.until[others] = rng.random(others.sum()) * 100
        pl.claim_by[others] = rng.integers(-1, n, pl.claim_by[others].shape)
        pl.claim_until[others] = rng.random(pl.claim_until[others].shape) * 100
        sp.track[others] = rng.normal(0, 300, sp.track[others].shape)
        twin.step()
        a, b = _part(_mission(ref)), _part(_mission(twin))
        assert np.array_equal(a.belief.effort[i], b.belief.effort[i]), i
        for name in ("block", "variant", "wp", "sweeping", "claim_by", "claim_until"):
            assert np.array_equal(getattr(a.planner, name)[i], getattr(b.planner, name)[i]), (i, name)
        node = int(_mission(twin).wid[i])
        assert np.array_equal(ref.world.drones.intent_vel[node], twin.world.drones.intent_vel[node]), i


def test_claims_first_to_finish_wins_and_the_loser_picks_again() -> None:
    from skyhive.autonomy.search import BlockPlanner

    g = _grid(cell=50.0)
    pl = BlockPlanner(g, Belief(g, 3), np.full(3, 10.0))
    pl.started = True
    took = pl.assign(np.array([0, 1]), np.array([[500.0, 500.0], [500.0, 500.0]]), 0.0)
    assert took.tolist() == [0, 1] and pl.block[0] == pl.block[1]  # chosen at once: the same block
    b = int(pl.block[0])
    # drone 1 hears drone 0's claim: 0 finishes no later and has the lower id, so 1 gives up and re-chooses
    lost = pl.hear_claims(np.array([1]), np.array([0]), np.array([b]), np.array([pl.until[0]]), 0.0)
    assert lost.tolist() == [1] and pl.block[1] == -1 and pl.claim_by[1, b] == 0
    pl.assign(np.array([1]), np.array([[500.0, 500.0]]), 0.0)
    assert pl.block[1] not in (-1, b)
    # drone 0 hears 1's (older, later-finishing) claim on another block: nothing of its own changes
    assert pl.hear_claims(np.array([0]), np.array([1]), pl.block[[1]], pl.until[[1]], 0.0).size == 0
    assert pl.block[0] == b
    # a claim that should have finished counts as swept: drone 2 does not take b
    pl.claim_by[2, b], pl.claim_until[2, b] = 0, 1.0
    pl.assign(np.array([2]), np.array([[500.0, 500.0]]), 5.0)
    assert pl.block[2] != b
