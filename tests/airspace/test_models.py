"""Intruder behaviours and the radar model, on their own."""

from __future__ import annotations

import numpy as np
import pytest

from skyhive.airspace.config import Intruder, Radar
from skyhive.airspace.intruders import Intruders
from skyhive.airspace.sensors import KIND_INTRUDER, LABEL_SCALE, Objects, RadarModel
from tests.conftest import FRAME, ll


def _intruders() -> Intruders:
    cfgs = [
        Intruder(name="t", behaviour="transit", start=ll(0, 0, 50), waypoints=[ll(100, 0, 50), ll(100, 100, 50)],
                 speed_mps=10.0),
        Intruder(name="l", behaviour="loiter", start=ll(0, 0, 80), loiter_radius_m=50.0, speed_mps=5.0),
        Intruder(name="a", behaviour="approach", zone="z", start=ll(-500, 0, 60), speed_mps=20.0, appear_s=10.0),
        Intruder(name="h", behaviour="hover", start=ll(300, 300, 40)),
    ]
    return Intruders(cfgs, FRAME, {"z": np.array([0.0, 0.0, 0.0])})


def test_intruder_behaviours() -> None:
    it = _intruders()
    start = it.pos.copy()
    dt = 0.1
    for k in range(300):  # 30 s
        it.step(k * dt, dt)
        assert abs(np.linalg.norm(it.pos[1, :2] - it.centre[1, :2]) - 50.0) < 0.5  # loiter stays on its circle
    assert np.allclose(it.pos[0], [100.0, 100.0, 50.0], atol=0.5)  # transit: both legs (200 m at 10 m/s) done
    assert np.allclose(it.pos[3], start[3], atol=1e-6)  # hover
    # approach appears at 10 s and flies 20 s at 20 m/s towards the zone centre: 400 m of its 500 m
    assert it.pos[2, 0] == pytest.approx(-500.0 + 400.0, abs=2.5)
    assert np.linalg.norm(it.vel[1]) == pytest.approx(5.0, rel=0.02)


def test_radar_pd_by_range_and_size_and_clutter_rate() -> None:
    cfg = Radar(type="radar", name="r", position=ll(0, 0, 0), range_m=8000.0, false_alarms_per_scan=50.0)
    radar = RadarModel(cfg, FRAME)
    assert radar.pd(np.array([3000.0]), np.array([0.01]))[0] == pytest.approx(0.9)
    pd = radar.pd(np.array([1000.0, 3000.0, 5000.0, 7000.0]), np.full(4, 0.01))
    assert np.all(np.diff(pd) < 0) and pd[0] > 0.99
    assert radar.pd(np.array([5000.0]), np.array([1.0]))[0] > pd[2]  # a bigger target is seen farther
    rng = np.random.default_rng(0)
    n = 400
    obj = Objects(pos=np.c_[np.linspace(500, 7000, n), np.zeros(n), np.full(n, 100.0)], vel=np.zeros((n, 3)),
                  rcs=np.full(n, 0.01), label=KIND_INTRUDER * LABEL_SCALE + np.arange(n, dtype=np.int64))
    seen = np.zeros(n)
    clutter = []
    for k in range(200):
        s = radar.scan(float(k), obj, rng)
        assert s.truth is not None
        seen[s.truth[s.truth >= 0] - KIND_INTRUDER * LABEL_SCALE] += 1
        clutter.append(int((s.truth < 0).sum()))
    assert np.mean(clutter) == pytest.approx(50.0, rel=0.1)
    rate = seen / 200
    expected = radar.pd(np.linalg.norm(obj.pos - radar.pos, axis=1), obj.rcs)
    assert np.abs(rate - expected).max() < 0.12  # binomial noise over 200 scans
    assert s.clutter_density == pytest.approx(50.0 / radar.volume)


def test_bad_radar_parameters_rejected() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Radar(type="radar", name="r", position=ll(0, 0), min_elevation_deg=20.0, max_elevation_deg=10.0)
    with pytest.raises(ValidationError):
        Radar(type="radar", name="r", position=ll(0, 0), pd_ref=1e-7, pfa=1e-6)
    with pytest.raises(ValidationError):
        Intruder(name="x", behaviour="transit", start=ll(0, 0))  # transit without waypoints
