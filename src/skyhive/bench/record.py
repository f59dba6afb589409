"""Recording benchmark: wall cost of one drone frame (SceneUpdate + GeoJSON) in the MCAP log.

Measures ``McapRecorder.write_drones`` for N drones spread over 10 km with all
five statuses, including the zstd compression of the chunks it fills (the file
is flushed after every frame batch and the flush time is counted).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from skyhive.bench import BenchTable
from skyhive.geo.frames import LocalFrame
from skyhive.record import McapRecorder
from skyhive.world.world import DroneState, World


def measure(n: int, frames: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    d = DroneState.empty(n)
    d.pos[:] = rng.uniform(-5000.0, 5000.0, (n, 3)) * np.array([1.0, 1.0, 0.02]) + np.array([0.0, 0.0, 60.0])
    d.status[:] = rng.integers(0, 5, n)
    world = World(d)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.mcap"
        rec = McapRecorder(path, LocalFrame(47.3769, 8.5417, 408.0), flush_every_s=3600.0)
        rec.write_drones(0.0, world)  # warm-up
        rec.flush()
        size0 = path.stat().st_size
        t0 = time.perf_counter()
        for k in range(frames):
            d.pos += rng.normal(0.0, 1.0, d.pos.shape)
            rec.write_drones(1.0 + k, world)
        t1 = time.perf_counter()
        rec.flush()
        t2 = time.perf_counter()
        size = path.stat().st_size - size0
        raw = rec.bytes_in
        rec.close()
    return {"n": n, "build_ms": 1e3 * (t1 - t0) / frames, "total_ms": 1e3 * (t2 - t0) / frames,
            "raw_kb": raw / frames / 1024 / 1.0, "file_kb": size / frames / 1024}


def run(quick: bool) -> BenchTable:
    sizes = [(2_000, 10), (10_000, 3)] if quick else [(100, 200), (2_000, 100), (10_000, 30), (100_000, 5)]
    table = BenchTable(
        title="MCAP recording: one drone frame (/drones/scene SceneUpdate + /drones/geo GeoJSON)",
        columns=["drones", "ms/frame (total, incl. zstd)", "ms/frame (build+queue)", "KiB/frame in file",
                 "KiB/frame JSON"])
    for n, frames in sizes:
        r = measure(n, frames)
        table.rows.append([f"{n:,}", f"{r['total_ms']:.2f}", f"{r['build_ms']:.2f}", f"{r['file_kb']:.1f}",
                           f"{r['raw_kb']:.1f}"])
    table.notes.append("total = write_drones for every frame + the chunk compression and write it causes")
    return table
