"""Decentralized separation: each drone's own velocity problem, from its state and its neighbours' (numba).

The model (docs/flight.md, "Tactical separation"):

* **Barrier.**  For a pair (i, j) at distance d the gap is h = d - s, with s the target separation (a buffer
  above ``separation_m``).  The closing speed may not exceed ``allowed(h) = min(gamma h, c*(h))`` where c*(h)
  is the largest closing speed the pair can still shed within h: ``c T + c^2 / (2 b) = h`` with b the
  deceleration the two can shed together (both braking at their acceleration limit) and T the time before
  braking takes hold (the velocity loop's time constant plus one tick).  Inside the buffer (h < 0) the gap
  must open at ``gamma |h|``.
* **Reciprocity (ORCA's split).**  With n the unit vector from j to i and v the velocities the drones
  broadcast, the pair needs ``n . (u_i - u_j) >= -allowed``.  The excess of the current velocities,
  ``e = -allowed - n . (v_i - v_j)``, is shared: drone i requires ``n . u_i >= n . v_i + s_i e`` and drone j
  ``-n . u_j >= -n . v_j + s_j e`` with ``s_i + s_j = 1``; adding the two gives the pair's constraint, so
  each drone can solve its own problem alone and the pair still holds.  Drones with right of way (returning,
  landing) take a smaller share.
* **Liveness.**  A drone meets a violated half-space by moving along a tilted direction
  ``n + k_h r(n) + k_v sigma e_z`` rather than along n: r(n) is the horizontal right-hand perpendicular (both
  drones of a pair turn right, so they pass left side to left side — symmetric encounters cannot stall) and
  sigma = +-1 sends one drone up and the other down (the higher one climbs; at equal height the
  drone with the larger index), so fleets at one altitude pass over and under each other.  Any direction with
  a positive component along n satisfies the half-space exactly, so the tilt changes how a conflict is
  resolved, never whether.
* **Per-drone solve.**  Cyclic projections (POCS) over the drone's own half-spaces, then its single-drone
  half-planes (geofences, manned aircraft), vertical bounds and speed limits, repeated until all hold;
  geofences and limits come last, so when the set is empty a drone keeps out of forbidden airspace before
  it keeps its distance, and such drones are counted.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
TOLERANCE_MPS = 1e-3
BRAKE_SHARING = 0.5  # a drone closing on k neighbours counts on accel / k**BRAKE_SHARING for each
BRAKE_SHARE_CAP = 4.0  # ... but never less than accel / 4 (the look radius is sized for that)
TIE_HEIGHT_M = 1.0  # pairs closer in height than this use the index order for who climbs


@njit(cache=True, inline="always")
def stop_speed(gap: float, brake: float, lag: float) -> float:
    """The largest closing speed c with c * lag + c^2 / (2 brake) <= gap (0 for gap <= 0)."""
    if gap <= 0.0:
        return 0.0
    return brake * (-lag + math.sqrt(lag * lag + 2.0 * gap / brake))


@njit(cache=True)
def neighbour_constraints(pos: F64, vel: F64, fly: NDArray[np.bool_], pairs: I64, target: float, gamma: float,
                          accel: NDArray[np.float32], lag: F64, gain: F64, weight: F64, look: float,
                          floor_clear: float) -> tuple[I64, I64, F64, F64, F64, NDArray[np.int8]]:
    """Each flying drone's half-spaces from its neighbours within ``look``, grouped by drone (CSR).

    Returns (ptr (N+1,), other (K,), normal (K, 3), minimum (K,), closing allowance (K,), sigma (K,)):
    drone i's constraints are rows ptr[i]:ptr[i+1], each ``normal . u_i >= minimum``; sigma is +1 (climb),
    -1 (descend) or 0 (no vertical tilt: too low to descend).  ``weight`` is each drone's responsibility
    weight (its share of a pair is w_i / (w_i + w_j)).
    """
    n = pos.shape[0]
    m = pairs.shape[0]
    look2 = look * look
    keep = np.zeros(m, np.bool_)
    count = np.zeros(n + 1, np.int64)
    for k in range(m):
        i = pairs[k, 0]
        j = pairs[k, 1]
        if not (fly[i] and fly[j]):
            continue
        dx = pos[i, 0] - pos[j, 0]
        dy = pos[i, 1] - pos[j, 1]
        dz = pos[i, 2] - pos[j, 2]
        if dx * dx + dy * dy + dz * dz < look2:
            keep[k] = True
            count[i + 1] += 1
            count[j + 1] += 1
    # how many neighbours each drone is closing on: its braking is shared among them
    closing_on = np.ones(n)
    for k in range(m):
        if keep[k]:
            i = pairs[k, 0]
            j = pairs[k, 1]
            rel = ((vel[i, 0] - vel[j, 0]) * (pos[i, 0] - pos[j, 0]) + (vel[i, 1] - vel[j, 1]) * (pos[i, 1] - pos[j, 1])
                   + (vel[i, 2] - vel[j, 2]) * (pos[i, 2] - pos[j, 2]))
            if rel < 0.0:
                closing_on[i] += 1.0
                closing_on[j] += 1.0
    for i in range(n):
        closing_on[i] = min(max(1.0, closing_on[i] - 1.0) ** BRAKE_SHARING, BRAKE_SHARE_CAP)
    ptr = np.cumsum(count)
    total = ptr[n]
    other = np.empty(total, np.int64)
    normal = np.empty((total, 3))
    minimum = np.empty(total)
    allowance = np.empty(total)
    sigma = np.zeros(total, np.int8)
    fill = ptr[:n].copy()
    for k in range(m):
        if not keep[k]:
            continue
        i = pairs[k, 0]
        j = pairs[k, 1]
        dx = pos[i, 0] - pos[j, 0]
        dy = pos[i, 1] - pos[j, 1]
        dz = pos[i, 2] - pos[j, 2]
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        inv = 1.0 / max(d, 1e-9)
        nx = dx * inv
        ny = dy * inv
        nz = dz * inv
        gap = d - target
        brake = float(accel[i]) / closing_on[i] + float(accel[j]) / closing_on[j]
        delay = max(lag[i], lag[j])
        allowed = min(gamma * gap, stop_speed(gap, brake, delay)) if gap > 0.0 else gamma * gap
        rel = (vel[i, 0] - vel[j, 0]) * nx + (vel[i, 1] - vel[j, 1]) * ny + (vel[i, 2] - vel[j, 2]) * nz
        excess = -allowed - rel
        share_i = weight[i] / (weight[i] + weight[j])
        up_i = 1 if dz > TIE_HEIGHT_M or (dz >= -TIE_HEIGHT_M and i > j) else -1
        a = fill[i]
        fill[i] += 1
        other[a] = j
        normal[a, 0] = nx
        normal[a, 1] = ny
        normal[a, 2] = nz
        # a correction is asked of the command amplified by the velocity loop's gain per tick, so the
        # velocity itself has made it by the next tick (one-step-ahead barrier); slack is not amplified
        lead_i = gain[i] if excess > 0.0 else 1.0
        lead_j = gain[j] if excess > 0.0 else 1.0
        minimum[a] = vel[i, 0] * nx + vel[i, 1] * ny + vel[i, 2] * nz + share_i * excess * lead_i
        allowance[a] = allowed
        sigma[a] = up_i if (up_i > 0 or pos[i, 2] > floor_clear) else 0
        b = fill[j]
        fill[j] += 1
        other[b] = i
        normal[b, 0] = -nx
        normal[b, 1] = -ny
        normal[b, 2] = -nz
        minimum[b] = -(vel[j, 0] * nx + vel[j, 1] * ny + vel[j, 2] * nz) + (1.0 - share_i) * excess * lead_j
        allowance[b] = allowed
        sigma[b] = -up_i if (-up_i > 0 or pos[j, 2] > floor_clear) else 0
    return ptr, other, normal, minimum, allowance, sigma


@njit(cache=True, inline="always")
def _clamp(u: F64, i: int, upper: float, lower: float, max_h: float, max_climb: float, max_descent: float) -> None:
    """Row i of u within its vertical bounds, then within its climb/descent and horizontal speed limits."""
    z = min(max(u[i, 2], lower), upper) if lower <= upper else lower
    u[i, 2] = min(max(z, -max_descent), max_climb)
    h = math.sqrt(u[i, 0] * u[i, 0] + u[i, 1] * u[i, 1])
    if h > max_h:
        s = max_h / h
        u[i, 0] *= s
        u[i, 1] *= s


@njit(cache=True, inline="always")
def _half_planes(u: F64, i: int, half_ptr: I64, half_n: F64, half_min: F64) -> None:
    """Row i of u projected in turn onto each of its horizontal half-planes n . u_h >= minimum."""
    for k in range(half_ptr[i], half_ptr[i + 1]):
        viol = half_min[k] - (u[i, 0] * half_n[k, 0] + u[i, 1] * half_n[k, 1])
        if viol > 0.0:
            u[i, 0] += viol * half_n[k, 0]
            u[i, 1] += viol * half_n[k, 1]


@njit(cache=True)
def solve_velocities(u: F64, fly: NDArray[np.bool_], ptr: I64, normal: F64, minimum: F64,
                     sigma: NDArray[np.int8], tilt_h: float, tilt_v: float, half_ptr: I64, half_n: F64,
                     half_min: F64, upper: F64, lower: F64, max_h: NDArray[np.float32],
                     max_climb: NDArray[np.float32], max_descent: NDArray[np.float32], max_iter: int,
                     unresolved: NDArray[np.bool_]) -> int:
    """Every flying drone's command, in place in ``u`` (which holds the intents), one drone at a time.

    Per drone: clamp to limits, then repeat up to ``max_iter`` times: every neighbour half-space
    ``normal . u >= minimum`` that is violated is met along the tilted direction (see the module docstring),
    then every single-drone horizontal half-plane along its normal, then the vertical bounds and speed
    limits; stop when all neighbour half-spaces hold.  Marks in ``unresolved`` the drones left with a
    violated neighbour half-space; returns the total number of iterations run.
    """
    n = u.shape[0]
    total = 0
    for i in range(n):
        unresolved[i] = False
        if not fly[i]:
            continue
        _clamp(u, i, upper[i], lower[i], max_h[i], max_climb[i], max_descent[i])
        a0 = ptr[i]
        a1 = ptr[i + 1]
        if a0 == a1:
            # no neighbours: only single-drone constraints (one pass is exact for one half-plane)
            _half_planes(u, i, half_ptr, half_n, half_min)
            _clamp(u, i, upper[i], lower[i], max_h[i], max_climb[i], max_descent[i])
            continue
        left = True
        for _ in range(max_iter):
            total += 1
            for a in range(a0, a1):
                nx = normal[a, 0]
                ny = normal[a, 1]
                nz = normal[a, 2]
                viol = minimum[a] - (u[i, 0] * nx + u[i, 1] * ny + u[i, 2] * nz)
                if viol > 0.0:
                    # tilted direction: n + tilt_h * right(n) + tilt_v * sigma * e_z
                    dx = nx - tilt_h * ny
                    dy = ny + tilt_h * nx
                    dz = nz + tilt_v * sigma[a]
                    along = dx * nx + dy * ny + dz * nz
                    if along < 0.2:
                        dx, dy, dz, along = nx, ny, nz, 1.0
                    s = viol / along
                    u[i, 0] += s * dx
                    u[i, 1] += s * dy
                    u[i, 2] += s * dz
            _half_planes(u, i, half_ptr, half_n, half_min)
            _clamp(u, i, upper[i], lower[i], max_h[i], max_climb[i], max_descent[i])
            left = False
            for a in range(a0, a1):
                viol = minimum[a] - (u[i, 0] * normal[a, 0] + u[i, 1] * normal[a, 1] + u[i, 2] * normal[a, 2])
                if viol > TOLERANCE_MPS:
                    left = True
                    break
            if not left:
                break
        unresolved[i] = left
    return total
