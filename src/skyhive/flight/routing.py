"""Strategic routing: paths around active keep-outs (shortest path on a visibility graph).

Obstacles are the active keep-out prisms whose altitude band a leg flies through, grown by a clearance (the
geofence margin, the separation minimum and the formation's radius, so every drone of a formation stays
clear, not just its reference point) and merged where they overlap, so a goal enclosed by several keep-outs
is seen as enclosed.  The shortest path between two points avoiding a set of polygons runs along straight
segments between the polygons' vertices (Lozano-Pérez & Wesley, 1979): the nodes are the start, the goal and
every vertex of the grown obstacles; two nodes are joined when the segment between them does not enter an
obstacle's interior; Dijkstra (scipy.sparse.csgraph) finds the path.  Grown shapes are simplified to a
few dozen vertices (a buffer adds arcs) and grown a little more than they are tested with, so paths that
follow their edges keep the clearance.  Written here because shapely gives the geometry but no planner, and
the planners on PyPI (pyvisgraph and the like) are unmaintained or need their own polygon types.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from skyhive.geo.fences import FenceSet

F64 = NDArray[np.float64]
SIMPLIFY_M = 0.5
QUAD_SEGS = 4  # arcs of the planning shapes in 22.5 deg chords: a chord cuts in by 2 % of the arc's radius
EXTRA_M = 3.0  # planning shapes are grown this much (plus 5 % of the clearance) beyond the tested clearance,
EXTRA_FRACTION = 0.05  # so chords and simplification never cut into the shape a path is tested against


@dataclass
class Obstacles:
    """Grown keep-outs in the ENU plane: ``planning`` (with the extra, for vertices) and ``blocking``."""

    planning: list[Polygon]
    blocking: list[Polygon]

    @classmethod
    def from_fences(cls, fences: FenceSet, clearance_m: float, z_low: float, z_high: float) -> Obstacles:
        shapes = [p.enu for p in fences.prisms
                  if p.active and p.kind == "keep_out" and p.floor_m <= z_high and p.ceiling_m >= z_low]
        return cls.from_polygons(shapes, clearance_m)

    @classmethod
    def from_polygons(cls, shapes: list[Polygon], clearance_m: float) -> Obstacles:
        if not shapes:
            return cls([], [])
        blocking = _parts(unary_union([s.buffer(clearance_m) for s in shapes]))
        grown = clearance_m + EXTRA_M + EXTRA_FRACTION * clearance_m
        planning = [p.simplify(SIMPLIFY_M) for p in
                    _parts(unary_union([s.buffer(grown, quad_segs=QUAD_SEGS) for s in shapes]))]
        for p in blocking:
            shapely.prepare(p)
        return cls(planning, blocking)

    def __bool__(self) -> bool:
        return bool(self.blocking)

    def contains(self, xy: F64) -> bool:
        pt = Point(float(xy[0]), float(xy[1]))
        return any(p.contains(pt) for p in self.blocking)

    def blocks(self, a: F64, b: F64) -> bool:
        """Whether the segment a-b passes through the interior of an obstacle."""
        if np.allclose(a[:2], b[:2]):
            return self.contains(a)
        seg = LineString([(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))])
        return any(p.intersects(seg) and p.intersection(seg).length > 1e-6 for p in self.blocking)


def _parts(geom: object) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom] if not geom.is_empty else []
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]


def plan_leg(a: F64, b: F64, obstacles: Obstacles) -> F64 | None:
    """The shortest path from a to b (3-D points; heights interpolated by distance along the path) around
    the obstacles: (K, 3) points from a to b inclusive, or None when b cannot be reached (a or b inside an
    obstacle, or b enclosed)."""
    if not obstacles or not obstacles.blocks(a, b):
        return np.vstack([a, b])
    if obstacles.contains(a) or obstacles.contains(b):
        return None
    verts = [np.asarray(p.exterior.coords)[:-1] for p in obstacles.planning]
    nodes = np.vstack([a[None, :2], b[None, :2], *verts])
    keep = np.ones(len(nodes), bool)
    for k in range(2, len(nodes)):
        keep[k] = not obstacles.contains(nodes[k])
    idx = np.flatnonzero(keep)
    rows, cols, cost = [], [], []
    for u_pos, u in enumerate(idx):
        for v in idx[u_pos + 1:]:
            pa = np.array([nodes[u, 0], nodes[u, 1], 0.0])
            pb = np.array([nodes[v, 0], nodes[v, 1], 0.0])
            if not obstacles.blocks(pa, pb):
                w = float(np.hypot(*(nodes[u] - nodes[v])))
                rows += [u, v]
                cols += [v, u]
                cost += [w, w]
    graph = coo_matrix((cost, (rows, cols)), shape=(len(nodes), len(nodes))).tocsr()
    dist, pred = dijkstra(graph, directed=False, indices=0, return_predecessors=True)
    if not np.isfinite(dist[1]):
        return None
    chain = [1]
    while chain[-1] != 0:
        chain.append(int(pred[chain[-1]]))
    xy = nodes[chain[::-1]]
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    z = a[2] + (b[2] - a[2]) * along / max(along[-1], 1e-9)
    return np.column_stack([xy, z])


def plan_route(points: F64, obstacles: Obstacles) -> tuple[F64 | None, int]:
    """Every leg of ``points`` (W, 3) planned around the obstacles: (path, -1), or (None, k) when the leg
    ending at waypoint k cannot be planned."""
    out = [points[:1]]
    for k in range(1, len(points)):
        leg = plan_leg(points[k - 1], points[k], obstacles)
        if leg is None:
            return None, k
        out.append(leg[1:])
    return np.vstack(out), -1
