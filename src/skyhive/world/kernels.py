"""Compiled helpers of the world's spatial index (numba).

Moved here from ``skyhive.flight.kernels`` so that ``skyhive.world.spatial`` does not depend on the flight layer.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@njit(cache=True)
def max_displacement(a: F64, b: F64) -> float:
    """max_i |a_i - b_i| over rows (Euclidean), without temporaries."""
    best = 0.0
    for i in range(a.shape[0]):
        dx = a[i, 0] - b[i, 0]
        dy = a[i, 1] - b[i, 1]
        dz = a[i, 2] - b[i, 2]
        d = dx * dx + dy * dy + dz * dz
        if d > best:
            best = d
    return math.sqrt(best)
