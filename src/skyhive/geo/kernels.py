"""Compiled geometry of geofences (numba): distance to the boundary and containment for many points at once.

Moved here from ``skyhive.flight.kernels`` so that ``skyhive.geo.fences`` does not depend on the flight layer.
Each kernel is a pure function of the arrays it is given, with its semantics written out in its docstring, and is
tested against shapely (tests/core/test_geometry.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@njit(cache=True)
def fence_distances(pos: F64, a: F64, ab: F64, ab2: F64, lower: F64, inside_grid: NDArray[np.bool_], x0: float,
                    y0: float, cell: float, within: float, keep_in: bool) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Horizontal geometry of one fence for every point.

    Returns (s, normal (N, 2), inside).  ``s`` is the distance to the boundary,
    positive on the fence's safe side (inside a keep-in, outside a keep-out);
    ``normal`` is the unit vector towards the safe side.  Points whose grid cell
    is provably farther than ``within`` from every edge get s = +-inf and a zero
    normal (containment from the grid); the others get exact values: nearest
    edge by projection, containment by the even-odd crossing rule over every
    ring (holes included).  Off-grid points are outside.
    """
    n = pos.shape[0]
    nx, ny = lower.shape
    s = np.empty(n)
    nrm = np.zeros((n, 2))
    inside = np.zeros(n, np.bool_)
    for p in range(n):
        x = pos[p, 0]
        y = pos[p, 1]
        ix = math.floor((x - x0) / cell)
        iy = math.floor((y - y0) / cell)
        off = ix < 0 or iy < 0 or ix >= nx or iy >= ny
        if not off and lower[ix, iy] >= within:
            ins = inside_grid[ix, iy]
            inside[p] = ins
            s[p] = np.inf if ins == keep_in else -np.inf
            continue
        best = np.inf
        bx = 0.0
        by = 0.0
        cross = False
        for e in range(a.shape[0]):
            ax = a[e, 0]
            ay = a[e, 1]
            ex = ab[e, 0]
            ey = ab[e, 1]
            t = ((x - ax) * ex + (y - ay) * ey) / ab2[e]
            t = min(1.0, max(0.0, t))
            dx = x - (ax + t * ex)
            dy = y - (ay + t * ey)
            d2 = dx * dx + dy * dy
            if d2 < best:
                best = d2
                bx = dx
                by = dy
            by0 = ay
            by1 = ay + ey
            if (by0 > y) != (by1 > y):
                xc = ax + (y - by0) / (by1 - by0) * ex
                if x < xc:
                    cross = not cross
        d = math.sqrt(best)
        inside[p] = cross
        safe = cross == keep_in
        inv = 1.0 / max(d, 1e-9)
        if safe:
            s[p] = d
            nrm[p, 0] = bx * inv
            nrm[p, 1] = by * inv
        else:
            s[p] = -d
            nrm[p, 0] = -bx * inv
            nrm[p, 1] = -by * inv
    return s, nrm, inside
