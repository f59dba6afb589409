"""The airspace picture in a simulation: identification, spoof flag, alerts, swarm never alerted, bad input."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from skyhive.airspace import remoteid
from skyhive.airspace.cooperative import SPOOF_AFTER_S, receive_remote_id
from skyhive.airspace.picture import AirspacePicture
from skyhive.airspace.sensors import KIND_INTRUDER, LABEL_SCALE
from skyhive.scenario.load import ScenarioError, scenario_from_dict
from skyhive.sim import Simulation
from tests.airspace.scenarios import watch_scenario
from tests.conftest import ll, run_cli


@pytest.fixture(scope="module")
def watched() -> Simulation:
    sim = Simulation(scenario_from_dict(watch_scenario()))
    sim.run()
    return sim


def pic_of(sim: Simulation) -> AirspacePicture:
    pic = sim.airspace
    assert isinstance(pic, AirspacePicture)
    return pic


def test_incursion_raises_one_alert_with_right_time_to_zone(watched: Simulation) -> None:
    pic = pic_of(watched)
    zone_alerts = [a for a in pic.alerts if a.target == "runway"]
    assert len(zone_alerts) == 1, [a.to_json() for a in pic.alerts]
    a = zone_alerts[0]
    assert pic.track_truth[a.track_id] == KIND_INTRUDER * LABEL_SCALE + 0  # the approaching intruder
    assert a.kind == "incursion" and [k for _, k in a.history] == ["approach", "incursion"]
    # truth: starts at x=200 at 10 m/s towards the zone edge at x=1000 -> enters at t=80 s
    expected_ttz = 80.0 - a.first_t
    assert a.time_to_zone_s == pytest.approx(expected_ttz, abs=2.0)
    assert a.time_to_zone_s is not None and a.time_to_zone_s <= 60.0  # raised inside the zone's warning time
    assert 15.0 <= a.first_t <= 25.0  # due at 20 s (60 s before entry)
    entered = next(t for t, k in a.history if k == "incursion")
    assert 79.0 <= entered <= 83.0
    assert watched.metrics["alerts_false"] == 0


def test_swarm_drones_are_never_alerted_on(watched: Simulation) -> None:
    pic = pic_of(watched)
    # the survey fleet flies through the protected zone; its tracks are identified by telemetry, never alerted
    assert sum(1 for lb in pic.track_label.values() if lb == "swarm") == 4
    swarm_tracks = {i for i, (_, lb, _) in pic.label_seen.items() if lb == "swarm"}
    assert swarm_tracks and not any(a.track_id in swarm_tracks for a in pic.alerts)
    d = watched.world.drones
    assert np.all(d.pos[:, 1] > 0.0)  # they really flew into the zone (y from -600; the zone spans -200..200)


def test_cooperative_identified_and_spoof_flagged(watched: Simulation) -> None:
    m = watched.metrics
    assert m["cooperative_identified"] == ["COOP1"]
    assert m["remote_id_spoof_flags"] == ["FAKE1"]
    pic = pic_of(watched)
    liar = next(c for c in pic.claims.values() if c.uas_id == "FAKE1")
    assert liar.spoof_flagged_t is not None and liar.spoof_flagged_t <= SPOOF_AFTER_S + 3.0
    coop = next(c for c in pic.claims.values() if c.uas_id == "COOP1")
    assert coop.spoof_flagged_t is None and coop.operator_enu is not None
    # the cooperative track carries its ID; the liar's real track stays unknown
    labels = {pic.track_identity.get(i, ""): lb for i, lb in pic.track_label.items()}
    assert labels.get("COOP1") == "cooperative"
    assert m["remote_id_frames_decoded"] > 0 and m["remote_id_frames_dropped"] == {}


def test_alert_acknowledgement(watched: Simulation) -> None:
    pic = pic_of(watched)
    a = pic.alerts[0]
    assert not a.acknowledged
    assert pic.acknowledge(a.alert_id) and a.acknowledged
    assert not pic.acknowledge(9999)


def test_malformed_remote_id_frames_are_counted_not_fatal() -> None:
    sc = watch_scenario(duration=5.0)
    sim = Simulation(scenario_from_dict(sc))
    pic = pic_of(sim)
    good = remoteid.encode(remoteid.BasicId("OK1"))
    for bad in (b"", good[:10], b"\xff" * 25, bytes([0x12]) + b"\x00" * 4 + (2_000_000_000).to_bytes(4, "little")
                + b"\x00" * 16):
        receive_remote_id(pic, 0.0, 42, bad)
    receive_remote_id(pic, 0.0, 42, good)
    sim.run()
    m = sim.metrics
    assert sum(m["remote_id_frames_dropped"].values()) == 4
    assert pic.claims[42].uas_id == "OK1"


def test_same_seed_same_picture() -> None:
    a = Simulation(scenario_from_dict(watch_scenario(duration=30.0)))
    b = Simulation(scenario_from_dict(watch_scenario(duration=30.0)))
    a.run()
    b.run()
    keys = ["radar_detections", "radar_false_alarms", "tracker", "alerts", "remote_id_frames_decoded"]
    assert json.dumps({k: a.metrics[k] for k in keys}) == json.dumps({k: b.metrics[k] for k in keys})
    assert np.array_equal(pic_of(a).tracker.x, pic_of(b).tracker.x)


def test_adsb_identifies_manned_aircraft_and_warns_of_unknown_nearby() -> None:
    sc = watch_scenario(duration=60.0)
    sc["sensors"].append({"type": "adsb", "name": "adsb1", "position": ll(0, 0, 2)})
    sc["manned"] = [{"name": "N123AB", "speed_mps": 50.0, "route": [ll(-2000, 300, 300), ll(2000, 300, 300)],
                     "loop": False}]
    sc["intruders"].append({"name": "near", "behaviour": "hover", "start": ll(-600, 300, 250)})
    sim = Simulation(scenario_from_dict(sc))
    sim.run()
    pic = pic_of(sim)
    m = sim.metrics
    assert m["adsb_frames_decoded"] > 50 and m["adsb_frames_dropped"] == {}
    manned = [i for i, lb in pic.track_label.items() if lb == "manned"]
    assert manned and pic.track_identity[manned[0]] == "N123AB"
    near = [a for a in pic.alerts if a.kind == "near_manned"]
    assert near and all(pic.track_label.get(a.track_id, "unknown") != "manned" for a in near)
    assert {pic.track_truth[a.track_id] for a in near} == {KIND_INTRUDER * LABEL_SCALE + 3}


def _problems(sc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(sc)
    return [f"{p.path}: {p.message}" for p in exc.value.problems]


def test_impossible_sensor_parameters_are_scenario_errors() -> None:
    sc = watch_scenario()
    sc["sensors"][0].update({"range_m": -5.0, "min_elevation_deg": 30.0, "max_elevation_deg": 10.0})
    sc["sensors"].append({"type": "sonar", "name": "x", "position": ll(0, 0)})
    sc["intruders"][0]["zone"] = "nowhere"
    sc["protected_zones"][0]["ceiling_m"] = -10.0
    text = "\n".join(_problems(sc))
    assert "sensors.0" in text and "range_m" in text
    assert "sensors.2" in text
    assert "intruders.0.zone" in text and "nowhere" in text
    assert "protected_zones.0" in text


def test_validate_cli_reports_airspace_errors(tmp_path: Path) -> None:
    sc = copy.deepcopy(watch_scenario())
    sc["sensors"][0]["pd_ref"] = 1.5
    sc["intruders"][1]["name"] = "bandit"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(sc))
    res = run_cli("validate", str(path))
    assert res.returncode != 0
    assert "Traceback" not in res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "pd_ref" in out and "bandit" in out


def test_record_writes_tracks_and_alerts(tmp_path: Path) -> None:
    sc = watch_scenario(duration=40.0)
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(sc))
    mcap_path = tmp_path / "w.mcap"
    res = run_cli("run", str(path), "--record", str(mcap_path), "--summary", str(tmp_path / "s.json"),
                  "--no-progress")
    assert res.returncode == 0, res.stderr
    from mcap.reader import make_reader

    topics: dict[str, int] = {}
    alert_logs = 0
    with mcap_path.open("rb") as f:
        for _, channel, message in make_reader(f).iter_messages():
            topics[channel.topic] = topics.get(channel.topic, 0) + 1
            if channel.topic == "/events" and b"ALERT" in message.data:
                alert_logs += 1
    assert topics.get("/airspace/tracks", 0) >= 30 and topics.get("/airspace/alerts", 0) >= 30
    assert alert_logs == 1
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["alerts_total"] == 1 and math.isfinite(summary["airspace_gospa_mean"])


def test_alert_latency_and_false_alerts_on_known_incursion(watched: Simulation) -> None:
    """The bandit flies from x=200 at 10 m/s into the zone (edge x=1000): the approach condition truly begins at
    20 s (60 s warning) and the incursion at 80 s; no other aircraft should raise an alert."""
    pic, m = pic_of(watched), watched.metrics
    assert pic.truth_first_due[(0, "runway")] == pytest.approx(20.0, abs=0.15)
    assert pic.truth_first_inside[(0, "runway")] == pytest.approx(80.0, abs=0.15)
    lat = m["alert_latency_s"]
    assert isinstance(lat, dict)
    a = next(a for a in pic.alerts if a.target == "runway")
    assert lat["approach"] == pytest.approx(a.first_t - 20.0, abs=0.15)
    entered = next(t for t, k in a.history if k == "incursion")
    assert lat["incursion"] == pytest.approx(entered - 80.0, abs=0.15)
    assert -5.0 <= lat["approach"] <= 5.0 and -1.0 <= lat["incursion"] <= 3.0
    assert m["alert_latency_mean_s"] == lat["approach"]
    assert m["false_alerts_per_hour"] == 0.0 and m["incursions_true"] == 1 and m["incursions_missed"] == 0


def test_alert_scores_arithmetic() -> None:
    """Known alerts: latency per kind against the true start, false alerts (clutter, swarm, manned) per hour,
    and a missed incursion."""
    from skyhive.airspace.alerts import Alert, alert_scores
    from skyhive.airspace.sensors import KIND_MANNED, KIND_SWARM

    intr = KIND_INTRUDER * LABEL_SCALE
    a1 = Alert(1, "incursion", 10, "z", "critical", 32.0, 90.0, 40.0, history=[(32.0, "approach"), (71.5, "incursion")])
    a2 = Alert(2, "approach", 11, "z", "medium", 30.0, 31.0, 50.0, history=[(30.0, "approach")])  # same intruder
    false = [Alert(3 + k, "approach", 20 + k, "z", "medium", 5.0, 6.0, 9.0) for k in range(3)]
    nm = Alert(6, "near_manned", 10, "SWR1", "high", 50.0, 51.0)  # on the intruder: not false
    truth = {10: intr + 0, 11: intr + 0, 20: -1, 21: KIND_SWARM * LABEL_SCALE + 3, 22: KIND_MANNED * LABEL_SCALE}
    out = alert_scores([a1, a2, *false, nm], truth, {(0, "z"): 25.0, (1, "z"): 60.0},
                       {(0, "z"): 70.0, (1, "z"): 95.0}, 1800.0)
    assert out["alert_latency_s"] == {"approach": 5.0, "incursion": 1.5}
    assert out["alerts_false"] == 3 and out["false_alerts_per_hour"] == 6.0
    assert out["incursions_true"] == 2 and out["incursions_missed"] == 1
