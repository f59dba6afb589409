"""Hook an ``McapRecorder`` to a running ``Simulation`` (what ``skyhive run --record`` does).

The recorder runs as a step hook, after the clock has advanced, so every frame
carries the time of the state it shows.  Drone and manned positions are written
at ``scenario.record.rate_hz``; events are written as they appear in the run's
event log; geofences at the start and again whenever one is switched on or off.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from skyhive.record.writer import Geofence, McapRecorder
from skyhive.systems import Rate, Recordable

if TYPE_CHECKING:
    from skyhive.sim import Simulation


def fences_of(sim: Simulation) -> list[Geofence]:
    """The simulation's geofences as recorder tuples (exterior and hole rings in lon/lat)."""
    out: list[Geofence] = []
    for p in sim.fences.prisms:
        rings: list[Any] = [np.asarray(p.lonlat.exterior.coords)]
        rings += [np.asarray(h.coords) for h in p.lonlat.interiors]
        out.append((p.name, p.kind, rings, float(p.floor_m), float(p.ceiling_m), bool(p.active)))
    return out


class SimRecorder:
    """Step hook that writes one simulation to MCAP; ``close()`` flushes the last events and the footer."""

    def __init__(self, sim: Simulation, recorder: McapRecorder) -> None:
        self.sim = sim
        self.mcap = recorder
        self.period_s = 1.0 / float(sim.scenario.record.rate_hz)
        self._frame_rate = Rate(self.period_s, from_last=True)
        self._events_seen = 0
        self._fence_state: tuple[bool, ...] = ()
        self.frames = 0
        sc = sim.scenario
        recorder.metadata("skyhive.run", {  # what a replay needs to draw the run (skyhive console --replay)
            "scenario": sc.name, "seed": sim.seed, "origin": [sc.origin.lat, sc.origin.lon, sc.origin.alt],
            "duration": sc.duration, "dt": sc.dt, "drones": sim.n_drones,
            "fleets": [[name, sl.start, sl.stop] for name, sl in sim.fleet_slices.items()],
            "well_clear_m": sc.safety.well_clear.horizontal_m})
        self._record(sim)

    def __call__(self, sim: Simulation) -> None:
        self._record(sim)

    def _record(self, sim: Simulation) -> None:
        if self.mcap.closed:
            return
        t = sim.t
        state = tuple(bool(p.active) for p in sim.fences.prisms)
        if state != self._fence_state:
            self._fence_state = state
            self.mcap.write_geofences(t, fences_of(sim))
        self._flush_events()
        if self._frame_rate.due(t):
            self.mcap.write_drones(t, sim.world)
            self.mcap.write_manned(t, sim.world)
            for system in sim.systems:  # concerns that log their own picture (links, tracks, ...)
                if isinstance(system, Recordable):
                    system.record_frame(self.mcap, t)
            self.frames += 1

    def _flush_events(self) -> None:
        events = self.sim.log.since(self._events_seen)
        self._events_seen += len(events)
        for e in events:
            self.mcap.log(e.t, e.level, e.source, e.text)

    def close(self) -> None:
        """Write pending events, the summary and the footer; safe to call twice."""
        if self.mcap.closed:
            return
        try:
            self._flush_events()
        finally:
            self.mcap.close()
            if self in self.sim.step_hooks:
                self.sim.step_hooks.remove(self)


def attach_recorder(sim: Simulation, path: str | Path, flush_every_s: float = 1.0,
                    start_epoch_ns: int = 0) -> SimRecorder:
    """Start recording ``sim`` to ``path``; the caller closes the returned object (also on Ctrl-C)."""
    rec = SimRecorder(sim, McapRecorder(path, sim.frame, flush_every_s=flush_every_s,
                                        start_epoch_ns=start_epoch_ns))
    sim.step_hooks.append(rec)
    return rec
