"""Child process for the crash-safety tests: records frames in a loop until killed or interrupted."""

from __future__ import annotations

import signal
import sys

import numpy as np

from skyhive.geo.frames import LocalFrame
from skyhive.record import McapRecorder
from skyhive.world.world import DroneState, World


def main(path: str, catch: bool) -> None:
    rng = np.random.default_rng(1)
    d = DroneState.empty(500)
    d.pos[:] = rng.uniform(-2000.0, 2000.0, (500, 3))
    world = World(d)
    rec = McapRecorder(path, LocalFrame(46.5, 6.6, 400.0), flush_every_s=0.05)
    ring = np.array([[6.5, 46.4], [6.7, 46.4], [6.7, 46.6], [6.5, 46.6]])
    rec.write_geofences(0.0, [("area", "keep_in", ring, 0.0, 150.0, True)])
    t = 0.0
    stop = []
    if catch:
        # as `skyhive run` does (cli.py): Ctrl-C is taken at a frame boundary, never inside a write; a
        # KeyboardInterrupt raised in the middle of the MCAP writer's bookkeeping left its statistics one
        # message ahead of its chunks about once in a few runs
        signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    try:
        print("started", flush=True)
        while not stop:
            t += 0.5
            d.pos += rng.normal(0.0, 1.0, d.pos.shape)
            rec.write_drones(t, world)
            rec.log(t, "info", "child", f"frame at {t:.1f}")
    except KeyboardInterrupt:
        if not catch:
            raise
    rec.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "catch")
