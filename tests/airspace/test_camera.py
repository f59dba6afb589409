"""Onboard cameras: detections travel to the ground over the mesh, and the tracker fuses only what arrived."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from skyhive.airspace.camera import CameraModel
from skyhive.airspace.config import Camera
from skyhive.airspace.picture import AirspacePicture
from skyhive.airspace.sensors import KIND_INTRUDER, LABEL_SCALE
from skyhive.scenario.load import ScenarioError, scenario_from_dict
from skyhive.sim import Simulation
from tests.conftest import BASE, ll

INTRUDER_XY = (4000.0, 200.0)


def relay_scenario(fault: dict[str, Any] | None = None, duration: float = 80.0, **camera: Any) -> dict[str, Any]:
    """A ground station at the origin with a short-range radar (2 km); four camera drones hover in a line at
    x = 1, 2, 3, 4 km (radio range 1.5 km: the reports of the far drone need four hops); a non-cooperative
    intruder hovers 200 m north of the far drone, 4 km from the ground sensors."""
    sc = copy.deepcopy(BASE)
    sc["duration"] = duration
    sc["fleets"] = [{"name": "relay", "count": 4,
                     "launch": {"sites": [ll(2500, 0)], "layout": "line", "spacing_m": 1000.0},
                     "route": {"waypoints": [ll(2500, 0, 60)], "speed_mps": 5.0},
                     "radio": {"max_range_m": 1500.0}}]
    sc["ground_stations"] = [{"name": "base", **ll(0, 0, 0)}]
    sc["comms"] = {"faults": [fault]} if fault else {}
    sc["sensors"] = [
        {"type": "radar", "name": "r1", "position": ll(0, 0, 5), "range_m": 2000.0, "false_alarms_per_scan": 2.0},
        {"type": "camera", "name": "cams", "fleet": "relay", **camera},
    ]
    sc["intruders"] = [{"name": "bandit", "behaviour": "hover", "start": ll(*INTRUDER_XY, 60)}]
    return sc


def run(sc: dict[str, Any], until: float | None = None) -> Simulation:
    sim = Simulation(scenario_from_dict(sc))
    sim.run(until=until)
    return sim


def pic_of(sim: Simulation) -> AirspacePicture:
    pic = sim.airspace
    assert isinstance(pic, AirspacePicture)
    return pic


def intruder_tracks(sim: Simulation) -> list[int]:
    """Rows of confirmed tracks within 60 m of the intruder."""
    tr = pic_of(sim).tracker
    conf = np.flatnonzero(tr.confirmed())
    d = np.linalg.norm(tr.x[conf, :2] - np.array(INTRUDER_XY), axis=1)
    return conf[d < 60.0].tolist()


@pytest.fixture(scope="module")
def relayed() -> Simulation:
    return run(relay_scenario())


def test_intruder_beyond_ground_sensors_is_tracked_from_camera_reports(relayed: Simulation) -> None:
    pic, m = pic_of(relayed), relayed.metrics
    radar = pic.radars[0]
    assert not radar.covers(pic.intruders.pos).any()  # the ground radar cannot see it
    rows = intruder_tracks(relayed)
    assert len(rows) == 1
    tid = int(pic.tracker.ids[rows[0]])
    assert pic.track_truth[tid] == KIND_INTRUDER * LABEL_SCALE + 0
    assert pic.track_label[tid] == "unknown"
    assert pic.tracker.last_t[rows[0]] >= relayed.world.t - 3.0  # kept up to date
    # the reports really crossed the mesh: four hops, delivered at later ticks, none lost here
    cm = m["comms_airspace_camera_cams"]
    assert isinstance(cm, dict)
    assert cm["hops_max"] == 4 and cm["delivered"] == m["camera_reports_received"] > 50
    age = m["camera_report_age_mean_s"]
    assert isinstance(age, float) and 0.3 <= age <= 0.5  # one tick per hop
    assert m["camera_reports_late"] == 0
    # the swarm's own drones are never reported by the cameras; the radar's tracks of the near drone are "swarm"
    assert m["camera_detections"] == m["camera_reports_received"]
    assert not any(a.track_id == tid for a in pic.alerts if a.label == "swarm")


def test_no_mesh_path_no_camera_track() -> None:
    """The same scenario with the ground station out of every drone's radio range: nothing arrives, no track."""
    sc = relay_scenario(duration=40.0)
    sc["ground_stations"] = [{"name": "base", **ll(-3000, 0, 0)}]
    sim = run(sc)
    m = sim.metrics
    assert isinstance(m["camera_detections"], int) and m["camera_detections"] > 20  # the drone did see it
    assert m["camera_reports_received"] == 0
    assert intruder_tracks(sim) == []


@pytest.mark.parametrize("fault", [
    {"type": "partition", "at_s": 40.0, "a": [{"ground_stations": ["base"]}], "b": [{"fleet": "relay"}]},
    {"type": "node_failure", "at_s": 40.0, "nodes": [{"fleet": "relay", "drones": [1]}]},
], ids=["partition", "relay_failure"])
def test_breaking_the_link_stops_track_updates(fault: dict[str, Any]) -> None:
    sim = Simulation(scenario_from_dict(relay_scenario(fault, duration=110.0)))
    sim.run(until=40.0)
    rows = intruder_tracks(sim)
    assert len(rows) == 1
    tid = int(pic_of(sim).tracker.ids[rows[0]])
    received = sim.metrics["camera_reports_received"]
    sim.run(until=70.0)
    m = sim.metrics
    assert m["camera_reports_received"] == received  # nothing arrives after the fault ...
    assert isinstance(m["camera_detections"], int) and m["camera_detections"] > received + 30  # ... though seen
    tr = pic_of(sim).tracker
    row = np.flatnonzero(tr.ids == tid)
    # the track is no longer updated: its last hit is from before the fault (or it has been deleted)
    assert row.size == 0 or tr.last_t[row[0]] <= 40.0
    cm = m["comms_airspace_camera_cams"]
    assert isinstance(cm, dict)
    assert cm["drop_partition"] + cm["drop_dead_node"] > 0
    sim.run(until=110.0)  # the coasting track is deleted once its position uncertainty passes 300 m
    assert tid not in pic_of(sim).tracker.ids.tolist()


def test_reports_later_than_the_fusion_delay_are_dropped_and_counted() -> None:
    """Four hops take 0.4 s: with a 0.2 s fusion delay every report misses its frame (out of sequence)."""
    sim = run(relay_scenario(duration=40.0, fusion_delay_s=0.2))
    m = sim.metrics
    assert isinstance(m["camera_reports_received"], int) and m["camera_reports_received"] > 20
    far = m["camera_reports_late"]
    assert isinstance(far, int) and far >= m["camera_reports_received"] - 2  # all but frames still in flight
    assert intruder_tracks(sim) == []


def test_camera_run_is_deterministic() -> None:
    a, b = run(relay_scenario(duration=25.0)), run(relay_scenario(duration=25.0))
    keys = ("camera_detections", "camera_reports_received", "tracker", "comms_airspace_camera_cams")
    assert [a.metrics[k] for k in keys] == [b.metrics[k] for k in keys]
    np.testing.assert_array_equal(pic_of(a).tracker.x, pic_of(b).tracker.x)


def test_camera_pd_follows_johnson_criteria() -> None:
    sim = Simulation(scenario_from_dict(relay_scenario(duration=1.0)))
    cam = pic_of(sim).cameras[0]
    assert isinstance(cam, CameraModel)
    cfg = cam.cfg
    r50 = cfg.target_size_m / (2 * cfg.n50_cycles * math.radians(cfg.fov_deg) / cfg.pixels)
    r = np.array([10.0, r50 / 2, r50, 2 * r50, 5000.0])
    pd = cam.pd(r, np.full(r.size, cfg.target_size_m))
    assert pd[2] == pytest.approx(cfg.pd_max / 2)
    assert np.all(np.diff(pd) < 0) and pd[0] == pytest.approx(cfg.pd_max) and pd[-1] < 1e-3
    # N/N50 = 2: E = 4.1, P = 2^4.1 / (1 + 2^4.1)
    assert pd[1] == pytest.approx(cfg.pd_max * 2**4.1 / (1 + 2**4.1))
    assert cam.look_range == pytest.approx(min(cfg.range_m, r50))


def test_camera_sees_only_inside_its_field_of_view() -> None:
    """The drones look north (they never moved horizontally); an intruder south of the far drone is not seen
    with a 90 degree camera and is seen with a 360 degree ring of the same resolution (4 x the pixels)."""
    sc = relay_scenario(duration=30.0)
    sc["intruders"][0]["start"] = ll(4000, -150, 60)
    assert run(sc).metrics["camera_detections"] == 0
    sc["sensors"][1].update(fov_deg=360.0, pixels=4 * 1920)
    m = run(sc).metrics["camera_detections"]
    assert isinstance(m, int) and m > 10


def _problems(sc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(sc)
    return [f"{p.path}: {p.message}" for p in exc.value.problems]


def test_bad_camera_entries_are_clear_scenario_errors() -> None:
    sc = relay_scenario()
    sc["sensors"][1].update(fleet="nope", ground_station="tower")
    text = "\n".join(_problems(sc))
    assert "sensors.1.fleet: no fleet named 'nope'" in text
    assert "sensors.1.ground_station: no ground station named 'tower'" in text
    sc = relay_scenario()
    del sc["ground_stations"]
    assert any("sensors.1" in p and "no ground_stations" in p for p in _problems(sc))
    sc = relay_scenario()
    sc["sensors"][1].update(fov_deg=0.0, rate_hz=-1.0)
    text = "\n".join(_problems(sc))
    assert "sensors.1.camera.fov_deg" in text or "sensors.1.fov_deg" in text
    assert "rate_hz" in text
    Camera(type="camera", name="c", fleet="f")  # the defaults are valid


def test_airport_watch_example_exercises_the_camera_chain() -> None:
    """The example's inspection cameras see the snooper next to the work site; their reports reach the ops
    ground station over the mesh and update its track alongside the radar."""
    from pathlib import Path

    sim = Simulation.from_file(Path(__file__).resolve().parents[2] / "examples" / "airport-watch.yaml")
    sim.run(until=180.0)
    m, pic = sim.metrics, pic_of(sim)
    fused = m["camera_reports_fused"]
    assert isinstance(fused, int) and fused > 50
    assert m["camera_reports_late"] == 0
    snooper = pic.intruders.names.index("snooper")
    tids = [t for t, lab in pic.track_truth.items() if lab == KIND_INTRUDER * LABEL_SCALE + snooper]
    assert tids and any(pic.track_label.get(t) == "unknown" for t in tids)


def test_same_frame_reports_of_one_aircraft_are_fused_by_information() -> None:
    """Two drones looking from orthogonal sides: range errors along x and y; the fused measurement is the
    information-weighted one (tight in both axes); a report of the same drone or far away is not merged."""
    from skyhive.airspace.camera import fuse_same_frame

    Ra, Rb = np.diag([900.0, 4.0, 4.0]), np.diag([4.0, 900.0, 4.0])
    z = np.array([[20.0, 1.0, 0.0], [1.0, -20.0, 0.0], [5000.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    R = np.stack([Ra, Rb, Ra, Rb])
    zf, Rf, first = fuse_same_frame(z, R, np.array([1, 2, 3, 1]), 16.0)
    # reports 0, 1 and 3 are one aircraft but 0 and 3 come from drone 1: that group stays unmerged
    assert zf.shape[0] == 4 and first.tolist() == [0, 1, 2, 3]
    zf, Rf, first = fuse_same_frame(z[:3], R[:3], np.array([1, 2, 3]), 16.0)
    assert first.tolist() == [0, 2]
    info = np.linalg.inv(Ra) + np.linalg.inv(Rb)
    np.testing.assert_allclose(Rf[0], np.linalg.inv(info))
    np.testing.assert_allclose(zf[0], np.linalg.inv(info) @ (np.linalg.inv(Ra) @ z[0] + np.linalg.inv(Rb) @ z[1]))
    assert Rf[0][0, 0] < 5.0 and Rf[0][1, 1] < 5.0
    np.testing.assert_array_equal(zf[1], z[2])
