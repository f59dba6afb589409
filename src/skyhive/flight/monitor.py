"""The safety monitor: counts and logs what the safety filter could not prevent.

It watches every airborne drone (off the ground, however low) after the MOVE phase and counts a violation
when a pair or a drone *enters* the violating state, not once per tick it stays there:

* ``loss_of_separation_events``: two airborne drones closer than ``safety.separation_m``;
  ``min_separation_m`` is the closest approach seen (exact within 3 x separation).
* ``geofence_breach_events``: a drone **entering** forbidden airspace (inside an active keep-out, outside
  every active keep-in).  Drones already inside a keep-out when it switches on are counted apart
  (``geofence_inside_at_activation``) with the time until the last of them was out
  (``geofence_clear_after_activation_s``); if such a drone re-enters after leaving, that is an entry.
* ``well_clear_violations``: a drone entering a manned aircraft's well-clear cylinder.

Every new violation is logged as a warning event naming the drones (fleet/index), where (lat, lon, height)
and the other party.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skyhive.events import EventLog
from skyhive.flight.kernels import close_pairs
from skyhive.geo.fences import FenceSet
from skyhive.geo.frames import LocalFrame
from skyhive.scenario.models import Safety
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneStatus

MAX_EVENTS_PER_TICK = 20  # one event per new violation, up to this many per tick (then one summary line)


class DroneNames:
    """Human names of drones for events: ``fleet/k`` (k counts within the fleet) and where they are."""

    def __init__(self, fleet_names: list[str], fleet_start: list[int], frame: LocalFrame | None) -> None:
        self.fleet_names = fleet_names
        self.fleet_start = np.asarray(fleet_start, np.int64)
        self.frame = frame

    def name(self, fleet: int, drone: int) -> str:
        if not self.fleet_names:
            return f"drone {drone}"
        return f"{self.fleet_names[fleet]}/{drone - int(self.fleet_start[fleet])}"

    def where(self, xyz: NDArray[np.float64]) -> str:
        if self.frame is None:
            return f"({xyz[0]:.0f}, {xyz[1]:.0f}) m ENU, {xyz[2]:.0f} m high"
        lat, lon, _ = self.frame.geodetic(xyz)
        return f"lat {float(lat):.6f} lon {float(lon):.6f}, {xyz[2]:.0f} m high"


class SafetyMonitor:
    """Counts what the filter could not prevent: losses of separation, breaches, well-clear violations."""

    name = "safety_monitor"
    phase = Phase.RECORD
    period = 0.0

    def __init__(self, cfg: Safety, fences: FenceSet, log: EventLog | None = None,
                 names: DroneNames | None = None, manned_names: list[str] | None = None) -> None:
        self.cfg = cfg
        self.fences = fences
        self.log = log
        self.names = names or DroneNames([], [], None)
        self.manned_names = manned_names or []
        self.watch_m = 3.0 * cfg.separation_m  # closer encounters are measured exactly
        self.los_events = 0
        self.min_separation = np.inf
        self.breach_events = 0
        self.breach_drone_s = 0.0
        self.inside_at_activation = 0
        self.clear_after_activation_s: float | None = None
        self.well_clear_events = 0
        self.min_manned_h = np.inf
        self._los = np.zeros(0, np.int64)
        self._breach: NDArray[np.bool_] | None = None
        self._caught: NDArray[np.bool_] | None = None  # inside a keep-out when it switched on, not out yet
        self._caught_since = 0.0
        self._active = [p.active for p in fences.prisms]
        self._wc = np.zeros(0, np.int64)

    def _event(self, t: float, text: str, drones: NDArray[np.int64]) -> None:
        if self.log is not None:
            self.log.add(t, "warning", "safety", text, drones)

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        ctx.index.update(d.pos)
        air = (d.status <= DroneStatus.LANDING) & (d.pos[:, 2] > 0.0)
        self._separation(ctx, air)
        if self.fences.prisms:
            self._geofences(ctx, air)
        if ctx.world.manned.m:
            self._well_clear(ctx, air)

    def _separation(self, ctx: TickContext, air: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        n = d.n
        pairs = ctx.index.candidate_pairs(self.watch_m)
        if not pairs.shape[0]:
            self._los = np.zeros(0, np.int64)
            return
        closest, keys = close_pairs(d.pos, air, pairs, self.watch_m, self.cfg.separation_m)
        self.min_separation = min(self.min_separation, closest)
        new = keys[~np.isin(keys, self._los, assume_unique=True)]
        self.los_events += int(new.size)
        self._los = keys
        for key in new[:MAX_EVENTS_PER_TICK]:
            i, j = int(key // n), int(key % n)
            gap = float(np.linalg.norm(d.pos[i] - d.pos[j]))
            self._event(ctx.t, f"loss of separation: {self.names.name(d.fleet[i], i)} and "
                        f"{self.names.name(d.fleet[j], j)} {gap:.1f} m apart at {self.names.where(d.pos[i])}",
                        np.array([i, j], np.int64))
        if new.size > MAX_EVENTS_PER_TICK:
            self._event(ctx.t, f"{new.size - MAX_EVENTS_PER_TICK} more loss(es) of separation this tick",
                        np.unique(np.concatenate([new // n, new % n])))

    def _geofences(self, ctx: TickContext, air: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        breach = self.fences.breaches(d.pos, air)
        prev = self._breach if self._breach is not None else np.zeros(d.n, dtype=bool)
        caught = self._caught if self._caught is not None else np.zeros(d.n, dtype=bool)
        active = [p.active for p in self.fences.prisms]
        was = self._active + [False] * (len(active) - len(self._active))  # a fence added during the run was off
        switched_on = [p.name for p, now, before in zip(self.fences.prisms, active, was, strict=True)
                       if now and not before]
        self._active = active
        if switched_on:
            trapped = np.flatnonzero(breach & ~prev)
            if trapped.size:
                caught[trapped] = True
                self.inside_at_activation += int(trapped.size)
                self._caught_since = ctx.t
                self._event(ctx.t, f"{trapped.size} drone(s) inside {', '.join(switched_on)} as it switched on: "
                            "leaving by the nearest way out", trapped)
        left = caught & ~breach
        if left.any():
            caught[left] = False
            if not caught.any():
                took = ctx.t - self._caught_since
                self.clear_after_activation_s = max(self.clear_after_activation_s or 0.0, took)
                self._event(ctx.t, f"all drones caught by an activation are out after {took:.1f} s",
                            np.flatnonzero(left))
        entered = np.flatnonzero(breach & ~prev & ~caught)
        self.breach_events += int(entered.size)
        for i in entered[:MAX_EVENTS_PER_TICK]:
            self._event(ctx.t, f"geofence entry: {self.names.name(d.fleet[i], int(i))} at "
                        f"{self.names.where(d.pos[i])}", np.array([i], np.int64))
        self.breach_drone_s += float(np.count_nonzero(breach & ~caught)) * ctx.dt
        self._breach = breach
        self._caught = caught

    def _well_clear(self, ctx: TickContext, air: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        man = ctx.world.manned
        aircraft = np.flatnonzero(man.is_aircraft)
        if not aircraft.size:
            return
        wc = self.cfg.well_clear
        k, q, _ = ctx.index.near_points(man.pos[aircraft], wc.horizontal_m * 3)
        keep = air[q]
        k, q = k[keep], q[keep]
        if not q.size:
            self._wc = np.zeros(0, np.int64)
            return
        rel = d.pos[q] - man.pos[aircraft][k]
        dh = np.hypot(rel[:, 0], rel[:, 1])
        band = np.abs(rel[:, 2]) < wc.vertical_m
        if band.any():
            self.min_manned_h = min(self.min_manned_h, float(dh[band].min()))
        inside = band & (dh < wc.horizontal_m)
        keys = k[inside] * d.n + q[inside]
        fresh = ~np.isin(keys, self._wc, assume_unique=True)
        self.well_clear_events += int(np.count_nonzero(fresh))
        for a, i, h, v in list(zip(k[inside][fresh], q[inside][fresh], dh[inside][fresh],
                                   rel[inside][fresh][:, 2], strict=True))[:MAX_EVENTS_PER_TICK]:
            craft = aircraft[a]
            who = self.manned_names[craft] if craft < len(self.manned_names) else f"aircraft {craft}"
            self._event(ctx.t, f"well-clear violation: {self.names.name(d.fleet[i], int(i))} {h:.0f} m from "
                        f"{who} horizontally, {v:+.0f} m vertically, at {self.names.where(d.pos[i])}",
                        np.array([i], np.int64))
        self._wc = keys

    def in_breach(self, drone: int) -> bool:
        """Whether ``drone`` was in a geofence breach at the last check (for status reports, e.g. MAVLink)."""
        return self._breach is not None and drone < self._breach.size and bool(self._breach[drone])

    def metrics(self) -> dict[str, object]:
        return {
            "loss_of_separation_events": self.los_events,
            # None: no two airborne drones ever came within 3 x separation
            "min_separation_m": None if np.isinf(self.min_separation) else round(self.min_separation, 3),
            "geofence_breach_events": self.breach_events,
            "geofence_breach_drone_seconds": round(self.breach_drone_s, 3),
            "geofence_inside_at_activation": self.inside_at_activation,
            "geofence_clear_after_activation_s": (None if self.clear_after_activation_s is None
                                                  else round(self.clear_after_activation_s, 1)),
            "well_clear_violations": self.well_clear_events,
            "min_manned_horizontal_in_band_m": None if np.isinf(self.min_manned_h) else round(self.min_manned_h, 1),
        }
