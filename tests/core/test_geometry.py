"""The spatial index and the compiled geometry agree with brute force and with shapely."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from skyhive.flight.separation import neighbour_constraints, solve_velocities
from skyhive.geo.fences import FencePrism, FenceSet
from skyhive.geo.frames import LocalFrame
from skyhive.world.spatial import SpatialIndex

FRAME = LocalFrame(47.0, 8.0, 400.0)


def brute_pairs(pos: np.ndarray, r: float) -> set[tuple[int, int]]:
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    i, j = np.nonzero(np.triu(d < r, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def test_index_is_exact_while_drones_move() -> None:
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 300, (400, 3))
    index = SpatialIndex(skin=10.0)
    for _ in range(30):
        pos += rng.normal(0, 1.0, pos.shape)  # moves of ~1.7 m per step: rebuilds only now and then
        index.update(pos)
        i, j, d = index.pairs_within(25.0)
        assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute_pairs(pos, 25.0)
        assert np.allclose(d, np.linalg.norm(pos[i] - pos[j], axis=1))
    assert 1 < index.builds < 30
    pts = rng.uniform(0, 300, (5, 3))
    p, q, _ = index.near_points(pts, 40.0)
    expected = {(a, b) for a in range(5) for b in range(400) if np.linalg.norm(pts[a] - pos[b]) < 40.0}
    assert set(zip(p.tolist(), q.tolist(), strict=True)) == expected


def fence_with_hole() -> FenceSet:
    outer = [(0, 0), (800, 0), (800, 500), (400, 700), (0, 500), (0, 0)]
    hole = [(300, 200), (500, 200), (500, 300), (300, 300), (300, 200)]
    lat, lon, _ = FRAME.geodetic(np.array([[x, y, 0.0] for x, y in outer]))
    hlat, hlon, _ = FRAME.geodetic(np.array([[x, y, 0.0] for x, y in hole]))
    poly = Polygon(list(zip(lon, lat, strict=True)), [list(zip(hlon, hlat, strict=True))])
    return FenceSet([FencePrism.build("f", "keep_in", poly, 0.0, 100.0, FRAME)], cell_m=40.0)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=2**31))
def test_fence_distances_match_shapely(seed: int) -> None:
    fences = fence_with_hole()
    prism = fences.prisms[0]
    pts = np.random.default_rng(seed).uniform(-200, 1000, (300, 3))
    s, nrm, inside = fences.geometry(0, pts, 60.0)
    exact_inside = shapely.contains_xy(prism.enu, pts[:, 0], pts[:, 1])
    dist = shapely.distance(prism.enu.boundary, shapely.points(pts[:, 0], pts[:, 1]))
    assert np.array_equal(inside, exact_inside)
    near = np.isfinite(s)
    assert near[dist < 60.0].all()  # every point within reach gets an exact value
    assert np.allclose(np.abs(s[near]), dist[near], atol=1e-6)
    assert np.array_equal(s[near] > 0, exact_inside[near])  # keep-in: positive inside
    # the normal points to the safe side: a small step along it gains distance on the safe side
    step = pts[near, :2] + 0.5 * nrm[near]
    after = shapely.distance(prism.enu.boundary, shapely.points(step[:, 0], step[:, 1]))
    signed_after = np.where(shapely.contains_xy(prism.enu, step[:, 0], step[:, 1]), after, -after)
    clear = np.abs(s[near]) > 1.0
    # all but points on the medial axis (equidistant from two edges) gain the full step
    assert np.mean(signed_after[clear] > s[near][clear] + 0.4) > 0.97
    assert (s[~near] == np.where(exact_inside[~near], np.inf, -np.inf)).all()


def test_each_drone_meets_its_share_and_the_pair_holds() -> None:
    """Head-on at 10 m/s each, 30 m apart: each drone's own solve meets its half-space; together the pair's
    closing speed is within the allowance; the tilt turns both right and sends one up, one down."""
    pos = np.array([[0.0, 0.0, 50.0], [30.0, 0.0, 50.0]])
    vel = np.array([[10.0, 0.0, 0.0], [-10.0, 0.0, 0.0]])
    fly = np.ones(2, bool)
    accel = np.full(2, 4.0, np.float32)
    ones = np.ones(2)
    ptr, other, normal, minimum, allowed, sigma = neighbour_constraints(
        pos, vel, fly, np.array([[0, 1]]), 12.5, 0.5, accel, np.full(2, 0.15), ones, ones, 100.0, 20.0)
    assert list(ptr) == [0, 1, 2] and list(other) == [1, 0]
    assert np.allclose(normal[0], [-1, 0, 0]) and np.allclose(normal[1], [1, 0, 0])
    assert sorted(sigma.tolist()) == [-1, 1]  # one climbs, one descends
    u = vel.copy()
    inf = np.full(2, np.inf)
    limits = np.full(2, 15.0, np.float32)
    unresolved = np.zeros(2, bool)
    solve_velocities(u, fly, ptr, normal, minimum, sigma, 0.6, 0.8, np.zeros(3, np.int64), np.zeros((0, 2)),
                     np.zeros(0), inf, -inf, limits, limits, limits, 30, unresolved)
    assert not unresolved.any()
    assert np.all(np.einsum("ij,ij->i", normal, u) >= minimum - 1e-9)
    assert -(u[0, 0] - u[1, 0]) <= allowed[0] + 1e-9  # the pair's closing speed within its allowance
    assert u[0, 1] < 0 < u[1, 1]  # eastbound turns right (south), westbound turns right (north)
    assert u[0, 2] * u[1, 2] < 0
