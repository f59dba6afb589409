"""Probabilistic search as SAR planners do it: probability of containment (POC) per cell, probability of detection
(POD) from the camera's glimpse law, probability of success (POS), and sweeping where the expected detections per
second are highest.

* :class:`SearchGrid` -- common knowledge, built from the scenario: square cells over the search areas, the prior
  mass per cell (:func:`prior_weights`), blocks of cells a drone sweeps at a time and their lawnmower lanes.
* :func:`glimpse_effort` -- search effort a camera at given positions puts on each cell, by the same exponential
  glimpse law that decides real detections (``skyhive.autonomy.config.Detection``): effort
  ``e = rate_per_s * min(1, (ref_alt / h)^2) * exp(-d^2 / 2 sigma^2) * dt``, POD ``= 1 - exp(-sum e)``.
* :class:`Belief` -- each drone's OWN map, kept as accumulated effort ``L[i, c]``; its POC is the Bayesian
  posterior after "searched, not found" (Koopman): ``POC'(c) = POC(c) exp(-e_c) / sum_c' POC(c') exp(-e_c')``, so
  the posterior of any sequence of sweeps is ``prior * exp(-L)`` normalised (``tests/autonomy/test_search.py``
  checks this against the update applied sweep by sweep).  A drone adds its own camera effort every tick and
  the effort of tracks it RECEIVED over the mesh (``mission/searched`` messages), nothing else.
* :class:`BlockPlanner` -- allocation by expected detection gain per second: a free drone takes the block with
  the largest ``remaining mass / (flight out + sweep time)`` in its own map, skipping blocks claimed by others
  (``mission/claim`` floods; a drone that hears a better claim on the block it is flying to gives it up), and
  while any block is not yet swept once it only takes unswept blocks (the guaranteed full-coverage fallback:
  every block is swept once before any is swept twice).  The first choice of every drone is a sequential greedy
  over the common knowledge at launch (positions, prior), which every drone computes alike, so the fleet fans out
  without a round of messages.  This is the greedy "myopic" rule of Stone's *Theory of Optimal Search* (detection
  rate per unit time), made transit-aware as in Waharte & Trigoni (2010, "Supporting search and rescue
  operations with UAVs"), with the claim/conflict rule of a one-round auction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from shapely import contains_xy
from shapely.geometry import Polygon

from skyhive.autonomy.search_config import SearchPrior

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]
COVERED_EFFORT = 1.0  # a cell counts as swept once its effort reaches this (POD 63 %) ...
COVERED_FRACTION = 0.8  # ... and a block once this fraction of its cells are
CUTOFF_SIGMA = 3.0  # effort beyond 3 sigma of the footprint centre (under 1.1 % of the peak) is left out


def prior_weights(prior: SearchPrior | None, centres: F64, to_local: Callable[[float, float], F64]) -> F64:
    """Relative prior mass of each cell (centres in local metres, all inside the search area), summing to 1."""
    n = centres.shape[0]
    w = np.ones(n)
    if prior is not None and prior.last_known is not None:
        lk = to_local(prior.last_known.lat, prior.last_known.lon)
        d = np.hypot(centres[:, 0] - lk[0], centres[:, 1] - lk[1])
        edges = np.asarray(prior.rings_m, float)
        q = np.asarray(prior.ring_quantiles, float)
        ring = np.searchsorted(edges, d, side="left")  # 0: inside the first ring; len: beyond the last
        mass = np.diff(np.concatenate([[0.0], q, [1.0]]))  # probability per ring (the last: beyond the rings)
        count = np.bincount(ring, minlength=edges.size + 1).astype(float)
        w = np.where(count[ring] > 0, mass[ring] / np.maximum(count[ring], 1.0), 0.0)
    elif prior is not None and prior.areas:
        from skyhive.geo.fences import polygon_from_geojson

        w = np.full(n, prior.background)
        for wa in prior.areas:
            ring = np.asarray(polygon_from_geojson(wa.area).exterior.coords)
            xy = np.asarray([to_local(lat, lon) for lon, lat in ring])
            inside = contains_xy(Polygon(xy), centres[:, 0], centres[:, 1])
            if inside.any():
                w[inside] += wa.weight / inside.sum()
    total = w.sum()
    if total <= 0:
        w = np.ones(n)
        total = float(n)
    return np.asarray(w / total, np.float64)


@dataclass
class SearchGrid:
    """Cells (inside the areas), their prior, blocks and block lanes; identical in every drone."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    cell_of: I64  # (nx, ny) -> cell id, -1 outside
    centres: F64  # (C, 2)
    prior: F64  # (C,) prior mass, summing to 1 over all areas
    block: I64  # (C,) block of each cell
    n_blocks: int
    block_centre: F64  # (B, 2)
    paths: list[F64]  # 4 B lawnmower paths (block b, variant v at 4 b + v), (P, 2) each
    path_len: F64  # (4 B,) metres
    path_pts: F64  # all paths' points, concatenated (P, 2) ...
    path_start: I64  # ... where path k starts ...
    path_n: I64  # ... and how many points it has

    @classmethod
    def build(cls, areas: list[tuple[Polygon, SearchPrior | None, float]], cell: float, block_m: float,
              lane_m: float, to_local: Callable[[float, float], F64]) -> SearchGrid:
        """``areas``: (polygon in local metres, prior, share of the total mass) per search task."""
        b = np.array([p.bounds for p, _, _ in areas])
        x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
        nx = math.ceil((b[:, 2].max() - x0) / cell)
        ny = math.ceil((b[:, 3].max() - y0) / cell)
        gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * cell, y0 + (np.arange(ny) + 0.5) * cell, indexing="ij")
        cell_of = np.full((nx, ny), -1, np.int64)
        prior_grid = np.zeros((nx, ny))
        for poly, prior, share in areas:
            inside = contains_xy(poly, gx, gy) & (cell_of < 0)
            if not inside.any():
                continue
            cell_of[inside] = 0
            pts = np.column_stack([gx[inside], gy[inside]])
            prior_grid[inside] = share * prior_weights(prior, pts, to_local)
        ix, iy = np.nonzero(cell_of >= 0)
        cell_of[ix, iy] = np.arange(ix.size)
        centres = np.column_stack([gx[ix, iy], gy[ix, iy]])
        prior_c = prior_grid[ix, iy]
        prior_c = prior_c / max(prior_c.sum(), 1e-300)
        per = max(1, round(block_m / cell))
        bx, by = ix // per, iy // per
        key = bx * (ny // per + 2) + by
        uniq, block = np.unique(key, return_inverse=True)
        nb = uniq.size
        per_block = np.bincount(block, minlength=nb).astype(np.float64)[:, None]
        bc = np.column_stack([np.bincount(block, centres[:, 0], nb), np.bincount(block, centres[:, 1], nb)]
                             ).astype(np.float64) / per_block
        paths: list[F64] = []
        for k in range(nb):
            paths += _block_paths(centres[block == k], cell, lane_m)
        plen = np.array([float(np.hypot(*np.diff(p, axis=0).T).sum()) if len(p) > 1 else 0.0 for p in paths])
        n_pts = np.array([len(p) for p in paths], np.int64)
        start = np.concatenate([[0], np.cumsum(n_pts)[:-1]]).astype(np.int64)
        return cls(x0, y0, cell, nx, ny, cell_of, centres, prior_c, block.astype(np.int64), nb, bc, paths, plen,
                   np.concatenate(paths), start, n_pts)

    @property
    def n_cells(self) -> int:
        return int(self.centres.shape[0])

    def block_sums(self, values: F64) -> F64:
        """Sum of per-cell ``values`` (..., C) over each block -> (..., B)."""
        flat = values.reshape(-1, self.n_cells)
        out = np.zeros((flat.shape[0], self.n_blocks))
        for r in range(flat.shape[0]):  # rows are the few drones choosing a block this tick
            out[r] = np.bincount(self.block, flat[r], self.n_blocks)
        return out.reshape(*values.shape[:-1], self.n_blocks)

    def sample(self, count: int, rng: np.random.Generator) -> F64:
        """``count`` points drawn from the prior (cell by its mass, then uniform inside the cell)."""
        c = rng.choice(self.n_cells, size=count, p=self.prior)
        return self.centres[c] + rng.uniform(-0.5, 0.5, (count, 2)) * self.cell


def _block_paths(cells: F64, cell: float, lane_m: float) -> list[F64]:
    """Four boustrophedon paths over a block's cells (lanes along x, ``lane_m`` apart): the lanes in either
    order, each starting west or east."""
    if cells.shape[0] == 0:
        z = np.zeros((1, 2))
        return [z, z, z, z]
    ylo, yhi = cells[:, 1].min() - cell / 2, cells[:, 1].max() + cell / 2
    k = max(1, math.ceil((yhi - ylo) / lane_m))
    ys = ylo + (yhi - ylo) * (np.arange(k) + 0.5) / k
    lanes = []
    for y in ys:
        near = np.abs(cells[:, 1] - y) <= max(lane_m, cell) / 2
        row = cells[near] if near.any() else cells[np.argsort(np.abs(cells[:, 1] - y))[:1]]
        lanes.append((float(row[:, 0].min()), float(row[:, 0].max()), float(y)))
    out = []
    for order in (lanes, lanes[::-1]):
        for east_first in (False, True):
            pts = []
            for q, (xa, xb, y) in enumerate(order):
                a, b = (xa, xb) if (q % 2 == 0) != east_first else (xb, xa)
                pts += [(a, y), (b, y)]
            out.append(np.asarray(pts, np.float64))
    return out


def glimpse_effort(grid: SearchGrid, xyz: F64, dt: F64 | float, rate_per_s: float, ref_alt_m: float,
                   tan_half: float) -> tuple[I64, I64, F64]:
    """(sample index, cell, effort) for camera samples at ``xyz`` (S, 3) above flat ground, each lasting ``dt``."""
    h = xyz[:, 2]
    ok = np.flatnonzero(h > 1.0)
    if not ok.size:
        z = np.zeros(0, np.int64)
        return z, z.copy(), np.zeros(0)
    sigma = h[ok] * tan_half / 2.0
    r = math.ceil(CUTOFF_SIGMA * float(sigma.max()) / grid.cell)
    off = np.arange(-r, r + 1)
    cx = np.floor((xyz[ok, 0] - grid.x0) / grid.cell).astype(np.int64)
    cy = np.floor((xyz[ok, 1] - grid.y0) / grid.cell).astype(np.int64)
    gx = (cx[:, None, None] + off[None, :, None]).repeat(off.size, axis=2).reshape(ok.size, -1)
    gy = (cy[:, None, None] + off[None, None, :]).repeat(off.size, axis=1).reshape(ok.size, -1)
    inb = (gx >= 0) & (gx < grid.nx) & (gy >= 0) & (gy < grid.ny)
    cid = np.where(inb, grid.cell_of[np.clip(gx, 0, grid.nx - 1), np.clip(gy, 0, grid.ny - 1)], -1)
    s, k = np.nonzero(cid >= 0)
    c = cid[s, k]
    d2 = (grid.centres[c, 0] - xyz[ok[s], 0]) ** 2 + (grid.centres[c, 1] - xyz[ok[s], 1]) ** 2
    near = d2 <= (CUTOFF_SIGMA * sigma[s]) ** 2
    s, c, d2 = s[near], c[near], d2[near]
    hh = h[ok[s]]
    rate = rate_per_s * np.minimum(1.0, (ref_alt_m / hh) ** 2) * np.exp(-0.5 * d2 / sigma[s] ** 2)
    dts = np.broadcast_to(np.asarray(dt, np.float64), (xyz.shape[0],))[ok[s]]
    return ok[s].astype(np.int64), c.astype(np.int64), rate * dts


class Belief:
    """Each drone's own search map: accumulated effort per cell (float32 rows), POC = prior x exp(-effort)."""

    def __init__(self, grid: SearchGrid, n: int) -> None:
        self.grid = grid
        self.effort = np.zeros((n, grid.n_cells), np.float32)

    def add(self, rows: I64, cells: I64, effort: F64) -> None:
        np.add.at(self.effort, (rows, cells), effort.astype(np.float32))

    def remaining(self, rows: I64) -> F64:
        """Unnormalised posterior mass per cell, prior x P(not found | effort), for drones ``rows`` (k, C)."""
        return self.grid.prior[None, :] * np.exp(-self.effort[rows].astype(np.float64))

    def poc(self, rows: I64) -> F64:
        """Posterior probability of containment per cell (rows sum to 1)."""
        m = self.remaining(rows)
        return m / m.sum(axis=1, keepdims=True)

    def pos(self, rows: I64) -> F64:
        """Cumulative probability of success by each drone's own knowledge: 1 - remaining mass."""
        return 1.0 - self.remaining(rows).sum(axis=1)


class BlockPlanner:
    """Which block each searching drone sweeps, from its own belief and the claims it heard (module docstring)."""

    def __init__(self, grid: SearchGrid, belief: Belief, speed: F64) -> None:
        n = belief.effort.shape[0]
        self.grid, self.belief, self.speed = grid, belief, speed
        self.block = np.full(n, -1, np.int64)  # block each drone sweeps now (-1: none)
        self.variant = np.zeros(n, np.int64)
        self.wp = np.zeros(n, np.int64)  # next waypoint of the block's path
        self.sweeping = np.zeros(n, bool)  # False: flying out to the block
        self.until = np.zeros(n)  # when the drone expects to finish its block
        # what each drone knows of the others' claims: claimer (-1: none) and until when
        self.claim_by = np.full((n, grid.n_blocks), -1, np.int64)
        self.claim_until = np.full((n, grid.n_blocks), -np.inf)
        self.started = False

    def _choose(self, rows: I64, pos: F64, t: float) -> tuple[I64, I64, F64]:
        """Best block, path variant and expected finish for drones ``rows`` at ``pos`` (k, 2), own knowledge."""
        g = self.grid
        mass = g.block_sums(self.belief.remaining(rows))  # (k, B)
        cov = (self.belief.effort[rows] >= COVERED_EFFORT).astype(np.float64)
        covered = g.block_sums(cov) >= COVERED_FRACTION * np.bincount(g.block, minlength=g.n_blocks)[None, :]
        # a block another drone claimed and should have finished by now counts as swept, though its track may not
        # have reached this drone (tracks travel a few hops, claims the whole mesh)
        covered |= (self.claim_by[rows] >= 0) & (self.claim_by[rows] != rows[:, None]) & (self.claim_until[rows] <= t)
        starts = g.path_pts[g.path_start].reshape(g.n_blocks, 4, 2)
        d = np.hypot(starts[None, :, :, 0] - pos[:, None, None, 0], starts[None, :, :, 1] - pos[:, None, None, 1])
        var = np.argmin(d, axis=2)
        dist = np.take_along_axis(d, var[:, :, None], axis=2)[:, :, 0]
        sp = self.speed[rows][:, None]
        dur = (dist + g.path_len.reshape(g.n_blocks, 4)[np.arange(g.n_blocks)[None, :], var]) / sp
        score = mass / np.maximum(dur, 1.0)
        taken = (self.claim_by[rows] >= 0) & (self.claim_by[rows] != rows[:, None]) & (self.claim_until[rows] > t)
        fresh = ~covered & ~taken
        ok = np.where(fresh.any(axis=1, keepdims=True), fresh, ~taken)
        ok &= mass > 0
        score = np.where(ok, score, -np.inf)
        best = np.argmax(score, axis=1)
        none = ~np.isfinite(score[np.arange(rows.size), best])
        best = np.where(none, -1, best)
        v = var[np.arange(rows.size), np.maximum(best, 0)]
        until = t + dur[np.arange(rows.size), np.maximum(best, 0)]
        return best.astype(np.int64), v.astype(np.int64), until

    def assign(self, rows: I64, pos: F64, t: float) -> I64:
        """Give free drones ``rows`` a block; return the rows that took one (their claims are to be sent).  The
        very first call is the launch fan-out: a sequential greedy over common knowledge, identical in every
        drone, so its claims are known to all without a message."""
        if not rows.size:
            return rows
        if not self.started:
            self.started = True
            for r in rows.tolist():  # set-up only: one pass over the fleet at launch
                b, v, u = self._choose(np.array([r]), pos[rows == r], t)
                if b[0] >= 0:
                    self._take(np.array([r]), b, v, u)
                    self.claim_by[:, b[0]] = r
                    self.claim_until[:, b[0]] = u[0]
            return np.zeros(0, np.int64)
        b, v, u = self._choose(rows, pos, t)
        got = b >= 0
        self._take(rows[got], b[got], v[got], u[got])
        return rows[got]

    def _take(self, rows: I64, b: I64, v: I64, u: F64) -> None:
        self.block[rows] = b
        self.variant[rows] = v
        self.wp[rows] = 0
        self.sweeping[rows] = False
        self.until[rows] = u
        self.claim_by[rows, b] = rows
        self.claim_until[rows, b] = u

    def hear_claims(self, rows: I64, claimer: I64, block: I64, until: F64, t: float) -> I64:
        """Drones ``rows`` heard ``claimer`` take ``block`` until ``until``.  The claim that finishes first wins
        (ties: the lower id), an expired one loses to any; a drone still flying out to a block it lost gives it
        up.  Returns the drones that gave up their block."""
        by, old = self.claim_by[rows, block], self.claim_until[rows, block]
        win = (old <= t) | (by == claimer) | (until < old) | ((until == old) & (claimer < by))
        rows, claimer, block, until = rows[win], claimer[win], block[win], until[win]
        self.claim_by[rows, block] = claimer
        self.claim_until[rows, block] = until
        lose = (self.block[rows] == block) & ~self.sweeping[rows] & (claimer != rows)
        lost = np.unique(rows[lose])
        self.block[lost] = -1
        return lost

    def goal(self, rows: I64) -> F64:
        """Current waypoint (x, y) of drones ``rows`` on their block's path."""
        g = self.grid
        k = 4 * self.block[rows] + self.variant[rows]
        return g.path_pts[g.path_start[k] + np.minimum(self.wp[rows], g.path_n[k] - 1)]

    def advance(self, rows: I64) -> I64:
        """Drones ``rows`` reached their waypoint: next one; returns the drones whose block is finished."""
        n = self.grid.path_n[4 * self.block[rows] + self.variant[rows]]
        self.sweeping[rows] = True
        self.wp[rows] += 1
        done = rows[self.wp[rows] >= n]
        self.block[done] = -1
        return done
