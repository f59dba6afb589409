"""``skyhive serve``: the simulation locked to wall-clock time, with MAVLink endpoints polled between ticks.

Simulated time advances at ``speed`` x wall time.  Ticks run as they fall due;
between them the loop waits on the sockets (selector timeout = time to the next
tick or telemetry frame).  If the simulation falls behind by more than
``MAX_LAG_S`` of wall time (the machine is too slow for the fleet at this
speed), the loop stops catching up, re-anchors the clock and counts the lag, so
a slow machine degrades to slower-than-real-time instead of an ever-growing
backlog.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from skyhive.mavlink.server import FRAME_S, MavlinkServer, ServeOptions

if TYPE_CHECKING:
    from skyhive.sim import Simulation

MAX_LAG_S = 1.0


def parse_drones(spec: str | None, n: int) -> np.ndarray:
    """``"0-9,20,30-31"`` -> world indices (sorted, unique); None or "all" -> every drone."""
    if spec is None or spec.strip() in ("", "all"):
        return np.arange(n, dtype=np.int64)
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo_s, sep, hi_s = part.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ValueError(f"--drones: '{part}' is not an index or a range like 0-9") from None
        if lo < 0 or hi < lo or hi >= n:
            raise ValueError(f"--drones: '{part}' is outside 0-{n - 1} (the scenario has {n} drones)")
        out.extend(range(lo, hi + 1))
    if not out:
        raise ValueError("--drones selects no drone")
    return np.unique(np.asarray(out, np.int64))


def raise_fd_limit(needed: int) -> None:
    """One socket per port: lift the soft open-files limit towards the hard one if the plan needs it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


class RealTime:
    """Runs ``sim`` at ``speed`` x wall time and serves MAVLink until ``stop()`` or ``until`` (sim s)."""

    def __init__(self, sim: Simulation, exposed: np.ndarray, opts: ServeOptions, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        per = max(1, opts.per_port)
        raise_fd_limit((len(exposed) + per - 1) // per)
        self.sim = sim
        self.speed = float(speed)
        self.clock = clock
        self.server = MavlinkServer(sim, exposed, opts, clock)
        self.late = 0
        self.max_step_gap = 0.0  # longest wall time between two ticks (a stall shows as more than dt / speed)
        self.ticks = 0
        self.frames = 0
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self, until: float | None = None, on_wall: Callable[[], None] | None = None) -> None:
        sim, dt = self.sim, self.sim.dt
        wall0, sim0 = self.clock(), sim.t
        next_frame = wall0
        last_step = None
        while not self._stop and (until is None or sim.t < until - 1e-9):
            now = self.clock()
            due = sim0 + (now - wall0) * self.speed
            while sim.t + dt <= due + 1e-9 and (until is None or sim.t < until - 1e-9):
                sim.step()
                self.server.after_step()
                self.ticks += 1
                stepped = self.clock()
                if last_step is not None:
                    self.max_step_gap = max(self.max_step_gap, stepped - last_step)
                last_step = stepped
                if self.clock() - now > MAX_LAG_S:  # cannot keep up: re-anchor instead of spiralling
                    self.late += 1
                    wall0, sim0 = self.clock(), sim.t
                    break
            now = self.clock()
            if now >= next_frame:
                self.server.telemetry()
                self.frames += 1
                next_frame = max(next_frame + FRAME_S, now)  # a late frame is skipped, not bunched
            next_tick = wall0 + (sim.t + dt - sim0) / self.speed
            self.server.poll(min(next_tick, next_frame) - self.clock())
            if on_wall is not None:
                on_wall()

    def metrics(self) -> dict[str, Any]:
        out = self.sim.metrics
        out.update(self.server.metrics())
        out.update({"serve_speed": self.speed, "serve_ticks": self.ticks, "serve_telemetry_frames": self.frames,
                    "serve_lag_resets": self.late, "serve_max_step_gap_s": round(self.max_step_gap, 4)})
        return out

    def close(self) -> None:
        self.server.close()
