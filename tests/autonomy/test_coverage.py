"""Survey coverage planning: equal-area split, footprint, lawnmower coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from skyhive.autonomy.coverage import footprint_width, plan_coverage


def test_footprint_width() -> None:
    assert footprint_width(100.0, 90.0) == pytest.approx(200.0)
    assert footprint_width(50.0, 60.0) == pytest.approx(2 * 50 * math.tan(math.radians(30)))
    with pytest.raises(ValueError):
        footprint_width(0.0, 60.0)


def test_rectangle_split_equal_areas_full_coverage() -> None:
    area = box(0, 0, 1200, 500)
    plan = plan_coverage(area, 4, alt_m=60.0, fov_deg=70.0)
    areas = np.array([p.area for p in plan.parts])
    assert np.allclose(areas, area.area / 4, rtol=1e-3)
    assert sum(areas) == pytest.approx(area.area, rel=1e-6)
    for a in range(4):
        for b in range(a + 1, 4):
            assert plan.parts[a].intersection(plan.parts[b]).area < 1e-3  # disjoint shares
    assert (plan.coverage() >= 0.99).all()
    # rows run across the long (x) side: each part is covered with few long rows, not many short ones
    assert abs(math.sin(math.radians(plan.angle_deg))) < 1e-6


def test_l_shape_rotated_is_covered() -> None:
    l_shape = Polygon([(0, 0), (800, 0), (800, 300), (300, 300), (300, 900), (0, 900)])
    from shapely import affinity

    area = affinity.rotate(l_shape, 33.0, origin=(0, 0))
    plan = plan_coverage(area, 3, alt_m=80.0, fov_deg=60.0, overlap=0.2)
    total = sum(p.area for p in plan.parts)
    assert total == pytest.approx(area.area, rel=1e-3)
    assert plan.coverage().min() >= 0.97
    assert (plan.lengths() > 0).all()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="drone"):
        plan_coverage(box(0, 0, 10, 10), 0, 50.0, 60.0)
    with pytest.raises(ValueError, match="polygon"):
        plan_coverage(Polygon(), 2, 50.0, 60.0)
    with pytest.raises(ValueError, match="overlap"):
        plan_coverage(box(0, 0, 10, 10), 2, 50.0, 60.0, overlap=1.0)


def test_strip_through_a_notch_keeps_both_pieces() -> None:
    u_shape = Polygon([(0, 0), (900, 0), (900, 600), (600, 600), (600, 200), (300, 200), (300, 600), (0, 600)])
    plan = plan_coverage(u_shape, 2, alt_m=50.0, fov_deg=60.0, angle_deg=90.0)  # cuts across the two arms
    assert sum(p.area for p in plan.parts) == pytest.approx(u_shape.area, rel=1e-6)
    assert plan.coverage().min() >= 0.97


def test_survey_shares_are_allocated_to_distinct_drones() -> None:
    from skyhive.autonomy.cbba import CBBA, CBBAConfig
    from skyhive.autonomy.coverage import add_survey_tasks
    from skyhive.autonomy.tasks import TaskSet
    from skyhive.autonomy.transport import DiskGraphTransport

    tasks = TaskSet()
    area = box(0, 0, 900, 400)
    ids, plan = add_survey_tasks(tasks, area, 3, alt_m=60.0, fov_deg=70.0, speed_mps=10.0, value=30.0)
    assert ids.tolist() == [0, 1, 2]
    assert np.allclose(tasks.service, plan.lengths() / 10.0) and (tasks.service > 0).all()
    assert np.allclose(tasks.value, 10.0)
    pos = np.array([[-100.0, 200, 60], [450, -100, 60], [1000, 200, 60], [450, 500, 60]])
    alg = CBBA(tasks, pos, config=CBBAConfig(max_bundle=1))
    alg.run(DiskGraphTransport(pos, 2000.0, 0.1, np.random.default_rng(0)), 200)
    owner, conflicts = alg.owners()
    assert conflicts == 0 and (owner >= 0).all() and len(set(owner.tolist())) == 3
    from skyhive.autonomy import baseline as B

    assert owner.tolist() == B.greedy_bundles(tasks, pos, 1).owner.tolist()
    assert alg.total_value() >= 0.9 * B.optimal_single(tasks, pos).value
