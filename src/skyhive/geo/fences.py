"""Geofences: GeoJSON / QGroundControl input, and fast signed distances for thousands of drones.

A fence is a prism: a polygon (with holes) between a floor and a ceiling.  The
safety filter asks, for every drone, "how far am I from the safe side of each
fence, and which way is safe?".  shapely answers containment; the distance to
the nearest edge is computed here in NumPy because it is needed with the edge
direction for thousands of points per tick.  A coarse grid of precomputed
distances lets drones far from every edge skip the exact computation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from skyhive.geo.frames import LocalFrame
from skyhive.geo.kernels import fence_distances

F64 = NDArray[np.float64]


def _ring(coords: Any, what: str) -> list[tuple[float, float]]:
    if not isinstance(coords, list) or not all(isinstance(p, list | tuple) and len(p) in (2, 3) for p in coords):
        raise ValueError(f"{what} must be a list of [lon, lat] positions")
    ring = [(float(p[0]), float(p[1])) for p in coords]
    for lon, lat in ring:
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError(f"{what} has position [{lon}, {lat}] outside [lon, lat] range (is it [lat, lon]?)")
    if len(ring) < 4:
        raise ValueError(f"{what} needs at least 4 positions (a closed triangle), got {len(ring)}")
    if ring[0] != ring[-1]:
        raise ValueError(f"{what} is not closed: the first position {list(ring[0])} "
                         f"differs from the last {list(ring[-1])}")
    return ring


def polygon_from_geojson(value: Any) -> Polygon:
    """A validated, counter-clockwise (RFC 7946) lon/lat polygon from a GeoJSON Polygon or a bare ring."""
    if isinstance(value, dict):
        if value.get("type") != "Polygon":
            raise ValueError(f"GeoJSON geometry type must be 'Polygon', got {value.get('type')!r}")
        rings = value.get("coordinates")
        if not isinstance(rings, list) or not rings:
            raise ValueError("GeoJSON Polygon needs 'coordinates': a list of rings")
        shell = _ring(rings[0], "exterior ring")
        holes = [_ring(r, f"hole {k}") for k, r in enumerate(rings[1:], start=1)]
    else:
        shell, holes = _ring(value, "polygon ring"), []
    poly = Polygon(shell, holes)
    if not poly.is_valid:
        raise ValueError(f"polygon is invalid: {explain_validity(poly)}")
    if poly.area == 0.0:
        raise ValueError("polygon has zero area")
    return shapely.geometry.polygon.orient(poly, sign=1.0)


def plan_geofences(path: str | Path, frame: LocalFrame) -> list[tuple[str, str, Polygon]]:
    """Geofences of a QGroundControl ``.plan`` file as (name, kind, lon/lat polygon).

    QGC stores polygons as [lat, lon] vertex lists (open rings) and circles as a
    centre [lat, lon] with a radius in metres; circles become 64-gons.
    """
    doc = json.loads(Path(path).read_text())
    if doc.get("fileType") != "Plan":
        raise ValueError(f"{path} is not a QGroundControl plan (fileType != 'Plan')")
    fence = doc.get("geoFence") or {}
    out: list[tuple[str, str, Polygon]] = []
    for k, item in enumerate(fence.get("polygons", [])):
        ring = [[float(lon), float(lat)] for lat, lon in item["polygon"]]
        ring.append(ring[0])
        kind = "keep_in" if item.get("inclusion", True) else "keep_out"
        out.append((f"plan-polygon-{k}", kind, polygon_from_geojson(ring)))
    for k, item in enumerate(fence.get("circles", [])):
        circle = item["circle"]
        lat, lon = circle["center"]
        centre = frame.local(lat, lon, 0.0)
        ang = np.linspace(0.0, 2.0 * math.pi, 65)
        enu = np.stack([centre[0] + circle["radius"] * np.cos(ang), centre[1] + circle["radius"] * np.sin(ang),
                        np.zeros_like(ang)], axis=1)
        clat, clon, _ = frame.geodetic(enu)
        ring = [[float(a), float(b)] for a, b in zip(clon, clat, strict=True)]
        ring[-1] = ring[0]
        kind = "keep_in" if item.get("inclusion", True) else "keep_out"
        out.append((f"plan-circle-{k}", kind, polygon_from_geojson(ring)))
    return out


@dataclass
class FencePrism:
    """One fence in the local frame."""

    name: str
    kind: str  # "keep_in" | "keep_out"
    lonlat: Polygon
    enu: Polygon
    floor_m: float
    ceiling_m: float
    active: bool = True
    # edges of every ring, for nearest-edge queries
    a: F64 = field(default_factory=lambda: np.zeros((0, 2)))
    ab: F64 = field(default_factory=lambda: np.zeros((0, 2)))
    ab2: F64 = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def build(cls, name: str, kind: str, lonlat: Polygon, floor_m: float, ceiling_m: float, frame: LocalFrame,
              active: bool = True) -> FencePrism:
        def to_xy(coords: Any) -> F64:
            c = np.asarray(coords, float)
            return frame.local(c[:, 1], c[:, 0], 0.0)[:, :2]

        shell = to_xy(lonlat.exterior.coords)
        holes = [to_xy(r.coords) for r in lonlat.interiors]
        enu = Polygon(shell, holes)
        starts = [r[:-1] for r in [shell, *holes]]
        ends = [r[1:] for r in [shell, *holes]]
        a = np.concatenate(starts)
        ab = np.concatenate(ends) - a
        prism = cls(name, kind, lonlat, enu, floor_m, ceiling_m, active, a, ab, np.maximum((ab**2).sum(1), 1e-12))
        shapely.prepare(prism.enu)
        return prism

    def horizontal(self, xy: F64) -> tuple[F64, F64, NDArray[np.bool_]]:
        """Distance to the boundary, unit vector from the boundary to the point, and containment."""
        ap = xy[:, None, :] - self.a[None, :, :]
        t = np.clip((ap * self.ab[None]).sum(-1) / self.ab2[None], 0.0, 1.0)
        diff = ap - t[..., None] * self.ab[None]
        d2 = (diff**2).sum(-1)
        k = np.argmin(d2, axis=1)
        rows = np.arange(xy.shape[0])
        dist = np.sqrt(d2[rows, k])
        away = diff[rows, k] / np.maximum(dist, 1e-9)[:, None]
        inside = shapely.contains_xy(self.enu, xy[:, 0], xy[:, 1])
        return dist, away, inside


@dataclass
class FenceGrid:
    """Per-cell lower bound of the distance to a fence's boundary, and whether the cell is inside."""

    lower: F64
    inside: NDArray[np.bool_]
    x0: float
    y0: float
    cell: float

    @classmethod
    def build(cls, prism: FencePrism, cell: float) -> FenceGrid:
        minx, miny, maxx, maxy = prism.enu.bounds
        cell = max(cell, math.sqrt((maxx - minx + 1.0) * (maxy - miny + 1.0) / 1_000_000))  # <= ~1e6 cells
        x0, y0 = minx - 4 * cell, miny - 4 * cell
        nx = math.ceil((maxx - x0 + 4 * cell) / cell)
        ny = math.ceil((maxy - y0 + 4 * cell) / cell)
        gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * cell, y0 + (np.arange(ny) + 0.5) * cell, indexing="ij")
        centres = shapely.points(gx.ravel(), gy.ravel())
        dist = np.asarray(shapely.distance(prism.enu.boundary, centres), float).reshape(nx, ny)
        inside = np.asarray(shapely.contains(prism.enu, centres), bool).reshape(nx, ny)
        return cls(dist - cell * 0.7072, inside, x0, y0, cell)


@dataclass
class FenceSet:
    """All fences of a scenario, each with a coarse grid so far-away drones skip exact geometry."""

    prisms: list[FencePrism]
    cell_m: float = 50.0
    grids: list[FenceGrid] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.grids = [FenceGrid.build(p, self.cell_m) for p in self.prisms]

    def names(self) -> list[str]:
        return [p.name for p in self.prisms]

    def add(self, prism: FencePrism) -> None:
        """A fence that starts during the run (e.g. an operator's temporary keep-out); names stay unique."""
        if prism.name in self.names():
            raise ValueError(f"a geofence named {prism.name!r} exists")
        self.grids.append(FenceGrid.build(prism, self.cell_m))
        self.prisms.append(prism)

    def set_active(self, name: str, active: bool) -> None:
        for p in self.prisms:
            if p.name == name:
                p.active = active

    def geometry(self, k: int, pos: F64, within_m: float) -> tuple[F64, F64, NDArray[np.bool_]]:
        """Fence k seen from every point (columns 0, 1 of ``pos``): (s, normal, inside); see
        ``skyhive.geo.kernels.fence_distances``.

        ``s`` is exact (positive on the safe side) for points that may be within
        ``within_m`` of the boundary and +-inf for the others; containment is
        exact for all.
        """
        p, g = self.prisms[k], self.grids[k]
        return fence_distances(pos, p.a, p.ab, p.ab2, g.lower, g.inside, g.x0, g.y0, g.cell,
                               within_m, p.kind == "keep_in")

    def breaches(self, pos: F64, airborne: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Airborne drones now outside every active keep-in prism or inside an active keep-out prism."""
        n = pos.shape[0]
        breach = np.zeros(n, dtype=bool)
        keep_in = [k for k, p in enumerate(self.prisms) if p.active and p.kind == "keep_in"]
        if keep_in:
            inside_any = np.zeros(n, dtype=bool)
            for k in keep_in:
                p = self.prisms[k]
                _, _, inside = self.geometry(k, pos, 0.0)
                inside &= pos[:, 2] <= p.ceiling_m
                if p.floor_m > 0.0:
                    inside &= pos[:, 2] >= p.floor_m
                inside_any |= inside
            breach |= ~inside_any
        for k, p in enumerate(self.prisms):
            if p.active and p.kind == "keep_out":
                _, _, inside = self.geometry(k, pos, 0.0)
                breach |= inside & (pos[:, 2] >= p.floor_m) & (pos[:, 2] <= p.ceiling_m)
        return breach & airborne
