"""MCAP recorder: drones, manned vehicles, geofences and events as Foxglove messages (JSON encoding).

The file is written with the ``mcap`` library (zstd-compressed chunks, message
indexes, summary).  Crash safety: every ``flush_every_s`` of wall time the open
chunk is closed and written, so a killed process leaves a file whose complete
chunks are all readable (``read_messages`` reads such a file to its last whole
record); ``close()`` writes the summary and footer.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap.writer import CompressionType, Writer
from numpy.typing import ArrayLike

from skyhive.geo.frames import LocalFrame
from skyhive.record import scene
from skyhive.record import vecjson as vj
from skyhive.record.schemas import FOXGLOVE_SCHEMAS, LOG_LEVELS, schema_bytes
from skyhive.world.world import DroneStatus, World

# Display colours per DroneStatus (r, g, b) and their Map-panel hex.
STATUS_RGB: dict[DroneStatus, tuple[float, float, float]] = {
    DroneStatus.ACTIVE: (0.15, 0.75, 0.25),
    DroneStatus.RETURNING: (0.10, 0.55, 0.95),
    DroneStatus.LANDING: (0.95, 0.60, 0.05),
    DroneStatus.LANDED: (0.55, 0.55, 0.55),
    DroneStatus.FAILED: (0.90, 0.10, 0.10),
}
FENCE_RGB = {"keep_in": (0.10, 0.70, 0.30), "keep_out": (0.90, 0.15, 0.15)}
MANNED_RGB = (0.95, 0.85, 0.10)

TOPIC_GEOFENCES = "/airspace/geofences"
TOPIC_GEOFENCES_3D = "/airspace/geofences_3d"
TOPIC_DRONES_SCENE = "/drones/scene"
TOPIC_DRONES_GEO = "/drones/geo"
TOPIC_EVENTS = "/events"
MANNED_PREFIX = "/manned/"
ENU_FRAME = scene.ENU_FRAME

Geofence = tuple[str, str, Any, float, float, bool]
"""(name, kind 'keep_in'|'keep_out', lon/lat ring (K, 2) or [exterior, *holes], floor_m, ceiling_m, active)."""


def _color_json(rgb: tuple[float, float, float], a: float = 1.0) -> str:
    return json.dumps(scene.color(rgb, a), separators=(",", ":"))


def _np_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def topic_name(name: str) -> str:
    """A topic-safe rendering of a free-form name (letters, digits, '_', '-', '.')."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "_"


class McapRecorder:
    """Writes one run to an MCAP file that Foxglove-compatible viewers open.

    ``t`` arguments are simulation seconds; a message's log time is
    ``start_epoch_ns + round(t * 1e9)`` (the default epoch 0 keeps files of
    the same run byte-comparable; pass ``time.time_ns()`` for wall-clock dates).
    """

    def __init__(self, path: str | Path, frame: LocalFrame, flush_every_s: float = 1.0,
                 start_epoch_ns: int = 0, drone_size_m: float = 2.0, chunk_size: int = 4 << 20) -> None:
        if not flush_every_s > 0.0:
            raise ValueError(f"flush_every_s must be > 0, got {flush_every_s}")
        if not drone_size_m > 0.0:
            raise ValueError(f"drone_size_m must be > 0, got {drone_size_m}")
        if start_epoch_ns < 0:
            raise ValueError(f"start_epoch_ns must be >= 0, got {start_epoch_ns}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)  # `--record out/run.mcap` on a fresh clone
        self.frame = frame
        self.flush_every_s = float(flush_every_s)
        self.start_epoch_ns = int(start_epoch_ns)
        self.drone_size_m = float(drone_size_m)
        self._file: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._writer = Writer(self._file, chunk_size=chunk_size, compression=CompressionType.ZSTD)
        self._writer.start(profile="", library="skyhive")
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, tuple[int, str | None]] = {}
        self._last_flush = time.monotonic()
        self._closed = False
        self.messages = 0
        self.bytes_in = 0
        self.flushes = 0
        self._sphere_prefix, self._sphere_mid, self._sphere_suffix = self._sphere_template()
        self._status_colors = [_color_json(STATUS_RGB[s]) for s in DroneStatus]

    # -- plumbing ------------------------------------------------------------------------------------------
    def log_time_ns(self, t: float) -> int:
        if not math.isfinite(t) or t < 0.0:
            raise ValueError(f"sim time must be finite and >= 0, got {t}")
        return self.start_epoch_ns + round(t * 1e9)

    @staticmethod
    def stamp(ns: int) -> dict[str, int]:
        """Foxglove ``time`` {sec, nsec} of a log time."""
        return scene.stamp(ns)

    def _channel(self, topic: str, schema_name: str | None, schema: dict[str, Any] | None = None) -> int:
        known = self._channels.get(topic)
        if known is not None:
            if known[1] != schema_name:
                raise ValueError(f"topic {topic!r} was registered with schema {known[1]!r}, not {schema_name!r}")
            return known[0]
        if self._closed:
            raise ValueError(f"recorder for {self.path} is closed")
        schema_id = 0
        if schema_name is not None:
            if schema_name not in self._schemas:
                body = schema if schema is not None else FOXGLOVE_SCHEMAS.get(schema_name)
                if body is None:
                    body = {"title": schema_name, "type": "object"}
                self._schemas[schema_name] = self._writer.register_schema(
                    schema_name, SchemaEncoding.JSONSchema, schema_bytes(body))
            schema_id = self._schemas[schema_name]
        cid = self._writer.register_channel(topic, MessageEncoding.JSON, schema_id)
        self._channels[topic] = (cid, schema_name)
        return cid

    def _write(self, topic: str, schema_name: str | None, ns: int, data: bytes) -> None:
        if self._closed:
            raise ValueError(f"recorder for {self.path} is closed")
        cid = self._channel(topic, schema_name)
        self._writer.add_message(cid, log_time=ns, data=data, publish_time=ns)
        self.messages += 1
        self.bytes_in += len(data)
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        """Close the open chunk and hand everything to the OS (survives a process kill, not a power cut)."""
        if self._closed:
            return
        self._writer.flush()
        self._last_flush = time.monotonic()
        self.flushes += 1

    def close(self) -> None:
        """Write the summary and footer and close the file; safe to call twice."""
        if self._closed:
            return
        try:
            self._writer.finish()
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._closed = True
            self._file.close()

    def metadata(self, name: str, data: dict[str, Any]) -> None:
        """An MCAP metadata record: ``data`` values are written as JSON strings (read back with
        ``skyhive.record.reader.read_metadata``)."""
        self._writer.add_metadata(name, {k: json.dumps(v, default=_np_default) for k, v in data.items()})

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- generic ------------------------------------------------------------------------------------------
    def write_json(self, topic: str, t: float, obj: Any, schema_name: str | None = None,
                   schema: dict[str, Any] | None = None) -> None:
        """Any JSON-able object (NumPy values converted) on ``topic``.

        ``schema_name`` selects a Foxglove schema by name, or names a custom one
        whose JSON Schema is ``schema`` (a bare ``{"type": "object"}`` if absent);
        without a name the channel is schemaless.
        """
        if schema is not None and schema_name is not None and schema_name not in self._schemas:
            self._channel(topic, schema_name, schema)
        data = json.dumps(obj, default=_np_default, separators=(",", ":"), allow_nan=False).encode()
        self._write(topic, schema_name, self.log_time_ns(t), data)

    # -- typed topics -------------------------------------------------------------------------------------
    def log(self, t: float, level: str | int, name: str, text: str) -> None:
        """An event on ``/events`` as ``foxglove.Log`` (level: debug/info/warning/error/fatal or 0-5)."""
        if isinstance(level, str):
            key = "warning" if level.lower() == "warn" else level.lower()
            if key not in LOG_LEVELS:
                raise ValueError(f"log level {level!r} is not one of {sorted(LOG_LEVELS)}")
            lvl = LOG_LEVELS[key]
        else:
            lvl = int(level)
            if not 0 <= lvl <= 5:
                raise ValueError(f"log level {level} is outside the foxglove.LogLevel range 0-5")
        ns = self.log_time_ns(t)
        msg = {"timestamp": self.stamp(ns), "level": lvl, "message": str(text), "name": str(name),
               "file": "", "line": 0}
        self._write(TOPIC_EVENTS, "foxglove.Log", ns, json.dumps(msg, separators=(",", ":")).encode())

    def write_geofences(self, t: float, fences: Iterable[Geofence]) -> None:
        """All geofences: ``/airspace/geofences`` (GeoJSON, Map panel) and ``/airspace/geofences_3d``
        (SceneUpdate line loops at floor and ceiling in the ENU frame, 3D panel)."""
        ns = self.log_time_ns(t)
        features: list[dict[str, Any]] = []
        entities: list[dict[str, Any]] = []
        for name, kind, ring, floor_m, ceiling_m, active in fences:
            if kind not in FENCE_RGB:
                raise ValueError(f"geofence {name!r}: kind must be 'keep_in' or 'keep_out', got {kind!r}")
            rings = _rings(name, ring)
            for r in rings:
                if r.ndim != 2 or r.shape[1] < 2 or r.shape[0] < 3:
                    raise ValueError(f"geofence {name!r}: a ring must be a (K >= 3, 2) lon/lat array")
            coords = [np.round(r[:, :2], 8).tolist() for r in rings]
            for c in coords:
                if c[0] != c[-1]:
                    c.append(c[0])
            rgb = FENCE_RGB[kind]
            features.append({
                "type": "Feature", "id": name,
                "geometry": {"type": "Polygon", "coordinates": coords},
                "properties": {"name": name, "kind": kind, "floor_m": float(floor_m), "ceiling_m": float(ceiling_m),
                               "active": bool(active),
                               "style": {"color": scene.hex_color(rgb), "opacity": 1.0 if active else 0.35,
                                         "fillOpacity": 0.15 if active else 0.0}},
            })
            lines = []
            for r in rings:
                for z in (floor_m, ceiling_m):
                    xyz = self.frame.local(r[:, 1], r[:, 0], float(z))
                    lines.append({
                        "type": scene.LINE_LOOP, "pose": scene.IDENTITY_POSE, "thickness": 2.0, "scale_invariant": True,
                        "points": [scene.point(x, y, zz) for x, y, zz in np.round(xyz, 2).tolist()],
                        "color": scene.color(rgb, 1.0 if active else 0.3), "colors": [], "indices": []})
            entities.append(scene.entity(ns, f"geofence/{name}", lines=lines,
                                         metadata={"kind": kind, "active": str(bool(active)).lower()}))
        doc = {"type": "FeatureCollection", "features": features}
        self._write(TOPIC_GEOFENCES, "foxglove.GeoJSON", ns,
                    json.dumps({"geojson": json.dumps(doc, separators=(",", ":"))}, separators=(",", ":")).encode())
        update = {"deletions": [{"timestamp": self.stamp(ns), "type": 1, "id": ""}], "entities": entities}
        self._write(TOPIC_GEOFENCES_3D, "foxglove.SceneUpdate", ns, json.dumps(update, separators=(",", ":")).encode())

    def write_drones(self, t: float, world: World) -> None:
        """All drones, one message per topic: ``/drones/scene`` (one SceneUpdate entity, a sphere per drone in
        frame "enu", coloured by status) and ``/drones/geo`` (GeoJSON, one MultiPoint feature per status)."""
        d = world.drones
        self.write_drone_arrays(t, d.pos, d.status)

    def write_drone_arrays(self, t: float, pos: ArrayLike, status: ArrayLike) -> None:
        """``write_drones`` from bare arrays: ENU positions (N, 3) and DroneStatus codes (N,)."""
        p = np.asarray(pos, dtype=np.float64).reshape(-1, 3)
        st = np.asarray(status).astype(np.intp).ravel()
        if st.shape[0] != p.shape[0]:
            raise ValueError(f"status has {st.shape[0]} rows, positions {p.shape[0]}")
        if st.size and (st.min() < 0 or st.max() >= len(DroneStatus)):
            raise ValueError("status holds codes outside DroneStatus")
        ns = self.log_time_ns(t)
        n = p.shape[0]
        xyz = vj.decimal_fields(p, 2).reshape(n, 3, -1)  # one call for all three columns
        spheres = vj.join_rows([
            vj.const(self._sphere_prefix, n), xyz[:, 0],
            vj.const(',"y":', n), xyz[:, 1],
            vj.const(',"z":', n), xyz[:, 2],
            vj.const(self._sphere_mid, n), vj.padded_choices(self._status_colors, st),
            vj.const(self._sphere_suffix, n)])
        stamp = json.dumps(self.stamp(ns), separators=(",", ":"))
        head = ('{"deletions":[],"entities":[{"timestamp":' + stamp + ',"frame_id":"' + ENU_FRAME
                + '","id":"drones","lifetime":{"sec":0,"nsec":0},"frame_locked":false,'
                '"metadata":[{"key":"count","value":"' + str(n) + '"}],"arrows":[],"cubes":[],"spheres":[')
        tail = '],"cylinders":[],"lines":[],"triangles":[],"texts":[],"models":[]}]}'
        self._write(TOPIC_DRONES_SCENE, "foxglove.SceneUpdate", ns, head.encode() + spheres + tail.encode())

        lat, lon, alt = self.frame.geodetic(p)
        lonlat = vj.decimal_fields(np.stack([lon, lat], axis=1), 7).reshape(n, 2, -1)
        alts = vj.decimal_fields(alt, 1)
        order = np.argsort(st, kind="stable")
        counts = np.bincount(st, minlength=len(DroneStatus))
        parts: list[bytes] = []
        start = 0
        for code, count in enumerate(counts.tolist()):
            if count == 0:
                continue
            sel = order[start:start + count]
            start += count
            s = DroneStatus(code)
            ll = lonlat[sel]
            coords = vj.join_rows([vj.const("[", count), ll[:, 0], vj.const(",", count), ll[:, 1],
                                   vj.const(",", count), alts[sel], vj.const("]", count)])
            props = json.dumps({"status": s.name.lower(), "count": count,
                                "style": {"color": scene.hex_color(STATUS_RGB[s])}}, separators=(",", ":"))
            parts.append(b'{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[' + coords
                         + b']},"properties":' + props.encode() + b"}")
        inner = b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"
        # the GeoJSON document is a string field: escape it as a JSON string (only '"' occurs; no '\\')
        self._write(TOPIC_DRONES_GEO, "foxglove.GeoJSON", ns,
                    b'{"geojson":"' + inner.replace(b'"', b'\\"') + b'"}')

    def write_manned(self, t: float, world: World) -> None:
        """Each manned vehicle on ``/manned/<name>`` as ``foxglove.LocationFix`` (a handful: a loop is fine)."""
        m = world.manned
        if m.m == 0:
            return
        ns = self.log_time_ns(t)
        lat, lon, alt = self.frame.geodetic(m.pos)
        vel = np.asarray(m.vel, dtype=np.float64)
        heading = np.mod(np.arctan2(vel[:, 0], vel[:, 1]), 2.0 * np.pi)
        for k, name in enumerate(m.names):
            fix = {"timestamp": self.stamp(ns), "frame_id": topic_name(name),
                   "latitude": float(lat[k]), "longitude": float(lon[k]), "altitude": float(alt[k]),
                   "position_covariance": [0.0] * 9, "position_covariance_type": 0,
                   "heading": float(heading[k]),
                   "velocity": {"x": float(vel[k, 0]), "y": float(vel[k, 1]), "z": float(vel[k, 2])},
                   "color": scene.color(MANNED_RGB),
                   "metadata": [{"key": "kind", "value": "aircraft" if bool(m.is_aircraft[k]) else "ground"}]}
            self._write(MANNED_PREFIX + topic_name(name), "foxglove.LocationFix", ns,
                        json.dumps(fix, separators=(",", ":")).encode())

    # -- helpers ------------------------------------------------------------------------------------------
    def _sphere_template(self) -> tuple[str, str, str]:
        s = f"{self.drone_size_m:g}"
        prefix = '{"pose":{"position":{"x":'
        mid = '},"orientation":{"x":0,"y":0,"z":0,"w":1}},"size":{"x":' + s + ',"y":' + s + ',"z":' + s + '},"color":'
        return prefix, mid, "}"


def _rings(name: str, ring: Any) -> list[np.ndarray]:
    """One (K, 2) ring, or a list [exterior, *holes] of them."""
    try:
        arr = np.asarray(ring, dtype=np.float64)
    except ValueError:  # ragged: several rings of different lengths
        arr = None
    if arr is not None and arr.ndim == 2:
        return [arr]
    try:
        return [np.asarray(r, dtype=np.float64) for r in ring]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"geofence {name!r}: ring must be (K, 2) lon/lat or a list of such rings") from exc


def write_summary_json(path: str | Path, summary: dict[str, Any]) -> None:
    """The run summary as JSON (NumPy scalars and arrays converted; NaN/inf become null), written atomically."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(_finite(summary), indent=2, default=_np_default, allow_nan=False) + "\n")
    os.replace(tmp, out)


def summary_json_data(summary: dict[str, Any]) -> Any:
    """The run summary exactly as ``write_summary_json`` writes it, as plain Python values (a JSON round trip)."""
    return json.loads(json.dumps(_finite(summary), default=_np_default, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
