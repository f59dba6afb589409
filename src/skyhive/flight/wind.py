"""Wind: a steady vector plus seeded, spatially correlated Dryden-like gusts.

Each gust component is a first-order Gauss-Markov (Ornstein-Uhlenbeck)
process — the rational approximation of the Dryden longitudinal spectrum
(MIL-HDBK-1797, section on atmospheric disturbances) — with standard deviation
sigma and correlation time L / U (Taylor's frozen turbulence, U the mean wind,
at least 1 m/s).  The processes live on the nodes of a G x G horizontal grid of
spacing L that tiles the plane periodically; a drone feels the bilinear
interpolation of the four surrounding nodes.  So drones closer than L feel
nearly the same gust and drones far apart feel independent ones, at O(G^2 + N)
cost per tick.  The exact discretisation x' = a x + sigma sqrt(1 - a^2) e keeps
the variance at sigma^2 for any dt.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from skyhive.scenario.models import Wind

F64 = NDArray[np.float64]
GRID = 16


class WindField:
    def __init__(self, wind: Wind, dt: float, rng: np.random.Generator) -> None:
        self.steady = np.asarray(wind.steady_enu(), dtype=np.float64)
        self.rng = rng
        g = wind.gusts
        self.enabled = g is not None and (g.sigma_mps > 0.0 or g.sigma_vertical_mps > 0.0)
        if g is None:
            self.sigma = np.zeros(3)
            self.length = 1.0
            self.a = 0.0
        else:
            self.sigma = np.array([g.sigma_mps, g.sigma_mps, g.sigma_vertical_mps])
            self.length = g.length_scale_m
            tau = g.length_scale_m / max(wind.speed_mps, 1.0)
            self.a = math.exp(-dt / tau)
        self.nodes = rng.standard_normal((GRID, GRID, 3)) * self.sigma if self.enabled else np.zeros((GRID, GRID, 3))
        self._scale = self.sigma * math.sqrt(1.0 - self.a**2)

    def advance(self) -> None:
        """One tick of every node's Gauss-Markov process."""
        if self.enabled:
            self.nodes *= self.a
            self.nodes += self.rng.standard_normal(self.nodes.shape) * self._scale

    def gust_at(self, pos: F64) -> F64:
        """Gust vector at each position (N, 3), bilinear on the periodic node grid."""
        if not self.enabled:
            return np.zeros_like(pos)
        gx = pos[:, 0] / self.length
        gy = pos[:, 1] / self.length
        fx = np.floor(gx)
        fy = np.floor(gy)
        tx = (gx - fx)[:, None]
        ty = (gy - fy)[:, None]
        i0 = fx.astype(np.int64) % GRID
        j0 = fy.astype(np.int64) % GRID
        i1 = (i0 + 1) % GRID
        j1 = (j0 + 1) % GRID
        n = self.nodes
        return (n[i0, j0] * (1 - tx) + n[i1, j0] * tx) * (1 - ty) + (n[i0, j1] * (1 - tx) + n[i1, j1] * tx) * ty
