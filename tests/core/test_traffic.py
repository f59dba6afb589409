"""The traffic suite at test size: fleets at one altitude that meet head-on, cross, swap across a circle,
meet a keep-out switching on in their common path, fly in gusty wind, and four fleets meeting in the
middle.  Every case: no loss of separation, every route completed, within 1.5 x the time the same fleets
take alone."""

from __future__ import annotations

import pytest

from skyhive.bench.traffic import CASES, run_case


@pytest.mark.parametrize("name", list(CASES))
def test_traffic_case_keeps_separation_and_completes(name: str) -> None:
    r = run_case(name, quick=True)
    assert r.loss_of_separation_events == 0, r
    assert r.min_separation_m is None or r.min_separation_m >= 10.0, r
    assert r.breach_events == 0, r
    assert r.routes_completed_frac == 1.0, r
    assert r.slowdown is not None and r.slowdown <= 1.5, r
