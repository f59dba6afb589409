"""``skyhive fly``: the simulation in wall-clock time, flying external MAVLink vehicles alongside simulated drones.

One process, one thread.  Each tick, when it falls due on the wall clock: the vehicle links are read, the external
drones' rows of the world are written from their telemetry (``ExternalFleets.sync``), the simulation ticks (mission,
failsafe, the one safety layer, dynamics of the simulated drones), and the safety layer's commands go out as
setpoints (``ExternalFleets.send``).  Between ticks the loop sleeps in short slices and keeps reading, so command
acknowledgements are timed to within a few milliseconds.  A machine too slow for the scenario falls behind, and the
loop re-anchors the clock instead of bunching ticks (counted as ``fly_lag_resets``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from skyhive.mavlink.external import ExternalFleets

if TYPE_CHECKING:
    from skyhive.sim import Simulation

MAX_LAG_S = 1.0
POLL_SLICE_S = 0.005


class FlyLoop:
    """Runs ``sim`` at wall-clock speed with its external fleets; ``stop()`` ends it at the next tick."""

    def __init__(self, sim: Simulation, clock: Callable[[], float] = time.monotonic,
                 warn: Callable[[str], None] | None = None) -> None:
        self.sim = sim
        self.clock = clock
        self.fleets = ExternalFleets(sim, clock, warn)
        self.ticks = 0
        self.late = 0
        self.returned = 0
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def tick(self) -> None:
        self.fleets.poll()
        self.fleets.sync()
        self.sim.step()
        self.fleets.send()
        self.ticks += 1

    def run(self, until: float | None = None, on_wall: Callable[[], None] | None = None) -> None:
        sim, dt = self.sim, self.sim.dt
        end = sim.duration if until is None else min(float(until), sim.duration)
        wall0, sim0 = self.clock(), sim.t
        while not self._stop and sim.t < end - 1e-9:
            due = wall0 + (sim.t + dt - sim0)
            now = self.clock()
            if now >= due:
                self.tick()
                if self.clock() - due > MAX_LAG_S:
                    self.late += 1
                    wall0, sim0 = self.clock(), sim.t
            else:
                self.fleets.poll()
                time.sleep(min(POLL_SLICE_S, due - now))
            if on_wall is not None:
                on_wall()

    def finish(self) -> None:
        """Send every vehicle skyhive flies home (RTL on its own autopilot) and close the links."""
        self.returned = self.fleets.return_all()
        self.fleets.close()

    def metrics(self) -> dict[str, Any]:
        out = self.sim.metrics
        out.update(self.fleets.metrics())
        out.update({"fly_ticks": self.ticks, "fly_lag_resets": self.late, "external_returned_at_end": self.returned})
        return out
