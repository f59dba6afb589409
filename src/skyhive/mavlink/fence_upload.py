"""Geofences uploaded to one vehicle (MAVLink mission type FENCE): checked, bounded, built off the tick.

An upload is limited in size (``MAX_FENCE_ITEMS`` items, ``MAX_SHAPE_SPAN_M``
across a shape, circles up to ``MAX_RADIUS_M``) and every item is checked as it
arrives (latitude, longitude, vertex count, radius), so an upload that cannot
be used is refused at once with the MISSION_ACK code naming the bad field.  The
geometry (shapely polygons in the local frame) is built by one worker thread;
the server polls it between ticks and answers the ground station when it is
done, so a large upload never stalls the simulation or the other ports.

The fence belongs to the vehicle it was uploaded to, as on PX4: its mission
items and commands are checked against it (PX4's feasibility check) and a breach
triggers ``GF_ACTION``.  It is not a scenario fence and does not bind other
vehicles.
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pymavlink.dialects.v20 import common as mav
from shapely.geometry import Polygon

from skyhive.geo.fences import FencePrism
from skyhive.geo.frames import LocalFrame

POLYGON_IN, POLYGON_OUT, CIRCLE_IN, CIRCLE_OUT = 5001, 5002, 5003, 5004
FENCE_COMMANDS = frozenset({POLYGON_IN, POLYGON_OUT, CIRCLE_IN, CIRCLE_OUT})
MAX_FENCE_ITEMS = 256  # PX4 keeps fences in a small dataman area too
MAX_POLYGON_VERTICES = 64
MAX_RADIUS_M = 50_000.0
MAX_SHAPE_SPAN_M = 100_000.0
CIRCLE_VERTICES = 33
BUILD_TIMEOUT_S = 5.0


class FenceRefused(ValueError):
    """An upload that cannot become a fence: ``code`` is the MAV_MISSION_RESULT, the message says why."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


def check_fence_item(m: Any) -> tuple[int, str] | None:
    """One uploaded fence item (MISSION_ITEM_INT); (MAV_MISSION_RESULT, reason) if it is unusable."""
    if m.command not in FENCE_COMMANDS:
        return int(mav.MAV_MISSION_UNSUPPORTED), f"fence item command {m.command} unsupported"
    if abs(m.x) > 90e7:
        return int(mav.MAV_MISSION_INVALID_PARAM5_X), "fence latitude outside -90..90"
    if abs(m.y) > 180e7:
        return int(mav.MAV_MISSION_INVALID_PARAM6_Y), "fence longitude outside -180..180"
    p1 = float(m.param1)
    if m.command in (POLYGON_IN, POLYGON_OUT):
        if not (math.isfinite(p1) and 3 <= p1 <= MAX_POLYGON_VERTICES):
            return int(mav.MAV_MISSION_INVALID_PARAM1), f"polygon vertex count must be 3..{MAX_POLYGON_VERTICES}"
    elif not (math.isfinite(p1) and 0 < p1 <= MAX_RADIUS_M):
        return int(mav.MAV_MISSION_INVALID_PARAM1), f"circle radius must be in (0, {MAX_RADIUS_M:g}] m"
    return None


def build_prisms(items: list[Any], frame: LocalFrame, ceiling_m: float, tag: str) -> list[FencePrism]:
    """Fence items (polygon vertices, circles) -> prisms from the ground to ``ceiling_m``; FenceRefused if bad."""
    out: list[FencePrism] = []
    k = 0
    while k < len(items):
        it = items[k]
        kind = "keep_in" if it.command in (POLYGON_IN, CIRCLE_IN) else "keep_out"
        name = f"{tag}-{len(out)}"
        if it.command in (POLYGON_IN, POLYGON_OUT):
            count = int(it.param1)
            group = items[k:k + count]
            if len(group) != count or any(g.command != it.command or int(g.param1) != count for g in group):
                raise FenceRefused(int(mav.MAV_MISSION_INVALID_SEQUENCE), "polygon vertices do not match its count")
            ring = [(g.y / 1e7, g.x / 1e7) for g in group]
            poly = Polygon([*ring, ring[0]])
            k += count
        else:
            radius = float(it.param1)
            c = frame.local(it.x / 1e7, it.y / 1e7, 0.0)
            ang = np.linspace(0.0, 2 * math.pi, CIRCLE_VERTICES)
            xy = np.stack([c[0] + radius * np.cos(ang), c[1] + radius * np.sin(ang), np.zeros(ang.size)], axis=1)
            lat, lon, _ = frame.geodetic(xy)
            poly = Polygon(list(zip(lon, lat, strict=True)))
            k += 1
        if not poly.is_valid or poly.area == 0:
            raise FenceRefused(int(mav.MAV_MISSION_INVALID), "self-intersecting or empty fence polygon")
        prism = FencePrism.build(name, kind, poly, 0.0, ceiling_m, frame)
        minx, miny, maxx, maxy = prism.enu.bounds
        if max(maxx - minx, maxy - miny) > MAX_SHAPE_SPAN_M:
            raise FenceRefused(int(mav.MAV_MISSION_INVALID), f"fence shape wider than {MAX_SHAPE_SPAN_M / 1000:g} km")
        out.append(prism)
    return out


@dataclass
class VehicleFence:
    """The fence one vehicle enforces: keep-in and keep-out prisms (ground to the ceiling)."""

    prisms: list[FencePrism] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.prisms)

    def violation(self, xyz: Any) -> str | None:
        """Why the local point ``xyz`` (x east, y north, z up, m) is outside this fence; None if allowed."""
        if not self.prisms:
            return None
        x, y, z = (float(c) for c in xyz)
        keep_in = [p for p in self.prisms if p.kind == "keep_in"]
        if keep_in and not any(shapely.contains_xy(p.enu, x, y) for p in keep_in):
            return "outside the keep-in"
        for p in self.prisms:
            if p.kind == "keep_out" and shapely.contains_xy(p.enu, x, y):
                return "inside a keep-out"
        if z > max(p.ceiling_m for p in self.prisms):
            return "above the fence ceiling"
        return None

    def segment_violation(self, a: Any, b: Any) -> str | None:
        """The first fence problem on the straight path a -> b, sampled every ~5 m (at most 200 samples)."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        n = int(min(200.0, max(2.0, float(np.linalg.norm(b - a)) / 5.0)))
        for t in np.linspace(0.0, 1.0, n):
            why = self.violation(a + t * (b - a))
            if why is not None:
                return why
        return None


@dataclass
class PendingFence:
    vehicle: Any
    future: Future[list[FencePrism]]
    src: tuple[int, int]
    started: float
    addr: Any = None


class FenceBuilder:
    """One worker thread that turns fence uploads into prisms while the simulation keeps ticking."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skyhive-fence")
        self.pending: list[PendingFence] = []

    def submit(self, vehicle: Any, items: list[Any], frame: LocalFrame, ceiling_m: float, tag: str,
               src: tuple[int, int], now: float, addr: Any = None) -> None:
        fut = self.pool.submit(build_prisms, list(items), frame, ceiling_m, tag)
        self.pending.append(PendingFence(vehicle, fut, src, now, addr))

    def finished(self, now: float) -> list[tuple[PendingFence, list[FencePrism] | FenceRefused]]:
        """Uploads whose geometry is ready (or failed, or overran ``BUILD_TIMEOUT_S``), removed from the queue."""
        done: list[tuple[PendingFence, list[FencePrism] | FenceRefused]] = []
        keep: list[PendingFence] = []
        for job in self.pending:
            if job.future.done():
                try:
                    done.append((job, job.future.result()))
                except FenceRefused as exc:
                    done.append((job, exc))
                except Exception as exc:  # geometry libraries raise many kinds on hostile input
                    done.append((job, FenceRefused(int(mav.MAV_MISSION_ERROR), f"fence geometry failed: {exc}")))
            elif now - job.started > BUILD_TIMEOUT_S:
                job.future.cancel()
                done.append((job, FenceRefused(int(mav.MAV_MISSION_ERROR), "fence geometry took too long")))
            else:
                keep.append(job)
        self.pending = keep
        return done

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
