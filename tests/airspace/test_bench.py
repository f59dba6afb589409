"""The tracking comparison runs on the same detections for skyhive and (when installed) Stone Soup, with Stone Soup
configured as its best: a lossless KD-tree pre-gate and JPDA tracks that are deleted."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from skyhive.airspace.evaluate import generate, score_run
from skyhive.bench.tracking import (
    REPORT_SEEDS,
    SCALE,
    SWEEP,
    StoneSoupParams,
    Tuned,
    run_skyhive,
    run_stonesoup,
)
from skyhive.bench.tracking_tune import TUNE_SEEDS, descend


def test_comparison_runs_on_same_detections() -> None:
    sc = generate(5, 5, n_scans=10, seed=4)
    times, est = run_skyhive(sc, "gnn")
    assert len(times) == len(est) == 10
    assert score_run(sc.truth, est).gospa_mean < 5 * 50.0  # better than missing all five targets
    pytest.importorskip("stonesoup")
    for method in ("gnn", "jpda"):
        t_ss, est_ss, done = run_stonesoup(sc, method, StoneSoupParams(), budget_s=120.0)
        assert done and len(t_ss) == 10
        assert score_run(sc.truth, est_ss).gospa_mean < 5 * 50.0


def test_stonesoup_pre_gate_of_0_4_is_lossless() -> None:
    """0.4 x the largest innovation variance is at least the 4-sigma Mahalanobis gate radius (sigma >= 10 m):
    the same tracks as with no pre-gate at all."""
    pytest.importorskip("stonesoup")
    sc = generate(8, 30, n_scans=12, seed=5)
    _, a, _ = run_stonesoup(sc, "gnn", StoneSoupParams(gate_multiplier=0.4))
    _, b, _ = run_stonesoup(sc, "gnn", StoneSoupParams(gate_multiplier=1e6))
    for (_, pa), (_, pb) in zip(a, b, strict=True):
        assert np.allclose(np.sort(pa, axis=0), np.sort(pb, axis=0))


def test_stonesoup_jpda_tracks_are_deleted_when_their_target_goes() -> None:
    """A PDA update always has a hypothesis; the bench's deleter still removes a track that stops being detected."""
    pytest.importorskip("stonesoup")
    sc = generate(3, 0, pd=0.95, n_scans=25, seed=6)
    for s in sc.scans[12:]:  # every detection of target 0 vanishes after scan 12
        if s.truth is not None:
            keep = s.truth != 0
            s.z, s.truth = s.z[keep], s.truth[keep]
    _, est, done = run_stonesoup(sc, "jpda", StoneSoupParams(delete_steps=3))
    assert done
    assert est[10][0].size == 3 and est[-1][0].size == 2


def test_tuning_seeds_are_never_reported_and_descent_finds_the_minimum() -> None:
    assert not set(TUNE_SEEDS) & set(REPORT_SEEDS)
    best, cost, seen = descend(StoneSoupParams(), {"q": [0.3, 1.0, 3.0], "min_points": [2, 3, 4]},
                               lambda p: (p.q - 3.0) ** 2 + (p.min_points - 2) ** 2)
    assert (best.q, best.min_points, cost) == (3.0, 2, 0.0)
    assert len(seen) <= 9
    # the committed tuning covers every reported case and reads back
    tuned = Tuned.load()
    data = json.loads(json.dumps(tuned.to_json()))
    assert Tuned.from_json(data).to_json() == tuned.to_json()
    for case in SWEEP + SCALE:
        assert f"gnn|{case.key}" in tuned.stonesoup and f"gnn|{case.key}" in tuned.skyhive
    assert replace(StoneSoupParams(), q=2.0).q == 2.0
