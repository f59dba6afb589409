"""The simulation: one clock, one world, systems in a fixed phase order (DESIGN.md, "The tick")."""

from __future__ import annotations

import importlib
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skyhive.events import EventLog
from skyhive.flight.checks import intent_conflicts
from skyhive.flight.dynamics import Dynamics
from skyhive.flight.failsafe import Failsafe
from skyhive.flight.manned import MannedMotion
from skyhive.flight.monitor import DroneNames, SafetyMonitor
from skyhive.flight.safety import SafetyFilter
from skyhive.flight.timeline import Timeline
from skyhive.flight.waypoints import WaypointFollower
from skyhive.flight.wind import WindField
from skyhive.geo.frames import LocalFrame
from skyhive.scenario.load import load_scenario
from skyhive.scenario.models import Scenario
from skyhive.systems import Phase, System, TickContext
from skyhive.world.build import build_world, fleet_slices
from skyhive.world.spatial import SpatialIndex
from skyhive.world.world import DroneStatus, World

# Concern packages that add systems from their scenario sections: "module:function", where
# ``function(sim: Simulation) -> list[System]`` returns nothing when its sections are absent.  Imported lazily so a
# concern's optional dependencies stay optional.  Each concern appends one line here.
SYSTEM_BUILDERS: list[str] = [
    "skyhive.comms.system:build",
    "skyhive.airspace.system:build",
    "skyhive.autonomy.mission:build",
]


def subsystem_rng(seed: int, name: str) -> np.random.Generator:
    """An independent generator per subsystem, stable whatever other subsystems exist."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),)))


class Simulation:
    """A scenario in motion.

    >>> sim = Simulation.from_file("examples/quickstart.yaml", seed=1)
    >>> sim.run(until=10.0)
    >>> sim.metrics["loss_of_separation_events"]
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, base_dir: str | Path | None = None) -> None:
        if seed is not None:
            scenario = scenario.model_copy(update={"seed": int(seed)})
        self.scenario = scenario
        self.seed = scenario.seed
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.frame = LocalFrame(scenario.origin.lat, scenario.origin.lon, scenario.origin.alt)
        self.dt = scenario.dt
        self.step_count = 0
        self.log = EventLog()
        init = build_world(scenario, self.frame, self.base_dir)
        self.world = World(init.drones, init.manned, 0.0)
        self.fences = init.fences
        self.fleet_slices = fleet_slices(scenario)
        self.rng: dict[str, np.random.Generator] = _RngBank(self.seed)
        self.index = SpatialIndex(skin=max(10.0, 2.0 * scenario.safety.separation_m))
        self.index.update(self.world.drones.pos)
        d = self.world.drones
        fleets = scenario.fleets
        self.waypoints = WaypointFollower(
            d, init.routes, init.fleet_origins, init.slot_offsets,
            [f.route.speed_mps if f.route else None for f in fleets],
            [bool(f.route and f.route.loop) for f in fleets],
            [f.route.on_complete if f.route else "hold" for f in fleets], self.log, self.fences,
            scenario.safety.geofence_margin_m + scenario.safety.separation_m, [f.name for f in fleets])
        self.safety = SafetyFilter(scenario.safety, self.fences, d)
        names = DroneNames([f.name for f in fleets], [self.fleet_slices[f.name].start for f in fleets], self.frame)
        self.monitor = SafetyMonitor(scenario.safety, self.fences, self.log, names, [m.name for m in scenario.manned])
        self.dynamics = Dynamics(d, WindField(scenario.wind, self.dt, self.rng["wind"]), self.dt)
        self.timeline = Timeline(scenario, {k: s.start for k, s in self.fleet_slices.items()}, self.fences,
                                 self.log, self.rng["failures"])
        for conflict in intent_conflicts(scenario):
            self.log.add(0.0, "warning", "intents", str(conflict))
        self.systems: list[System] = []
        for system in (self.timeline, self.waypoints, Failsafe(self.log), self.safety, self.dynamics,
                       MannedMotion(), self.monitor):
            self.add_system(system)
        for spec in SYSTEM_BUILDERS:
            module, func = spec.split(":")
            for system in getattr(importlib.import_module(module), func)(self):
                self.add_system(system)
        self._last_run: dict[int, float] = {}
        self.wall_s = 0.0
        self.initial_energy_wh = float(d.battery_wh.sum())
        self.step_hooks: list[Callable[[Simulation], None]] = []

    @classmethod
    def from_file(cls, path: str | Path, seed: int | None = None) -> Simulation:
        path = Path(path)
        return cls(load_scenario(path), seed=seed, base_dir=path.parent)

    # -- systems ---------------------------------------------------------------------------------------------
    def add_system(self, system: System, before: str | None = None) -> None:
        """Register a system; it runs in its phase, after the systems already there (or before ``before``).

        The built-in failsafe stays last in DECIDE so it always wins.
        """
        if before is None and system.phase == Phase.DECIDE and any(s.name == "failsafe" for s in self.systems):
            before = "failsafe"
        if before is not None:
            k = next(k for k, s in enumerate(self.systems) if s.name == before)
            self.systems.insert(k, system)
        else:
            self.systems.append(system)
        self.systems.sort(key=lambda s: int(s.phase))  # stable: insertion order kept inside a phase

    def system(self, name: str) -> System:
        return next(s for s in self.systems if s.name == name)

    # -- running -----------------------------------------------------------------------------------------------
    @property
    def n_drones(self) -> int:
        return self.world.drones.n

    @property
    def t(self) -> float:
        return self.world.t

    @property
    def duration(self) -> float:
        return self.scenario.duration

    def step(self) -> None:
        """Advance one tick: every due system in phase order, then the clock."""
        start = time.perf_counter()
        w = self.world
        self.index.update(w.drones.pos)
        ctx = TickContext(self.step_count, w.t, self.dt, w, self.index, self.rng)
        for system in self.systems:
            if system.period > 0.0:
                last = self._last_run.get(id(system))
                if last is not None and w.t - last < system.period - 1e-9:
                    continue
                self._last_run[id(system)] = w.t
            system.step(ctx)
        self.step_count += 1
        w.t = self.step_count * self.dt
        for hook in self.step_hooks:
            hook(self)
        self.wall_s += time.perf_counter() - start

    def run(self, until: float | None = None, progress: Callable[[float], None] | None = None) -> None:
        """Run until sim time ``until`` (default: the scenario's duration)."""
        end = self.scenario.duration if until is None else min(float(until), self.scenario.duration)
        n_end = round(end / self.dt)
        while self.step_count < n_end:
            self.step()
            if progress is not None:
                progress(self.world.t)

    # -- results -----------------------------------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, Any]:
        d = self.world.drones
        status = {s.name.lower(): int(np.count_nonzero(d.status == s)) for s in DroneStatus}
        used = self.initial_energy_wh - float(d.battery_wh.sum())
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "sim_time_s": round(self.world.t, 6),
            "steps": self.step_count,
            "wall_time_s": round(self.wall_s, 3),
            "real_time_factor": round(self.world.t / self.wall_s, 1) if self.wall_s > 0 else None,
            "drones": d.n,
            "drones_lost": status["failed"],
            "drones_by_status": status,
            "battery_used_wh": round(used, 3),
            "battery_used_pct_mean": round(100.0 * used / max(float(d.capacity_wh.sum()), 1e-9), 2),
            "battery_min_pct": round(100.0 * float((d.battery_wh / d.capacity_wh).min(initial=1.0)), 2),
            "distance_flown_km": round(float(d.distance_m.sum()) / 1000.0, 3),
            "spatial_index_builds": self.index.builds,
            "events": len(self.log),
        }
        for system in self.systems:
            out.update(system.metrics())
        return out


class _RngBank(dict[str, np.random.Generator]):
    """``rng[name]`` creates the subsystem's generator on first use (seeded by name, not by order)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def __missing__(self, name: str) -> np.random.Generator:
        gen = subsystem_rng(self.seed, name)
        self[name] = gen
        return gen
