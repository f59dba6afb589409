"""The safety filter between intent and command: the one layer every command passes.

Every drone's command is solved by the drone itself (``flight/separation.py``) from its own state and its
neighbours' broadcast states, under closed-form barrier constraints of the form ``n . u >= minimum``:

* Drone-drone separation: reciprocal, braking- and lag-aware barriers shared ORCA-style between the two
  drones of a pair, met along a tilted direction (right-hand turn, one climbs and one descends) so dense and
  symmetric encounters never stall (docs/flight.md, "Tactical separation").
* Manned aircraft: the drone alone gives way.  Its horizontal distance must stay above the well-clear radius
  while it is inside the vertical band, and when an aircraft approaches inside the band the drone also leaves
  the band vertically (away from the aircraft's altitude) at its full climb/descent rate, since it usually
  cannot outrun an aircraft.
* Geofences: a horizontal barrier to the boundary of each active prism (the keep-in fence that best contains
  the drone; every keep-out fence whose altitude band the drone is in), exact however deep inside a drone is,
  and vertical barriers to ceilings and floors, all braking-aware.

Fences and limits are applied last in each round, so when constraints conflict a drone keeps out of
forbidden airspace before it keeps its distance from other drones.  Every neighbour question goes through the
shared spatial index.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skyhive.flight.separation import BRAKE_SHARE_CAP, neighbour_constraints, solve_velocities
from skyhive.geo.fences import FenceSet
from skyhive.scenario.models import Safety
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

F64 = NDArray[np.float64]
MAX_ITERATIONS = 30  # cyclic-projection rounds per drone and tick
SEPARATION_BUFFER = 1.25  # the filter keeps 1.25 x separation_m; the monitor counts losses below 1.0 x
TILT_HORIZONTAL = 0.6  # right-hand turn per unit of correction (liveness)
TILT_VERTICAL = 1.5  # climb / descend per unit of correction (vertical resolution)
LAG_TICKS = 1.5  # ticks before a new command shows in the velocity (the barrier leads the velocity loop)
LOOK_MARGIN_M = 5.0  # what a tick of full acceleration adds to the closing distance
RIGHT_OF_WAY_WEIGHT = 1.0 / 3.0  # returning and landing drones take a quarter of a pair's correction
BAND_MARGIN_M = 15.0


class Constraints:
    """One tick's single-drone velocity constraints, gathered as arrays for the projection kernel.

    Horizontal half-planes n . u_h >= min (geofences, manned aircraft); vertical
    bounds lower <= u_z <= upper (ceilings, floors, leaving a manned aircraft's
    altitude band).
    """

    def __init__(self, n: int) -> None:
        self.upper = np.full(n, np.inf)
        self.lower = np.full(n, -np.inf)
        self._halves: list[tuple[NDArray[np.int64], F64, F64]] = []

    def half_plane(self, idx: NDArray[np.int64], nrm: F64, minimum: F64) -> None:
        if idx.size:
            self._halves.append((idx, nrm, minimum))

    def cap_up(self, idx: NDArray[np.int64], bound: F64, repeated: bool = False) -> None:
        """u_z <= bound for drones idx (``repeated``: idx may name a drone more than once)."""
        if repeated:
            np.minimum.at(self.upper, idx, bound)
        else:
            self.upper[idx] = np.minimum(self.upper[idx], bound)

    def cap_down(self, idx: NDArray[np.int64], bound: F64, repeated: bool = False) -> None:
        """u_z >= bound for drones idx (``repeated``: idx may name a drone more than once)."""
        if repeated:
            np.maximum.at(self.lower, idx, bound)
        else:
            self.lower[idx] = np.maximum(self.lower[idx], bound)

    def halves(self) -> tuple[NDArray[np.int64], F64, F64]:
        """The half-planes grouped by drone: (ptr (N+1,), normal (H, 2), minimum (H,)); drone i's rows are
        ptr[i]:ptr[i+1]."""
        n = self.upper.shape[0]
        if not self._halves:
            return np.zeros(n + 1, np.int64), np.zeros((0, 2)), np.zeros(0)
        idx = np.concatenate([h[0] for h in self._halves])
        order = np.argsort(idx, kind="stable")
        ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(idx, minlength=n), out=ptr[1:])
        return (ptr, np.ascontiguousarray(np.concatenate([h[1] for h in self._halves])[order]),
                np.concatenate([h[2] for h in self._halves])[order])


class SafetyFilter:
    name = "safety"
    phase = Phase.GUARD
    period = 0.0

    def __init__(self, cfg: Safety, fences: FenceSet, drones: DroneState) -> None:
        self.cfg = cfg
        self.fences = fences
        self.gamma = 1.0 / cfg.horizon_s
        self.vmax = float(drones.max_h_speed.max(initial=1.0))
        # aim beyond the minimum: velocity lag and gusts eat part of the gap before the barrier acts
        self.target_sep = cfg.separation_m * SEPARATION_BUFFER
        self.min_vertical_rate = float(np.minimum(drones.max_descent, drones.max_climb).min())
        # the look radius covers every pair that could need to act now: the closing distance the barrier's
        # time constant allows, or the distance two drones at full speed head-on need to stop
        # the slowest pair brakes together at 2 x its acceleration limit, shared among up to BRAKE_SHARE_CAP^2
        # neighbours; the look radius covers every pair that could need to act now at full closing speed
        self.brake = 2.0 * float(drones.max_accel.min()) / BRAKE_SHARE_CAP if drones.n else 4.0
        v_close = 2.0 * self.vmax
        stop_m = v_close * LAG_TICKS * 0.2 + v_close**2 / (2.0 * self.brake)
        self.look_m = self.target_sep + max(v_close / self.gamma, stop_m) + LOOK_MARGIN_M
        self.floor_clear_m = 2.0 * cfg.separation_m
        self.dt = 0.1  # set from the tick
        self.corrected = 0
        self.passes = 0
        self.unresolved = 0
        self._unresolved = np.zeros(drones.n, bool)

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        fly = d.status <= DroneStatus.LANDING
        u = d.intent_vel.copy()
        u[~fly] = 0.0
        self.dt = ctx.dt
        lag = np.full(d.n, LAG_TICKS * ctx.dt)
        gain = 1.0 / (1.0 - np.exp(-ctx.dt / d.tau.astype(np.float64)))
        weight = np.where(d.status == DroneStatus.ACTIVE, 1.0, RIGHT_OF_WAY_WEIGHT)
        ptr, _other, normal, minimum, _allowed, sigma = neighbour_constraints(
            d.pos, d.vel, fly, ctx.index.candidate_pairs(self.look_m), self.target_sep, self.gamma, d.max_accel,
            lag, gain, weight, self.look_m, self.floor_clear_m)
        cons = Constraints(d.n)
        self._well_clear(ctx, u, fly, cons)
        self._fences(d, fly, cons)
        half_ptr, half_n, half_min = cons.halves()
        before = u.copy()
        self.passes += solve_velocities(u, fly, ptr, normal, minimum, sigma, TILT_HORIZONTAL, TILT_VERTICAL,
                                        half_ptr, half_n, half_min, cons.upper, cons.lower, d.max_h_speed,
                                        d.max_climb, d.max_descent, MAX_ITERATIONS, self._unresolved)
        self.unresolved += int(np.count_nonzero(self._unresolved))
        self.corrected += int(np.count_nonzero(np.any(np.abs(u - before) > 1e-6, axis=1)))
        d.cmd_vel[:] = u

    def _well_clear(self, ctx: TickContext, u: F64, fly: NDArray[np.bool_], cons: Constraints) -> None:
        """The drone alone gives way: keep out of the well-clear cylinder, leave its altitude band in time."""
        man = ctx.world.manned
        air = np.flatnonzero(man.is_aircraft)
        if air.size == 0:
            return
        wc = self.cfg.well_clear
        d = ctx.world.drones
        vm = man.vel[air]
        # how long leaving the band vertically can take, at the slowest climb/descent rate of the fleet
        escape_s = (wc.vertical_m + BAND_MARGIN_M) / self.min_vertical_rate + self.cfg.horizon_s
        v_air = float(np.linalg.norm(vm, axis=1).max())
        reach = wc.horizontal_m + BAND_MARGIN_M + (v_air + self.vmax) * escape_s
        k, i, _ = ctx.index.near_points(man.pos[air], reach)
        keep = fly[i]
        k, i = k[keep], i[keep]
        if i.size == 0:
            return
        rel = d.pos[i] - man.pos[air][k]
        dz = rel[:, 2]
        dh = np.hypot(rel[:, 0], rel[:, 1])
        nh = rel[:, :2] / np.maximum(dh, 1e-9)[:, None]
        band = np.abs(dz) < wc.vertical_m + BAND_MARGIN_M
        gap = dh - wc.horizontal_m - BAND_MARGIN_M
        aircraft_along_n = np.einsum("ij,ij->i", vm[k, :2], nh)
        cons.half_plane(i[band], nh[band], aircraft_along_n[band] - self.gamma * gap[band])
        # leave the band vertically before the aircraft can arrive: under it if there is room above the
        # ground, else over it
        closing = np.einsum("ij,ij->i", u[i, :2], nh) - aircraft_along_n
        rate = np.where(dz < 0.0, d.max_descent[i], d.max_climb[i])
        need_s = (wc.vertical_m + BAND_MARGIN_M - np.abs(dz)) / rate + self.cfg.horizon_s
        arrive_s = np.maximum(gap, 0.0) / np.maximum(-closing, 1e-6)
        threat = band & ((gap < 0.0) | (arrive_s < need_s))
        if threat.any():
            idx = i[threat]
            under_alt = man.pos[air][k[threat], 2] - wc.vertical_m - BAND_MARGIN_M
            down = (dz[threat] < 0.0) & (under_alt > 0.0)
            cons.cap_up(idx[down], -d.max_descent[idx[down]].astype(np.float64), repeated=True)
            cons.cap_down(idx[~down], d.max_climb[idx[~down]].astype(np.float64), repeated=True)

    def _fences(self, d: DroneState, fly: NDArray[np.bool_], cons: Constraints) -> None:
        fences = self.fences
        if not any(p.active for p in fences.prisms):
            return
        m = self.cfg.geofence_margin_m
        reach = m + 2.0 * self.vmax * self.cfg.horizon_s
        z = d.pos[:, 2]
        keep_in = [(k, p) for k, p in enumerate(fences.prisms) if p.active and p.kind == "keep_in"]
        for k, p in enumerate(fences.prisms):
            if not p.active or p.kind != "keep_out":
                continue
            s, nrm, _ = fences.geometry(k, d.pos, reach)
            self._exact_where_deep(k, d.pos, s, nrm, fly)
            near = np.flatnonzero(np.isfinite(s) & fly)
            if near.size == 0:
                continue
            zn = z[near]
            band = near[(zn >= p.floor_m - m) & (zn <= p.ceiling_m + m)]
            cons.half_plane(band, nrm[band], -self._allowance(s[band] - m, d, band))
            over = near[s[near] < m]  # over or under the keep-out block, or about to be
            above = over[z[over] >= p.ceiling_m]
            cons.cap_down(above, -self._allowance(z[above] - p.ceiling_m - m, d, above))
            below = over[z[over] <= p.floor_m]
            cons.cap_up(below, self._allowance(p.floor_m - m - z[below], d, below))
        if not keep_in:
            return
        # a drone stays in the keep-in fence that best contains it (largest signed distance)
        k0, p0 = keep_in[0]
        best_s, best_n, _ = fences.geometry(k0, d.pos, reach)
        self._exact_where_deep(k0, d.pos, best_s, best_n, fly)
        best_ceiling: F64 | float = p0.ceiling_m
        best_floor: F64 | float = p0.floor_m
        if len(keep_in) > 1:
            best_ceiling = np.full(d.n, p0.ceiling_m)
            best_floor = np.full(d.n, p0.floor_m)
            for k, p in keep_in[1:]:
                s, nrm, _ = fences.geometry(k, d.pos, reach)
                self._exact_where_deep(k, d.pos, s, nrm, fly)
                better = s > best_s
                best_s = np.where(better, s, best_s)
                best_n[better] = nrm[better]
                best_ceiling[better] = p.ceiling_m
                best_floor[better] = p.floor_m
        act = np.flatnonzero(np.isfinite(best_s) & fly)
        cons.half_plane(act, best_n[act], -self._allowance(best_s[act] - m, d, act))
        flying = np.flatnonzero(fly)
        ceil = best_ceiling if isinstance(best_ceiling, float) else best_ceiling[flying]
        floor = best_floor if isinstance(best_floor, float) else best_floor[flying]
        margin_v = np.minimum(m, 0.25 * (ceil - floor))
        cons.cap_up(flying, self._allowance(ceil - margin_v - z[flying], d, flying))
        # a floor above the ground holds up active drones (landing ones may pass it)
        raised = flying[(np.asarray(floor) > 0.0) & (d.status[flying] == DroneStatus.ACTIVE)]
        if raised.size:
            floor_r = np.broadcast_to(np.asarray(best_floor), (d.n,))[raised]
            cons.cap_down(raised, -self._allowance(z[raised] - floor_r - m, d, raised))

    def _allowance(self, gap: F64, d: DroneState, idx: NDArray[np.int64]) -> F64:
        """How fast drones ``idx`` may close a gap to a fixed boundary: min(gamma h, what braking at the
        acceleration limit can still shed after the velocity loop's lag); gamma h (< 0) inside it."""
        accel = d.max_accel[idx].astype(np.float64)
        lag = d.tau[idx].astype(np.float64) + self.dt
        root = np.sqrt(lag * lag + 2.0 * np.maximum(gap, 0.0) / accel)
        stop = accel * (root - lag)
        return np.where(gap > 0.0, np.minimum(self.gamma * gap, stop), self.gamma * gap)

    def _exact_where_deep(self, k: int, pos: F64, s: F64, nrm: F64, fly: NDArray[np.bool_]) -> None:
        """Drones on the wrong side of fence k far from its edge (s = -inf from the coarse grid) get the exact
        distance and the direction to the nearest way out, so a keep-out that switches on over them is left
        however deep inside they are."""
        deep = np.flatnonzero(np.isneginf(s) & fly)
        if deep.size:
            dist, away, _ = self.fences.prisms[k].horizontal(pos[deep, :2])
            s[deep] = -dist
            nrm[deep] = -away

    def metrics(self) -> dict[str, object]:
        return {"safety_corrections": self.corrected, "safety_filter_passes": self.passes,
                "safety_unresolved_conflicts": self.unresolved}
