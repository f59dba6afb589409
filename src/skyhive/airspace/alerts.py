"""Alerts for a human operator: protected zones (prisms, time-to-zone prediction), zone approach and incursion
alerts on tracks, unknown aircraft near a manned aircraft; and their evaluation against the truth (latency, false
alerts per hour).  Alerting only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray

from skyhive.airspace.config import ProtectedZone
from skyhive.airspace.cooperative import adsb_positions
from skyhive.airspace.sensors import KIND_INTRUDER, LABEL_SCALE

if TYPE_CHECKING:
    from skyhive.airspace.picture import AirspacePicture
    from skyhive.geo.frames import LocalFrame

F64 = NDArray[np.float64]

TTZ_STEP_S = 0.25  # time-to-zone resolution


@dataclass
class Alert:
    """One alert for the operator: raised once per (track, zone, kind family), updated while it lasts."""

    alert_id: int
    kind: str  # "approach", "incursion", "near_manned"
    track_id: int
    target: str  # zone name or manned aircraft
    severity: str
    first_t: float
    last_t: float
    time_to_zone_s: float | None = None
    label: str = "unknown"
    identity: str = ""
    acknowledged: bool = False
    active: bool = True
    history: list[tuple[float, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the run summary (the structured form goes to the MCAP log)."""
        ttz = "" if self.time_to_zone_s is None else f", time to zone {self.time_to_zone_s:.1f} s"
        who = f"{self.label} {self.identity}".strip()
        return (f"#{self.alert_id} {self.severity} {self.kind} {self.target}: track {self.track_id} ({who}), "
                f"first {self.first_t:.1f} s{ttz}, {'acknowledged' if self.acknowledged else 'not acknowledged'}")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.alert_id, "kind": self.kind, "track": self.track_id, "target": self.target,
                "severity": self.severity, "first_t": round(self.first_t, 3), "last_t": round(self.last_t, 3),
                "time_to_zone_s": None if self.time_to_zone_s is None else round(self.time_to_zone_s, 2),
                "label": self.label, "identity": self.identity, "acknowledged": self.acknowledged,
                "active": self.active}


class Zones:
    """Protected prisms in local ENU: shapely polygons plus floor/ceiling, and a time-to-zone predictor."""

    def __init__(self, cfgs: list[ProtectedZone], frame: LocalFrame) -> None:
        from skyhive.geo.fences import polygon_from_geojson

        self.cfgs = cfgs
        self.polys = []
        for z in cfgs:
            ll = polygon_from_geojson(z.polygon)
            lon, lat = np.asarray(ll.exterior.coords).T
            enu = frame.local(lat, lon, 0.0)
            self.polys.append(shapely.Polygon(enu[:, :2]))
        for p in self.polys:
            shapely.prepare(p)
        self.centroids = {z.name: np.array([p.centroid.x, p.centroid.y, 0.0]) for z, p in zip(cfgs, self.polys,
                                                                                             strict=True)}

    def inside(self, k: int, p: F64) -> NDArray[np.bool_]:
        z = self.cfgs[k]
        return np.asarray(shapely.contains_xy(self.polys[k], p[:, 0], p[:, 1]), bool) & (p[:, 2] >= z.floor_m) & (
            p[:, 2] <= z.ceiling_m)

    def time_to_zone(self, k: int, p: F64, v: F64) -> F64:
        """Seconds until straight-line flight enters zone ``k`` (0 inside, inf beyond its warn time)."""
        horizon = self.cfgs[k].warn_time_s
        steps = np.arange(0.0, horizon + TTZ_STEP_S / 2, TTZ_STEP_S)
        if p.shape[0] == 0:
            return np.zeros(0)
        q = p[:, None, :] + steps[None, :, None] * v[:, None, :]
        ins = self.inside(k, q.reshape(-1, 3)).reshape(p.shape[0], steps.size)
        first = np.where(ins.any(axis=1), ins.argmax(axis=1), -1)
        return np.where(first >= 0, steps[np.maximum(first, 0)], np.inf)


def raise_alert(pic: AirspacePicture, t: float, kind: str, tid: int, target: str, severity: str,
                ttz: float | None) -> None:
    """Raise an alert once per (track, target, kind family); update it while it lasts, escalate to incursion."""
    family = "zone" if kind in ("approach", "incursion") else kind
    key = (tid, target, family)
    a = pic.alert_index.get(key)
    label = pic.track_label.get(tid, "unknown")
    if a is None:
        a = Alert(len(pic.alerts) + 1, kind, tid, target, severity, t, t, ttz, label,
                  pic.track_identity.get(tid, ""))
        a.history.append((t, kind))
        pic.alerts.append(a)
        pic.alert_index[key] = a
        pic.new_alerts.append(a)
        what = f"time to zone {ttz:.1f} s" if ttz is not None and ttz > 0 else "inside"
        if kind == "near_manned":
            what = "near manned aircraft"
        pic.log.add(t, "warning" if severity != "critical" else "error", "airspace",
                        f"ALERT {a.alert_id} {severity} {kind}: track {tid} ({label}) {target}: {what}")
        return
    a.last_t = t
    a.active = True
    if kind != a.kind and kind == "incursion":
        a.kind, a.severity = kind, severity
        a.history.append((t, kind))
        a.acknowledged = False  # an escalation needs a fresh acknowledgement
        pic.log.add(t, "error" if severity == "critical" else "warning", "airspace",
                        f"ALERT {a.alert_id} {severity} incursion: track {tid} ({label}) {target}: inside")


def update_alerts(pic: AirspacePicture, t: float) -> None:
    """Zone approach / incursion alerts on watched confirmed tracks, and unknown aircraft near a manned one."""
    tr = pic.tracker
    conf = np.flatnonzero(tr.confirmed())
    for a in pic.alerts:
        a.active = False
    if conf.size == 0:
        return
    x = pic.track_state(t)[conf]
    ids = tr.ids[conf].tolist()
    labels = [pic.track_label.get(i, "unknown") for i in ids]
    # zones guard against drones: the swarm's own drones and ADS-B-identified manned aircraft (the traffic the
    # zone protects) are never alerted on
    watch = np.array([lb not in ("swarm", "manned") for lb in labels])
    for k, z in enumerate(pic.zones.cfgs):
        rows = np.flatnonzero(watch)
        ttz = pic.zones.time_to_zone(k, x[rows, :3], x[rows, 3:])
        for r, tt in zip(rows.tolist(), ttz.tolist(), strict=True):
            if not math.isfinite(tt):
                continue
            coop = labels[r] == "cooperative"
            if tt == 0.0:
                raise_alert(pic, t, "incursion", ids[r], z.name, "high" if coop else "critical", 0.0)
            else:
                sev = "medium" if coop else ("high" if tt < z.warn_time_s / 2 else "medium")
                raise_alert(pic, t, "approach", ids[r], z.name, sev, tt)
    # unknown aircraft near a manned aircraft (by ADS-B; 2x the well-clear volume)
    wc = pic.well_clear
    reps, enu = adsb_positions(pic)
    unk = np.flatnonzero(np.array([lb == "unknown" for lb in labels]))
    if reps and unk.size:
        dh = np.linalg.norm(x[unk, None, :2] - enu[None, :, :2], axis=2)
        dv = np.abs(x[unk, None, 2] - enu[None, :, 2])
        near = (dh < 2 * wc.horizontal_m) & (dv < 2 * wc.vertical_m)
        for a_i, m_i in zip(*np.nonzero(near), strict=True):
            rep = reps[int(m_i)]
            raise_alert(pic, t, "near_manned", ids[int(unk[a_i])], rep.callsign or rep.icao, "high", None)


def record_alert_truth(pic: AirspacePicture, t: float) -> None:
    """When each alert condition truly began (evaluation only; every tick, vectorized over intruders): an
    approach when the intruder's true straight-line time-to-zone first comes within the warning time, an
    incursion when it is first inside the zone."""
    it = pic.intruders
    act = np.flatnonzero(it.active)
    if act.size == 0:
        return
    for k, z in enumerate(pic.zones.cfgs):
        inside = pic.zones.inside(k, it.pos[act])
        for i in act[inside].tolist():
            pic.truth_first_inside.setdefault((i, z.name), t)
        todo = np.array([(i, z.name) not in pic.truth_first_due for i in act.tolist()], bool)
        if not todo.any():
            continue
        tt = pic.zones.time_to_zone(k, it.pos[act[todo]], it.vel[act[todo]])
        for i in act[todo][np.isfinite(tt)].tolist():
            pic.truth_first_due.setdefault((i, z.name), t)


def alert_scores(alerts: list[Alert], track_truth: dict[int, int], due: dict[tuple[int, str], float],
                 entered: dict[tuple[int, str], float], duration_s: float) -> dict[str, object]:
    """Alert latency and false alerts per hour (evaluation; docs/airspace.md, "Output").

    * latency of a zone alert on intruder ``i`` and zone ``z``: the first alert time of any track whose truth is
      ``i`` minus the time the condition truly began: ``approach`` against ``due[(i, z)]`` (the true straight-line
      time-to-zone first within the warning time; negative when the track predicted it earlier) and
      ``incursion`` (the first escalation to incursion) against ``entered[(i, z)]`` (the true entry);
    * a false alert: an alert of any kind on a track whose truth is not an intruder (clutter, one of the swarm's
      own drones, a manned aircraft); per hour of simulated time.
    """
    latency: dict[str, list[float]] = {"approach": [], "incursion": []}
    for kind, truth_t in (("approach", due), ("incursion", entered)):
        for (i, zone), t0 in truth_t.items():
            mine = [a for a in alerts if a.target == zone
                    and track_truth.get(a.track_id, -1) == KIND_INTRUDER * LABEL_SCALE + i]
            if kind == "approach":
                first = [a.first_t for a in mine]
            else:
                first = [t for a in mine for t, k in a.history if k == "incursion"]
            if first:
                latency[kind].append(min(first) - t0)
    false = [a for a in alerts if track_truth.get(a.track_id, -1) // LABEL_SCALE != KIND_INTRUDER]
    hours = max(duration_s, 1e-9) / 3600.0
    missed = sum(1 for key in entered if not any(
        a.target == key[1] and track_truth.get(a.track_id, -1) == KIND_INTRUDER * LABEL_SCALE + key[0]
        for a in alerts))

    def mean(v: list[float]) -> float | None:
        return round(float(np.mean(v)), 2) if v else None

    return {
        "alerts_false": len(false),
        "false_alerts_per_hour": round(len(false) / hours, 2),
        "alert_latency_s": {k: mean(v) for k, v in latency.items()},
        "alert_latency_mean_s": mean(latency["approach"]),  # first alert vs the first true condition
        "incursions_true": len(entered),
        "incursions_missed": missed,
    }
