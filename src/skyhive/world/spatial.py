"""One spatial index per tick, shared by comms, safety and sensing.

A k-d tree (``scipy.spatial.cKDTree``) over drone positions answers every
"who is near whom" question.  It is rebuilt lazily, Verlet-list style: the tree
is built with positions at time t0 and stays valid while no drone has moved more
than ``skin / 2`` since; queries widen their radius by ``skin`` and then filter
candidates by exact distance at the *current* positions, so answers are always
exact while the O(N log N) build runs only every few ticks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from skyhive.world.kernels import max_displacement

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class SpatialIndex:
    """Neighbour queries over the drones' positions (ENU metres, shape (N, 3))."""

    def __init__(self, skin: float = 20.0) -> None:
        self.skin = float(skin)
        self.builds = 0
        self._tree: cKDTree | None = None
        self._built_at: FloatArray | None = None
        self._pos: FloatArray = np.zeros((0, 3))
        self._pair_cache: dict[float, IntArray] = {}

    def update(self, positions: FloatArray) -> None:
        """Point the index at this tick's positions; rebuild the tree only when needed."""
        self._pos = positions
        stale = (
            self._tree is None
            or self._built_at is None
            or self._built_at.shape != positions.shape
            or max_displacement(positions, self._built_at) > 0.5 * self.skin
        )
        if stale:
            self._built_at = positions.copy()
            self._tree = cKDTree(self._built_at, balanced_tree=False, compact_nodes=False)
            self._pair_cache.clear()
            self.builds += 1

    @property
    def positions(self) -> FloatArray:
        return self._pos

    def candidate_pairs(self, radius: float) -> IntArray:
        """(K, 2) pairs (i < j) that MAY be closer than ``radius`` now: a superset, valid until the next
        rebuild.  Compiled kernels filter these by exact distance in the same pass as their own work."""
        assert self._tree is not None, "update() first"
        cand = self._pair_cache.get(radius)
        if cand is None:
            cand = self._tree.query_pairs(radius + self.skin, output_type="ndarray").astype(np.int64)
            self._pair_cache[radius] = cand
        return cand

    def pairs_within(self, radius: float) -> tuple[IntArray, IntArray, FloatArray]:
        """All drone pairs (i < j) closer than ``radius`` now: (i, j, distance)."""
        cand = self.candidate_pairs(radius)
        if cand.shape[0] == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        i, j = cand[:, 0], cand[:, 1]
        d = np.linalg.norm(self._pos[i] - self._pos[j], axis=1)
        keep = d < radius
        return i[keep], j[keep], d[keep]

    def near_points(self, points: FloatArray, radius: float) -> tuple[IntArray, IntArray, FloatArray]:
        """Drones within ``radius`` of each query point: (point index, drone index, distance).

        Meant for the few non-drone nodes (ground stations, manned vehicles, sensors).
        """
        assert self._tree is not None, "update() first"
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        lists = self._tree.query_ball_point(points, radius + self.skin)
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        if counts.sum() == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        p = np.repeat(np.arange(len(lists), dtype=np.int64), counts)
        q = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists if len(x)])
        d = np.linalg.norm(self._pos[q] - points[p], axis=1)
        keep = d < radius
        return p[keep], q[keep], d[keep]
