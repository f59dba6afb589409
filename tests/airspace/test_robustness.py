"""Tracks that hold at low detection probability: confirmation windows and deletion follow the sensor's Pd."""

from __future__ import annotations

import numpy as np
import pytest

from skyhive.airspace.evaluate import generate, run_tracker, score_run
from skyhive.airspace.tracker import Scan, Tracker, TrackerConfig


def run(cfg: TrackerConfig, pd: float, seed: int) -> tuple[float, float, float]:
    sc = generate(15, 20, pd=pd, n_scans=40, seed=seed)
    s = score_run(sc.truth, run_tracker(Tracker(cfg), sc), skip=10)
    return s.missed_mean, s.false_tracks_mean, s.idf1


def test_targets_are_kept_at_pd_0_6() -> None:
    fixed = TrackerConfig(pd=0.6, confirm_n=4, delete_misses=4)  # the old fixed counts, for contrast
    adaptive = TrackerConfig(pd=0.6)
    assert adaptive.confirm_window == 7 and adaptive.miss_limit == 8
    got = np.array([run(adaptive, 0.6, s) for s in (11, 12)])
    old = np.array([run(fixed, 0.6, s) for s in (11, 12)])
    missed, false, idf1 = got.mean(axis=0)
    assert missed < 1.0  # of 15 targets, on average per scan after the warm-up
    assert false < 0.5
    assert idf1 > 0.85
    assert missed < 0.5 * old[:, 0].mean()  # the fixed counts lose at least twice as many


def test_windows_follow_pd() -> None:
    assert [TrackerConfig(pd=p).confirm_window for p in (0.6, 0.75, 0.9, 0.95)] == [7, 6, 4, 4]
    assert [TrackerConfig(pd=p).miss_limit for p in (0.6, 0.75, 0.9, 0.95)] == [8, 5, 3, 3]
    assert TrackerConfig(pd=0.6, confirm_n=5, delete_misses=3).confirm_window == 5
    with pytest.raises(ValueError):
        TrackerConfig(pd=1.0)


def test_a_scan_states_its_own_pd() -> None:
    """The score charges a miss ln(1 - Pd) of the scan that missed: a low-Pd sensor's miss costs little."""
    def score_after_misses(scan_pd: float | None) -> float:
        tr = Tracker(TrackerConfig(pd=0.9, delete_misses=30, delete_score_drop=1e9))
        z = np.array([[0.0, 0.0, 100.0]])
        for k in range(5):
            tr.process(Scan(t=float(k), z=z, R=np.eye(3) * 25.0, clutter_density=1e-9))
        before = float(tr.score[0])
        for k in range(5, 8):
            tr.process(Scan(t=float(k), z=np.zeros((0, 3)), R=np.eye(3), pd=scan_pd))
        return float(tr.score[0]) - before

    assert score_after_misses(None) == pytest.approx(3 * np.log(0.1))
    assert score_after_misses(0.5) == pytest.approx(3 * np.log(0.5))
