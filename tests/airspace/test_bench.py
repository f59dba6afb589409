"""The tracking comparison runs on the same detections for skyhive and (when installed) Stone Soup."""

from __future__ import annotations

import pytest

from skyhive.airspace.evaluate import generate, score_run
from skyhive.bench.tracking import run_skyhive, run_stonesoup


def test_comparison_runs_on_same_detections() -> None:
    sc = generate(5, 5, n_scans=10, seed=4)
    times, est = run_skyhive(sc, "gnn")
    assert len(times) == len(est) == 10
    assert score_run(sc.truth, est).gospa_mean < 5 * 50.0  # better than missing all five targets
    pytest.importorskip("stonesoup")
    for method in ("gnn", "jpda"):
        t_ss, est_ss, done = run_stonesoup(sc, method, 3, budget_s=120.0)
        assert done and len(t_ss) == 10
        assert score_run(sc.truth, est_ss).gospa_mean < 5 * 50.0
