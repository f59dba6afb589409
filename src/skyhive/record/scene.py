"""Foxglove message builders: plain dicts in the shape of Foxglove's JSON schemas (``foxglove.SceneUpdate``,
``foxglove.GeoJSON``), for every concern that writes its own topics (comms links, mission tasks, airspace tracks)
and for the recorder itself.

Bottom layer: imports nothing of the simulation (no numpy either); callers pass plain numbers.  Write the result
with ``McapRecorder.write_json(topic, t, message, schema_name=...)``.  See docs/record.md for the topics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ENU_FRAME",
    "IDENTITY_POSE",
    "LINE_LIST",
    "LINE_LOOP",
    "LINE_STRIP",
    "color",
    "entity",
    "geojson",
    "hex_color",
    "line",
    "point",
    "scene_update",
    "sphere",
    "stamp",
]

ENU_FRAME = "enu"  # the frame of every 3-D entity: local ENU metres at the scenario origin
IDENTITY_POSE: dict[str, dict[str, float]] = {"position": {"x": 0.0, "y": 0.0, "z": 0.0},
                                              "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}
LINE_STRIP, LINE_LOOP, LINE_LIST = 0, 1, 2  # foxglove.LinePrimitive types

RGB = tuple[float, float, float]


def stamp(ns: int) -> dict[str, int]:
    """Foxglove ``time`` {sec, nsec} of a log time in nanoseconds."""
    sec, nsec = divmod(ns, 1_000_000_000)
    return {"sec": sec, "nsec": nsec}


def color(rgb: RGB, a: float = 1.0) -> dict[str, float]:
    """A ``foxglove.Color`` (components 0-1)."""
    return {"r": rgb[0], "g": rgb[1], "b": rgb[2], "a": a}


def hex_color(rgb: RGB) -> str:
    """``#rrggbb`` (GeoJSON styles)."""
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)


def point(x: float, y: float, z: float) -> dict[str, float]:
    """A ``foxglove.Point3``."""
    return {"x": x, "y": y, "z": z}


def line(points: Iterable[Sequence[float]], rgb: RGB, a: float = 1.0, *, kind: int = LINE_LIST,
         thickness: float = 1.0, scale_invariant: bool = True, indices: Sequence[int] = ()) -> dict[str, Any]:
    """A ``foxglove.LinePrimitive`` through ``points`` ((x, y, z) rows, ENU metres); ``indices`` pick the vertices
    (empty: all of them in order)."""
    return {"type": kind, "pose": IDENTITY_POSE, "thickness": thickness, "scale_invariant": scale_invariant,
            "points": [point(p[0], p[1], p[2]) for p in points], "color": color(rgb, a), "colors": [],
            "indices": list(indices)}


def sphere(at: Sequence[float], size: float, rgb: RGB, a: float = 1.0) -> dict[str, Any]:
    """A ``foxglove.SpherePrimitive`` of diameter ``size`` metres centred at ``at`` (x, y, z)."""
    return {"pose": {"position": point(at[0], at[1], at[2]), "orientation": IDENTITY_POSE["orientation"]},
            "size": point(size, size, size), "color": color(rgb, a)}


def entity(ns: int, entity_id: str, *, lines: Sequence[dict[str, Any]] = (), spheres: Sequence[dict[str, Any]] = (),
           metadata: Mapping[str, str] | None = None, frame_id: str = ENU_FRAME) -> dict[str, Any]:
    """A ``foxglove.SceneEntity`` at log time ``ns`` (lifetime: until replaced)."""
    return {"timestamp": stamp(ns), "frame_id": frame_id, "id": entity_id,
            "lifetime": {"sec": 0, "nsec": 0}, "frame_locked": False,
            "metadata": [{"key": k, "value": v} for k, v in (metadata or {}).items()],
            "arrows": [], "cubes": [], "spheres": list(spheres), "cylinders": [], "lines": list(lines),
            "triangles": [], "texts": [], "models": []}


def scene_update(entities: Sequence[dict[str, Any]], deletions: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A ``foxglove.SceneUpdate``."""
    return {"deletions": list(deletions), "entities": list(entities)}


def geojson(features: Sequence[dict[str, Any]]) -> dict[str, str]:
    """A ``foxglove.GeoJSON`` message: the features as one FeatureCollection document (Map panel)."""
    doc = {"type": "FeatureCollection", "features": list(features)}
    return {"geojson": json.dumps(doc, separators=(",", ":"))}
