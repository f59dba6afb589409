"""McapRecorder: Foxglove schemas, field values, errors, reading back complete and truncated files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from mcap.reader import make_reader

from skyhive.geo.frames import LocalFrame
from skyhive.record import McapRecorder, is_complete, read_messages, write_summary_json
from skyhive.record.schemas import FOXGLOVE_SCHEMAS, LOG_LEVELS
from skyhive.record.vecjson import decimal_fields
from skyhive.record.writer import STATUS_RGB
from skyhive.world.world import DroneState, DroneStatus, MannedState, World

FRAME = LocalFrame(47.3769, 8.5417, 408.0)
RING = np.array([[8.53, 47.37], [8.55, 47.37], [8.55, 47.385], [8.53, 47.385]])


def _world(n: int = 25, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    d = DroneState.empty(n)
    d.pos[:] = rng.uniform(-3000.0, 3000.0, (n, 3))
    d.pos[0] = [-0.004, 0.006, -12.346]
    d.status[:] = np.arange(n) % len(DroneStatus)
    manned = MannedState(["Rega 1", "truck"], np.array([True, False]), np.array([[100.0, 200.0, 300.0], [5, 5, 0]]),
                         np.array([[0.0, 50.0, 0.0], [10.0, 0.0, 0.0]]), [np.zeros((1, 3))] * 2, np.ones(2),
                         np.zeros(2, np.int64), np.zeros(2, bool))
    return World(d, manned, 0.0)


def _record(path: Path, world: World, frames: int = 3) -> None:
    with McapRecorder(path, FRAME, start_epoch_ns=1_700_000_000_000_000_000) as rec:
        rec.write_geofences(0.0, [("city", "keep_in", RING, 0.0, 120.0, True),
                                  ("hospital", "keep_out", RING[::-1] * [1, 1.0000001], 0.0, 300.0, False)])
        for k in range(frames):
            rec.write_drones(0.5 * k, world)
            rec.write_manned(0.5 * k, world)
            rec.log(0.5 * k, "warning", "failsafe", f"frame {k}")
        rec.write_json("/comms/links", 1.25, {"edges": np.arange(4).reshape(2, 2), "n": np.int64(2)},
                       schema_name="skyhive.LinkGraph")


def test_every_message_matches_its_foxglove_schema(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    _record(path, _world())
    seen = set()
    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        assert {c.compression for c in summary.chunk_indexes} == {"zstd"}
        for schema, channel, message in reader.iter_messages():
            assert channel.message_encoding == "json"
            assert schema is not None and schema.encoding == "jsonschema"
            jsonschema.validate(json.loads(message.data), json.loads(schema.data))
            seen.add((channel.topic, schema.name))
    assert seen == {
        ("/airspace/geofences", "foxglove.GeoJSON"), ("/airspace/geofences_3d", "foxglove.SceneUpdate"),
        ("/drones/scene", "foxglove.SceneUpdate"), ("/drones/geo", "foxglove.GeoJSON"),
        ("/manned/Rega_1", "foxglove.LocationFix"), ("/manned/truck", "foxglove.LocationFix"),
        ("/events", "foxglove.Log"), ("/comms/links", "skyhive.LinkGraph")}


def test_foxglove_enums_and_required_fields() -> None:
    log = FOXGLOVE_SCHEMAS["foxglove.Log"]
    assert [(o["title"], o["const"]) for o in log["properties"]["level"]["oneOf"]] == [
        ("UNKNOWN", 0), ("DEBUG", 1), ("INFO", 2), ("WARNING", 3), ("ERROR", 4), ("FATAL", 5)]
    entity = FOXGLOVE_SCHEMAS["foxglove.SceneUpdate"]["properties"]["entities"]["items"]
    assert entity["required"] == ["timestamp", "frame_id", "id", "lifetime", "frame_locked", "metadata", "arrows",
                                  "cubes", "spheres", "cylinders", "lines", "triangles", "texts", "models"]
    fix = FOXGLOVE_SCHEMAS["foxglove.LocationFix"]
    assert "position_covariance_type" in fix["required"] and "heading" not in fix["required"]


def test_drone_frame_positions_colours_and_geo(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    world = _world()
    _record(path, world, frames=2)
    msgs = [(t, ns, o) for t, ns, o in read_messages(path) if t in ("/drones/scene", "/drones/geo")]
    assert [ns for t, ns, _ in msgs if t == "/drones/scene"] == [1_700_000_000_000_000_000,
                                                                 1_700_000_000_500_000_000]
    scene = msgs[-2][2] if msgs[-2][0] == "/drones/scene" else msgs[-1][2]
    (entity,) = scene["entities"]
    assert entity["frame_id"] == "enu" and entity["timestamp"] == {"sec": 1_700_000_000, "nsec": 500_000_000}
    spheres = entity["spheres"]
    d = world.drones
    got = np.array([[s["pose"]["position"][a] for a in "xyz"] for s in spheres])
    np.testing.assert_allclose(got, d.pos, atol=0.005 + 1e-9)
    assert spheres[0]["pose"]["position"] == {"x": 0.0, "y": 0.01, "z": -12.35}
    for s, code in zip(spheres, d.status, strict=True):
        assert (s["color"]["r"], s["color"]["g"], s["color"]["b"]) == STATUS_RGB[DroneStatus(code)]
    geo = json.loads(next(o for t, _, o in msgs if t == "/drones/geo")["geojson"])
    assert geo["type"] == "FeatureCollection"
    by_status = {f["properties"]["status"]: np.array(f["geometry"]["coordinates"]) for f in geo["features"]}
    assert sum(len(v) for v in by_status.values()) == d.n
    active = d.status == DroneStatus.ACTIVE
    lat, lon, alt = FRAME.geodetic(d.pos[active])
    np.testing.assert_allclose(by_status["active"][:, :2], np.stack([lon, lat], axis=1), rtol=0, atol=5.1e-8)
    np.testing.assert_allclose(by_status["active"][:, 2], alt, rtol=0, atol=0.051)
    assert len(by_status["failed"]) == np.count_nonzero(d.status == DroneStatus.FAILED)


def test_manned_events_fences_and_custom_json(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    _record(path, _world(), frames=1)
    msgs = list(read_messages(path))
    fix = next(o for t, _, o in msgs if t == "/manned/Rega_1")
    lat, lon, alt = FRAME.geodetic(np.array([100.0, 200.0, 300.0]))
    assert (fix["latitude"], fix["longitude"], fix["altitude"]) == pytest.approx((float(lat), float(lon), float(alt)))
    assert fix["heading"] == pytest.approx(0.0) and len(fix["position_covariance"]) == 9
    truck = next(o for t, _, o in msgs if t == "/manned/truck")
    assert truck["heading"] == pytest.approx(math.pi / 2)
    event = next(o for t, _, o in msgs if t == "/events")
    assert (event["level"], event["name"], event["message"]) == (LOG_LEVELS["warning"], "failsafe", "frame 0")
    fences = json.loads(next(o for t, _, o in msgs if t == "/airspace/geofences")["geojson"])
    props = [f["properties"] for f in fences["features"]]
    assert [(p["name"], p["kind"], p["ceiling_m"], p["active"]) for p in props] == [
        ("city", "keep_in", 120.0, True), ("hospital", "keep_out", 300.0, False)]
    ring = fences["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    scene = next(o for t, _, o in msgs if t == "/airspace/geofences_3d")
    assert [e["id"] for e in scene["entities"]] == ["geofence/city", "geofence/hospital"]
    assert scene["entities"][0]["lines"][1]["points"][0]["z"] == pytest.approx(120.0)
    custom = next((ns, o) for t, ns, o in msgs if t == "/comms/links")
    assert custom == (1_700_000_001_250_000_000, {"edges": [[0, 1], [2, 3]], "n": 2})


def test_truncated_at_any_point_reads_a_prefix_without_error(tmp_path: Path) -> None:
    full = tmp_path / "full.mcap"
    with McapRecorder(full, FRAME, flush_every_s=1e-9) as rec:  # a chunk per message
        world = _world(40)
        for k in range(6):
            rec.write_drones(float(k), world)
            rec.log(float(k), "info", "sim", str(k))
    reference = [(t, ns) for t, ns, _ in read_messages(full)]
    blob = full.read_bytes()
    cut = tmp_path / "cut.mcap"
    counts = []
    for size in range(8, len(blob), max(1, len(blob) // 97)):
        cut.write_bytes(blob[:size])
        assert not is_complete(cut)
        got = [(t, ns) for t, ns, _ in read_messages(cut)]
        assert got == sorted(got, key=lambda m: m[1]) and set(got) <= set(reference)
        counts.append(len(got))
    assert counts == sorted(counts) and counts[-1] >= len(reference) - 2 and counts[0] == 0


def test_zero_filled_tail_is_not_read_as_records(tmp_path: Path) -> None:
    path = tmp_path / "z.mcap"
    rec = McapRecorder(path, FRAME)
    rec.write_drones(0.0, _world())
    rec.flush()
    with open(path, "ab") as f:
        f.write(b"\0" * 4096)
    assert [t for t, _, _ in read_messages(path)] == ["/drones/scene", "/drones/geo"]
    rec.close()


def test_bad_input_is_named(tmp_path: Path) -> None:
    rec = McapRecorder(tmp_path / "bad.mcap", FRAME)
    with pytest.raises(ValueError, match="log level 'loud'"):
        rec.log(0.0, "loud", "x", "y")
    with pytest.raises(ValueError, match="LogLevel range"):
        rec.log(0.0, 9, "x", "y")
    with pytest.raises(ValueError, match="sim time"):
        rec.log(-1.0, "info", "x", "y")
    with pytest.raises(ValueError, match="kind must be"):
        rec.write_geofences(0.0, [("f", "no_fly", RING, 0.0, 10.0, True)])
    rec.write_json("/x", 0.0, {"a": 1}, schema_name="custom.A")
    with pytest.raises(ValueError, match="registered with schema"):
        rec.write_json("/x", 0.0, {"a": 1}, schema_name="custom.B")
    world = _world()
    world.drones.pos[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rec.write_drones(0.0, world)
    rec.close()
    rec.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        rec.log(0.0, "info", "x", "y")
    assert is_complete(tmp_path / "bad.mcap")
    with pytest.raises(ValueError, match="flush_every_s"):
        McapRecorder(tmp_path / "b2.mcap", FRAME, flush_every_s=0.0)


def test_decimal_fields_match_python_formatting() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 10.0 ** rng.integers(-3, 7, 500)), [0.0, -0.0, -0.004, 0.005, -0.5,
                                                                                 9.995, -99999.999, 1e9]])
    for frac in (0, 1, 2, 7):
        fields = decimal_fields(values, frac)
        assert fields.shape[0] == values.size
        for v, row in zip(values, fields, strict=True):
            text = row.tobytes().decode()
            assert float(text) == pytest.approx(round(abs(v) * 10**frac) / 10**frac * math.copysign(1, v),
                                                abs=0.6 / 10**frac)
            assert text.strip() == text.lstrip() and json.loads(text) == float(text.strip())


def test_summary_json_converts_numpy_and_non_finite(tmp_path: Path) -> None:
    path = tmp_path / "out" / "summary.json"
    write_summary_json(path, {"n": np.int64(3), "x": np.float32(1.5), "arr": np.arange(3), "bad": float("nan"),
                              "nested": {"inf": np.float64(np.inf), "ok": [np.bool_(True)]}})
    assert json.loads(path.read_text()) == {"n": 3, "x": 1.5, "arr": [0, 1, 2], "bad": None,
                                            "nested": {"inf": None, "ok": [True]}}
