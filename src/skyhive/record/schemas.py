"""JSON Schemas of the Foxglove message types skyhive writes (MCAP schema encoding ``jsonschema``).

Foxglove-compatible viewers pick their panels by schema *name* (``foxglove.SceneUpdate``
...) and read the JSON by the field names and enum values Foxglove defines
(https://docs.foxglove.dev/docs/visualization/message-schemas/introduction).  The
schemas here are assembled from small building blocks with those field names,
types, enums and required lists, so the ``Schema`` record of each channel tells any
reader exactly what the messages hold.  Descriptions are ours and short.

Written by hand rather than taken from the ``foxglove-sdk`` wheel because that wheel
is a compiled SDK with a native extension: a heavy dependency for four small schema
documents.
"""

from __future__ import annotations

import json
from typing import Any

Schema = dict[str, Any]


def _time(desc: str) -> Schema:
    return {"type": "object", "title": "time", "description": desc,
            "properties": {"sec": {"type": "integer", "minimum": 0},
                           "nsec": {"type": "integer", "minimum": 0, "maximum": 999_999_999}}}


def _duration(desc: str) -> Schema:
    return {"type": "object", "title": "duration", "description": desc,
            "properties": {"sec": {"type": "integer"},
                           "nsec": {"type": "integer", "minimum": 0, "maximum": 999_999_999}}}


def _obj(title: str, desc: str, props: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {"title": title, "description": desc, "type": "object", "properties": props,
            "required": list(props) if required is None else required}


def _num(desc: str) -> Schema:
    return {"type": "number", "description": desc}


def _vector3(desc: str) -> Schema:
    return _obj("foxglove.Vector3", desc, {a: _num(f"{a} component") for a in "xyz"})


def _point3(desc: str) -> Schema:
    return _obj("foxglove.Point3", desc, {a: _num(f"{a} coordinate") for a in "xyz"})


def _quaternion() -> Schema:
    return _obj("foxglove.Quaternion", "orientation", {a: _num(f"{a} value") for a in "xyzw"})


def _pose(desc: str) -> Schema:
    return _obj("foxglove.Pose", desc, {"position": _vector3("position"), "orientation": _quaternion()})


def _color(desc: str) -> Schema:
    return _obj("foxglove.Color", desc, {c: _num(f"{c} in [0, 1]") for c in "rgba"})


def _array(items: Schema, desc: str) -> Schema:
    return {"type": "array", "items": items, "description": desc}


def _enum(title: str, desc: str, values: list[tuple[str, int]]) -> Schema:
    return {"title": title, "description": desc,
            "oneOf": [{"title": name, "const": value} for name, value in values]}


def _key_values(desc: str) -> Schema:
    kv = _obj("foxglove.KeyValuePair", "key and value", {"key": {"type": "string"}, "value": {"type": "string"}})
    return _array(kv, desc)


def _indices() -> Schema:
    return _array({"type": "integer", "minimum": 0}, "indices into points/colors (empty: no indexing)")


def _scene_entity() -> Schema:
    shaped = {"pose": _pose("centre and orientation"), "size": _vector3("size along each axis"),
              "color": _color("colour")}
    props: dict[str, Schema] = {
        "timestamp": _time("timestamp of the entity"),
        "frame_id": {"type": "string", "description": "frame of reference"},
        "id": {"type": "string", "description": "replaces a prior entity with the same id on the topic"},
        "lifetime": _duration("auto-removal delay after timestamp; zero keeps it until replaced"),
        "frame_locked": {"type": "boolean", "description": "follow frame_id as it moves"},
        "metadata": _key_values("user metadata"),
        "arrows": _array(_obj("foxglove.ArrowPrimitive", "arrow", {
            "pose": _pose("tail position; identity points along +x"), "shaft_length": _num("m"),
            "shaft_diameter": _num("m"), "head_length": _num("m"), "head_diameter": _num("m"),
            "color": _color("colour")}), "arrow primitives"),
        "cubes": _array(_obj("foxglove.CubePrimitive", "cube or box", dict(shaped)), "cube primitives"),
        "spheres": _array(_obj("foxglove.SpherePrimitive", "sphere or ellipsoid", dict(shaped)),
                          "sphere primitives"),
        "cylinders": _array(_obj("foxglove.CylinderPrimitive", "cylinder or truncated cone", {
            "pose": _pose("centre; flat faces perpendicular to z"), "size": _vector3("bounding box size"),
            "bottom_scale": _num("bottom face diameter ratio, 0-1"),
            "top_scale": _num("top face diameter ratio, 0-1"), "color": _color("colour")}),
            "cylinder primitives"),
        "lines": _array(_obj("foxglove.LinePrimitive", "points connected by lines", {
            "type": _enum("foxglove.LineType", "drawing mode",
                          [("LINE_STRIP", 0), ("LINE_LOOP", 1), ("LINE_LIST", 2)]),
            "pose": _pose("origin of the points"), "thickness": _num("line thickness"),
            "scale_invariant": {"type": "boolean", "description": "thickness in screen pixels"},
            "points": _array(_point3("vertex"), "vertices"), "color": _color("colour unless colors is set"),
            "colors": _array(_color("per-point colour"), "per-point colours"), "indices": _indices()}),
            "line primitives"),
        "triangles": _array(_obj("foxglove.TriangleListPrimitive", "triangle list", {
            "pose": _pose("origin of the points"), "points": _array(_point3("vertex"), "vertex triples"),
            "color": _color("colour unless colors is set"),
            "colors": _array(_color("per-vertex colour"), "per-vertex colours"), "indices": _indices()}),
            "triangle list primitives"),
        "texts": _array(_obj("foxglove.TextPrimitive", "text label", {
            "pose": _pose("centre of the text box"),
            "billboard": {"type": "boolean", "description": "always face the camera"},
            "font_size": _num("line height"),
            "scale_invariant": {"type": "boolean", "description": "font_size in screen pixels"},
            "color": _color("colour"), "text": {"type": "string"}}), "text primitives"),
        "models": _array(_obj("foxglove.ModelPrimitive", "3D model from a URL or embedded data", {
            "pose": _pose("origin of the model"), "scale": _vector3("scale factor per axis"),
            "color": _color("colour used when override_color is true"),
            "override_color": {"type": "boolean"},
            "url": {"type": "string", "description": "model URL (empty when data is embedded)"},
            "media_type": {"type": "string", "description": "media type of embedded data"},
            "data": {"type": "string", "contentEncoding": "base64", "description": "embedded model"}}),
            "model primitives"),
    }
    return _obj("foxglove.SceneEntity", "a visual element of a 3D scene", props)


def scene_update() -> Schema:
    deletion = _obj("foxglove.SceneEntityDeletion", "removal of previously published entities", {
        "timestamp": _time("only matching entities earlier than this are deleted"),
        "type": _enum("foxglove.SceneEntityDeletionType", "what to delete", [("MATCHING_ID", 0), ("ALL", 1)]),
        "id": {"type": "string", "description": "id to match when type is MATCHING_ID"}})
    return _obj("foxglove.SceneUpdate", "an update to the entities of a 3D scene", {
        "deletions": _array(deletion, "entities to delete"),
        "entities": _array(_scene_entity(), "entities to add or replace")})


def geojson() -> Schema:
    return _obj("foxglove.GeoJSON", "GeoJSON for map annotation", {
        "geojson": {"type": "string", "description": "GeoJSON document (RFC 7946) as a UTF-8 string"}})


def location_fix() -> Schema:
    props: dict[str, Schema] = {
        "timestamp": _time("timestamp of the fix"),
        "frame_id": {"type": "string", "description": "frame of the receiver"},
        "latitude": _num("degrees"), "longitude": _num("degrees"), "altitude": _num("metres (WGS84 ellipsoid)"),
        "position_covariance": {"type": "array", "items": {"type": "number"}, "minItems": 9, "maxItems": 9,
                                "description": "ENU position covariance, m^2, row-major"},
        "position_covariance_type": _enum("foxglove.PositionCovarianceType", "how the covariance is known",
                                          [("UNKNOWN", 0), ("APPROXIMATED", 1), ("DIAGONAL_KNOWN", 2),
                                           ("KNOWN", 3)]),
        "heading": _num("yaw, radians clockwise from north"),
        "velocity": _vector3("velocity in local ENU, m/s"),
        "color": _color("display colour"),
        "metadata": _key_values("user metadata"),
    }
    return _obj("foxglove.LocationFix", "a navigation satellite fix", props,
                required=["timestamp", "frame_id", "latitude", "longitude", "altitude", "position_covariance",
                          "position_covariance_type"])


LOG_LEVELS: dict[str, int] = {"unknown": 0, "debug": 1, "info": 2, "warning": 3, "error": 4, "fatal": 5}


def log() -> Schema:
    return _obj("foxglove.Log", "a log message", {
        "timestamp": _time("timestamp of the message"),
        "level": _enum("foxglove.LogLevel", "log level", [(k.upper(), v) for k, v in LOG_LEVELS.items()]),
        "message": {"type": "string"}, "name": {"type": "string", "description": "process or node name"},
        "file": {"type": "string"}, "line": {"type": "integer", "minimum": 0}})


FOXGLOVE_SCHEMAS: dict[str, Schema] = {
    "foxglove.SceneUpdate": scene_update(),
    "foxglove.GeoJSON": geojson(),
    "foxglove.LocationFix": location_fix(),
    "foxglove.Log": log(),
}


def schema_bytes(schema: Schema) -> bytes:
    return json.dumps(schema, separators=(",", ":")).encode()
