"""Coverage planning for ``survey`` tasks: split an area among drones, then fly lawnmower (boustrophedon) rows.

1. The sweep direction is the long side of the polygon's minimum rotated rectangle (fewer turns).
2. The polygon is cut across that direction into ``k`` strips of equal area -- the cut positions come from
   bisection on the clipped area, which is monotone in the cut -- so each drone gets the same work.
3. Each strip is covered by rows perpendicular to the cuts, spaced by the camera footprint width
   ``2 h tan(fov / 2)`` times ``(1 - overlap)``, flown in alternating directions.

Geometry is shapely (GEOS); only the equal-area split and the row ordering are written here because no
well-kept library does them for a polygon in a few lines.  Limit: in a non-convex strip a row may cross a
notch, so the path between two pieces of one row can leave the polygon (the safety filter's geofences still
apply); a full boustrophedon cell decomposition (Choset 2000) would avoid that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from skyhive.autonomy.tasks import TaskKind, TaskSet


def footprint_width(alt_m: float, fov_deg: float) -> float:
    """Ground width seen by a nadir camera with horizontal field of view ``fov_deg`` at height ``alt_m``."""
    if alt_m <= 0 or not 0 < fov_deg < 180:
        raise ValueError(f"need alt_m > 0 and 0 < fov_deg < 180, got {alt_m}, {fov_deg}")
    return 2.0 * alt_m * math.tan(math.radians(fov_deg) / 2.0)


@dataclass
class CoveragePlan:
    parts: list[Polygon | MultiPolygon]  # one per drone (a strip may fall apart at a notch), local metres
    paths: list[NDArray[np.float64]]  # (P, 2) waypoints per drone
    width_m: float  # footprint width used
    angle_deg: float  # sweep direction (rows run perpendicular to it), degrees from +x

    def coverage(self) -> NDArray[np.float64]:
        """Fraction of each part inside the footprint swept along its path."""
        out = np.zeros(len(self.parts))
        for k, (part, path) in enumerate(zip(self.parts, self.paths, strict=True)):
            if len(path) < 2 or part.area == 0:
                continue
            swath = LineString(path).buffer(self.width_m / 2.0, cap_style="flat", join_style="mitre")
            out[k] = part.intersection(swath).area / part.area
        return out

    def lengths(self) -> NDArray[np.float64]:
        return np.array([LineString(p).length if len(p) >= 2 else 0.0 for p in self.paths])


def _sweep_angle(poly: Polygon) -> float:
    rect = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)[:4]
    edges = np.diff(np.vstack([rect, rect[:1]]), axis=0)
    longest = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    return math.degrees(math.atan2(longest[1], longest[0]))


def _equal_area_cuts(poly: Polygon, k: int) -> list[float]:
    """x positions that cut ``poly`` into ``k`` strips of equal area (bisection, 1e-6 relative)."""
    x0, y0, x1, y1 = poly.bounds
    total = poly.area
    cuts = [x0]
    for q in range(1, k):
        target = total * q / k
        lo, hi = cuts[-1], x1
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if shapely.clip_by_rect(poly, x0 - 1, y0 - 1, mid, y1 + 1).area < target:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-6 * max(1.0, x1 - x0):
                break
        cuts.append(0.5 * (lo + hi))
    cuts.append(x1)
    return cuts


def _rows(part: Polygon | MultiPolygon, spacing: float, width: float, reverse_start: bool) -> NDArray[np.float64]:
    """Lawnmower waypoints over ``part`` with rows parallel to y, ``spacing`` apart, inset half a footprint."""
    x0, y0, x1, y1 = part.bounds
    span = x1 - x0
    n_rows = max(1, math.ceil((span - width) / spacing) + 1) if span > width else 1
    xs = [0.5 * (x0 + x1)] if n_rows == 1 else list(np.linspace(x0 + width / 2, x1 - width / 2, n_rows))
    pts: list[tuple[float, float]] = []
    up = not reverse_start
    for x in xs:
        seg = part.intersection(LineString([(x, y0 - 1.0), (x, y1 + 1.0)]))
        pieces = list(seg.geoms) if isinstance(seg, MultiLineString) else [seg] if isinstance(seg, LineString) \
            else []
        ys: list[tuple[float, float]] = []
        for p in pieces:
            if p.is_empty:
                continue
            c = np.asarray(p.coords)
            ys.append((float(c[:, 1].min()), float(c[:, 1].max())))
        ys.sort(reverse=not up)
        for a, b in ys:
            pts += [(x, a), (x, b)] if up else [(x, b), (x, a)]
        up = not up
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def plan_coverage(area: Polygon, k: int, alt_m: float, fov_deg: float, overlap: float = 0.1,
                  angle_deg: float | None = None) -> CoveragePlan:
    """Split ``area`` (local metres) among ``k`` drones and give each a lawnmower path over its share."""
    if k < 1:
        raise ValueError(f"need at least one drone, got {k}")
    if not isinstance(area, Polygon) or area.is_empty or not area.is_valid or area.area <= 0:
        raise ValueError("area must be a valid, non-empty polygon")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    width = footprint_width(alt_m, fov_deg)
    spacing = width * (1.0 - overlap)
    angle = _sweep_angle(area) if angle_deg is None else float(angle_deg)
    origin = area.centroid
    rot = affinity.rotate(area, -angle, origin=origin)
    cuts = _equal_area_cuts(rot, k)
    _, y0, _, y1 = rot.bounds
    parts, paths = [], []
    for q in range(k):
        piece = shapely.clip_by_rect(rot, cuts[q], y0 - 1.0, cuts[q + 1], y1 + 1.0)
        pts = _rows(piece, spacing, width, reverse_start=bool(q % 2))
        back = affinity.rotate(piece, angle, origin=origin)
        parts.append(back)
        if len(pts):
            line = affinity.rotate(LineString(pts) if len(pts) > 1 else LineString([pts[0], pts[0]]), angle,
                                   origin=origin)
            paths.append(np.asarray(line.coords)[: len(pts)])
        else:
            paths.append(np.zeros((0, 2)))
    return CoveragePlan(parts, paths, width, angle)


def add_survey_tasks(tasks: TaskSet, area: Polygon, k: int, alt_m: float, fov_deg: float, speed_mps: float,
                     value: float = 1.0, overlap: float = 0.1, req_cap: int = 0
                     ) -> tuple[NDArray[np.int64], CoveragePlan]:
    """Turn one survey area into ``k`` allocatable shares: each share is a task at its path's first waypoint
    whose service time is the time to fly its lawnmower path, worth ``value / k``.  The allocator then hands
    the shares to drones like any other task (a drone may take several)."""
    if speed_mps <= 0:
        raise ValueError(f"speed_mps must be > 0, got {speed_mps}")
    plan = plan_coverage(area, k, alt_m, fov_deg, overlap)
    starts = np.array([p[0] if len(p) else np.asarray(part.representative_point().coords[0])
                       for p, part in zip(plan.paths, plan.parts, strict=True)], dtype=np.float64)
    ids = tasks.add(np.column_stack([starts, np.full(k, alt_m)]), value=value / k, kind=int(TaskKind.SURVEY),
                    service=plan.lengths() / speed_mps, req_cap=req_cap)
    return ids, plan
