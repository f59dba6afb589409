"""Compiled inner loops of the tick (numba).

Why by hand: the per-pair barrier and the per-drone integrator are a few
dozen floating-point operations each.  As NumPy expressions they need one
temporary array and one interpreter round trip per operation, which made them
ten times slower than the arithmetic itself at 2,000 drones; fused into one
compiled pass they cost microseconds.  Each kernel is a pure function of the
arrays it is given (no globals, no state), with the NumPy semantics written
out in its docstring, and is tested against a NumPy reference.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@njit(cache=True)
def close_pairs(pos: F64, air: NDArray[np.bool_], pairs: NDArray[np.int64], radius: float,
                sep: float) -> tuple[float, NDArray[np.int64]]:
    """Minimum distance among airborne candidate pairs within ``radius`` (inf if none), and the keys
    i * N + j of the pairs closer than ``sep``."""
    n = pos.shape[0]
    best = np.inf
    keys = np.empty(pairs.shape[0], np.int64)
    m = 0
    for k in range(pairs.shape[0]):
        i = pairs[k, 0]
        j = pairs[k, 1]
        if not (air[i] and air[j]):
            continue
        dx = pos[i, 0] - pos[j, 0]
        dy = pos[i, 1] - pos[j, 1]
        dz = pos[i, 2] - pos[j, 2]
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        if d < radius and d < best:
            best = d
        if d < sep:
            keys[m] = i * n + j
            m += 1
    return best, np.sort(keys[:m])


@njit(cache=True)
def integrate(pos: F64, vel: F64, cmd: F64, status: NDArray[np.uint8], battery: F64, distance: F64,
              alpha: F64, dv_max: F64, hover: NDArray[np.float32], drag: NDArray[np.float32],
              climb: NDArray[np.float32], nodes: F64, length: float, steady: F64, dt: float,
              on_ground_m: float, flying_max: int, landing_codes: NDArray[np.uint8], landed: int) -> float:
    """One MOVE step for every drone, in place; returns the energy used (Wh).

    Per drone: gust g = bilinear(nodes, x / length, y / length) on the periodic grid;
    v += clip_norm((cmd + g - v) * alpha, dv_max) unless on the ground or not flying (then v = 0);
    p += v dt, z >= 0; battery -= (hover + drag |v_air,h|^3 + climb max(v_z, 0)) dt / 3600 while
    airborne; a returning/landing drone that touches the ground becomes ``landed``.
    """
    grid = nodes.shape[0]
    used = 0.0
    for i in range(pos.shape[0]):
        if status[i] > flying_max:
            vel[i, 0] = 0.0
            vel[i, 1] = 0.0
            vel[i, 2] = 0.0
            continue
        gx = pos[i, 0] / length
        gy = pos[i, 1] / length
        fx = math.floor(gx)
        fy = math.floor(gy)
        tx = gx - fx
        ty = gy - fy
        i0 = int(fx) % grid
        j0 = int(fy) % grid
        i1 = (i0 + 1) % grid
        j1 = (j0 + 1) % grid
        w00 = (1 - tx) * (1 - ty)
        w10 = tx * (1 - ty)
        w01 = (1 - tx) * ty
        w11 = tx * ty
        g0 = nodes[i0, j0, 0] * w00 + nodes[i1, j0, 0] * w10 + nodes[i0, j1, 0] * w01 + nodes[i1, j1, 0] * w11
        g1 = nodes[i0, j0, 1] * w00 + nodes[i1, j0, 1] * w10 + nodes[i0, j1, 1] * w01 + nodes[i1, j1, 1] * w11
        g2 = nodes[i0, j0, 2] * w00 + nodes[i1, j0, 2] * w10 + nodes[i0, j1, 2] * w01 + nodes[i1, j1, 2] * w11
        on_ground = pos[i, 2] <= on_ground_m and cmd[i, 2] <= 0.0
        if on_ground:
            vel[i, 0] = 0.0
            vel[i, 1] = 0.0
            vel[i, 2] = 0.0
        else:
            d0 = (cmd[i, 0] + g0 - vel[i, 0]) * alpha[i]
            d1 = (cmd[i, 1] + g1 - vel[i, 1]) * alpha[i]
            d2 = (cmd[i, 2] + g2 - vel[i, 2]) * alpha[i]
            norm = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
            if norm > dv_max[i]:
                s = dv_max[i] / norm
                d0 *= s
                d1 *= s
                d2 *= s
            vel[i, 0] += d0
            vel[i, 1] += d1
            vel[i, 2] += d2
        pos[i, 0] += vel[i, 0] * dt
        pos[i, 1] += vel[i, 1] * dt
        pos[i, 2] += vel[i, 2] * dt
        if pos[i, 2] < 0.0:
            pos[i, 2] = 0.0
            if vel[i, 2] < 0.0:
                vel[i, 2] = 0.0
        speed = math.sqrt(vel[i, 0] ** 2 + vel[i, 1] ** 2 + vel[i, 2] ** 2)
        distance[i] += speed * dt
        if not on_ground:
            ax = vel[i, 0] - steady[0] - g0
            ay = vel[i, 1] - steady[1] - g1
            vh = math.sqrt(ax * ax + ay * ay)
            power = hover[i] + drag[i] * vh * vh * vh + climb[i] * max(vel[i, 2], 0.0)
            e = power * dt / 3600.0
            battery[i] -= e
            if battery[i] < 0.0:
                battery[i] = 0.0
            used += e
        if pos[i, 2] <= on_ground_m and cmd[i, 2] <= 0.0:
            for c in landing_codes:
                if status[i] == c:
                    status[i] = landed
                    pos[i, 2] = 0.0
                    vel[i, 0] = 0.0
                    vel[i, 1] = 0.0
                    vel[i, 2] = 0.0
                    break
    return used


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


@njit(cache=True)
def track_slots(pos: F64, vel: F64, intent: F64, status: NDArray[np.uint8], active_code: int,
                fleet: NDArray[np.int64], done: NDArray[np.bool_], hold: F64, ref_pos: F64, ref_vel: F64,
                fleet_done: NDArray[np.bool_], offsets: F64, gain: float, accept: float, settled: float,
                arrived: NDArray[np.bool_]) -> int:
    """Intent of every active drone: its fleet's reference velocity plus ``gain`` x (slot - position)
    (twice the gain vertically), or ``gain`` x (hold point - position) once its route is done.  Marks in
    ``arrived`` the drones whose fleet schedule ended and that sit within ``accept`` m of their slot
    slower than ``settled`` m/s; returns how many."""
    count = 0
    for i in range(pos.shape[0]):
        arrived[i] = False
        if status[i] != active_code:
            continue
        f = fleet[i]
        if done[i]:
            tx, ty, tz = hold[i, 0], hold[i, 1], hold[i, 2]
            fx, fy, fz = 0.0, 0.0, 0.0
        else:
            tx = ref_pos[f, 0] + offsets[i, 0]
            ty = ref_pos[f, 1] + offsets[i, 1]
            tz = ref_pos[f, 2] + offsets[i, 2]
            fx, fy, fz = ref_vel[f, 0], ref_vel[f, 1], ref_vel[f, 2]
        ex, ey, ez = tx - pos[i, 0], ty - pos[i, 1], tz - pos[i, 2]
        intent[i, 0] = fx + gain * ex
        intent[i, 1] = fy + gain * ey
        intent[i, 2] = fz + 2.0 * gain * ez
        if (not done[i] and fleet_done[f] and ex * ex + ey * ey + ez * ez < accept * accept
                and vel[i, 0] ** 2 + vel[i, 1] ** 2 + vel[i, 2] ** 2 < settled * settled):
            arrived[i] = True
            hold[i, 0], hold[i, 1], hold[i, 2] = tx, ty, tz
            count += 1
    return count
