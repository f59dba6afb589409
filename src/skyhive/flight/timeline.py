"""Scenario timeline: scheduled drone failures, random failures by rate, geofence switches."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skyhive.events import EventLog
from skyhive.geo.fences import FenceSet
from skyhive.scenario.models import DroneFailure, GeofenceSwitch, RandomFailures, Scenario
from skyhive.systems import Phase, TickContext
from skyhive.world.world import DroneStatus


class Timeline:
    """Applies events at the start of the tick they fall in.

    Random failures are drawn once at start: each drone's failure time is
    exponential with the fleet's rate (a Poisson process per flight hour); only
    times inside the run are kept.  Drawing up front keeps the per-tick cost
    O(events due) and the run reproducible.
    """

    name = "timeline"
    phase = Phase.SENSE
    period = 0.0

    def __init__(self, scenario: Scenario, fleet_start: dict[str, int], fences: FenceSet, log: EventLog,
                 rng: np.random.Generator) -> None:
        self.fences = fences
        self.log = log
        times: list[NDArray[np.float64]] = []
        who: list[NDArray[np.int64]] = []
        kinds: list[tuple[float, str, object]] = []
        for ev in scenario.events:
            if isinstance(ev, DroneFailure):
                idx = fleet_start[ev.fleet] + np.asarray(ev.drones, np.int64)
                times.append(np.full(idx.size, ev.at_s))
                who.append(idx)
            elif isinstance(ev, RandomFailures):
                fleets = [f for f in scenario.fleets if ev.fleet in (None, f.name)]
                for f in fleets:
                    t = rng.exponential(3600.0 / ev.rate_per_hour, size=f.count)
                    keep = np.flatnonzero(t < scenario.duration)
                    times.append(t[keep])
                    who.append(fleet_start[f.name] + keep)
            elif isinstance(ev, GeofenceSwitch):
                kinds.append((ev.at_s, ev.name, ev.active))
        all_t = np.concatenate(times) if times else np.zeros(0)
        all_w = np.concatenate(who) if who else np.zeros(0, np.int64)
        order = np.argsort(all_t, kind="stable")
        self.fail_t, self.fail_who = all_t[order], all_w[order]
        self.switches = sorted(kinds, key=lambda k: k[0])
        self._next_fail = 0
        self._next_switch = 0
        self.failures = 0

    def step(self, ctx: TickContext) -> None:
        t_end = ctx.t + 0.5 * ctx.dt
        k = int(np.searchsorted(self.fail_t, t_end, side="right"))
        if k > self._next_fail:
            idx = self.fail_who[self._next_fail:k]
            self._next_fail = k
            d = ctx.world.drones
            idx = idx[d.status[idx] != DroneStatus.FAILED]
            if idx.size:
                d.status[idx] = DroneStatus.FAILED
                d.vel[idx] = 0.0
                d.intent_vel[idx] = 0.0
                self.failures += idx.size
                self.log.add(ctx.t, "error", "failure", f"drone(s) failed: {idx[:10].tolist()}"
                             + (" ..." if idx.size > 10 else ""), drones=idx)
        while self._next_switch < len(self.switches) and self.switches[self._next_switch][0] <= t_end:
            _, name, active = self.switches[self._next_switch]
            self._next_switch += 1
            self.fences.set_active(str(name), bool(active))
            self.log.add(ctx.t, "warning", "airspace", f"geofence {name} {'activated' if active else 'deactivated'}")

    def metrics(self) -> dict[str, object]:
        return {"drone_failures": self.failures}
