"""The airspace picture in the simulation: intruders move, sensors observe, the tracker fuses, tracks are
identified and alerts raised for a human operator.  Detection, tracking, identification and alerting only.

Three systems share one :class:`~skyhive.airspace.picture.AirspacePicture`:

* ``airspace_traffic`` (MOVE): moves the intruders (vectorized over intruders);
* ``airspace_sense`` (SENSE): radar scans (Swerling-1 Pd by range and RCS, polar noise, clutter), RF direction
  finders (bearings), Remote ID broadcasts as real F3411 frames through receivers with drop-outs and latency,
  ADS-B DF17 frames of manned aircraft through receivers (decoded with pyModeS);
* ``airspace_track`` (TRACK): runs the tracker on the scans in time order, identifies confirmed tracks (the
  swarm's own drones by their telemetry, manned aircraft by ADS-B, cooperative drones by Remote ID), flags a
  Remote ID claim that no radar track confirms while the radar covers it (possible spoof), and raises alerts
  (zone incursion, predicted time-to-zone, unknown aircraft near a manned aircraft).

A fourth, ``airspace_cameras`` (DECIDE), takes the onboard-camera frames of the swarm's drones and sends the
detections to a ground station over the mesh (``skyhive.airspace.camera``); the tracker fuses only what arrived.

Out-of-sequence policy: with cameras, every measurement (radar, bearings, camera frames) waits in a fixed-lag
buffer and is fused in time order once ``now >= t_obs + fusion_delay_s``; a camera report that reaches the ground
after its frame was fused is dropped and counted (``camera_reports_late``).  Without cameras the lag is 0.

The parts live by concern: ``intruders`` (truth motion), ``sensors`` (radar, direction finders), ``cooperative``
(Remote ID / ADS-B on the air and track identification), ``alerts`` (zones, alerts, their evaluation), ``picture``
(the shared state); this module holds the systems and the builder.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from skyhive.airspace.alerts import alert_scores, record_alert_truth, update_alerts
from skyhive.airspace.camera import MANNED_SIZE_M
from skyhive.airspace.cooperative import broadcast_adsb, broadcast_remote_id, identify_tracks
from skyhive.airspace.evaluate import gospa
from skyhive.airspace.picture import AirspacePicture
from skyhive.airspace.sensors import KIND_INTRUDER, KIND_MANNED, KIND_SWARM, LABEL_SCALE, Objects
from skyhive.airspace.tracker import BearingScan, Scan
from skyhive.record import scene
from skyhive.systems import BuildContext, Phase, TickContext

if TYPE_CHECKING:
    from skyhive.record.writer import McapRecorder


class IntruderTraffic:
    name = "airspace_traffic"
    phase = Phase.MOVE
    period = 0.0

    def __init__(self, pic: AirspacePicture) -> None:
        self.pic = pic

    def step(self, ctx: TickContext) -> None:
        self.pic.intruders.step(ctx.t, ctx.dt)

    def metrics(self) -> dict[str, object]:
        return {"airspace_intruders": self.pic.intruders.n}


class AirspaceSense:
    name = "airspace_sense"
    phase = Phase.SENSE
    period = 0.0

    def __init__(self, pic: AirspacePicture) -> None:
        self.pic = pic

    def step(self, ctx: TickContext) -> None:
        pic = self.pic
        rng = ctx.rng["airspace"]
        t = ctx.t
        obj: Objects | None = None
        for radar in pic.radars:
            if radar.rate.due(t):
                obj = obj if obj is not None else pic.objects()
                pic.pending_scans.append(radar.scan(t, obj, rng))
        it = pic.intruders
        for df in pic.dfs:
            if df.rate.due(t):
                pic.pending_scans.append(df.scan(t, it.pos[it.active & it.emitting], rng))
        broadcast_remote_id(pic, t, rng)
        broadcast_adsb(pic, t, rng)

    def metrics(self) -> dict[str, object]:
        pic = self.pic
        return {
            "radar_detections": sum(r.detections for r in pic.radars),
            "radar_false_alarms": sum(r.false_alarms for r in pic.radars),
            "df_bearings": sum(d.bearings for d in pic.dfs),
            "remote_id_frames_sent": pic.rid_frames_sent,
            "remote_id_frames_decoded": pic.rid_dec.decoded,
            "remote_id_frames_dropped": dict(pic.rid_dec.dropped),
            "adsb_frames_sent": pic.adsb_frames_sent,
            "adsb_frames_decoded": sum(d.decoded for d in pic.adsb_decs),
            "adsb_frames_dropped": dict(sum((Counter(d.dropped) for d in pic.adsb_decs), Counter())),
        }


class AirspaceCameras:
    """Onboard camera frames of the swarm's drones and their reports to the ground (phase DECIDE: after the
    drones' inboxes, before they move; the reports leave in this tick and arrive in a later one)."""

    name = "airspace_cameras"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, pic: AirspacePicture) -> None:
        self.pic = pic

    def step(self, ctx: TickContext) -> None:
        pic, t = self.pic, ctx.t
        due = [c for c in pic.cameras if c.rate.ready(t)]
        if not due:
            return
        w, it = ctx.world, pic.intruders
        act = np.flatnonzero(it.active)
        air = np.flatnonzero(w.manned.is_aircraft) if w.manned.m else np.zeros(0, np.int64)
        tpos = np.vstack([it.pos[act], np.asarray(w.manned.pos, float).reshape(-1, 3)[air]])
        tlabel = np.r_[KIND_INTRUDER * LABEL_SCALE + act, KIND_MANNED * LABEL_SCALE + air].astype(np.int64)
        pos, vel = np.asarray(w.drones.pos, float), np.asarray(w.drones.vel, float)
        flying = w.drones.flying
        rng = ctx.rng["airspace_camera"]
        for cam in due:
            cam.rate.due(t)
            tsize = np.r_[np.full(act.size, cam.cfg.target_size_m), np.full(air.size, MANNED_SIZE_M)]
            cam.frame(t, pos, vel, flying, ctx.index, tpos, tsize, tlabel, rng)

    def metrics(self) -> dict[str, object]:
        cams = self.pic.cameras
        received = sum(c.received for c in cams)
        return {
            "camera_frames": sum(c.frames for c in cams),
            "camera_detections": sum(c.detections for c in cams),
            "camera_reports_received": received,
            "camera_reports_late": sum(c.late for c in cams),
            "camera_reports_fused": self.pic.camera_fused,
            "camera_reports_merged": sum(c.fused_groups for c in cams),
            "camera_report_age_mean_s": round(sum(c.age_sum for c in cams) / received, 3) if received else None,
        }


class AirspaceTrack:
    name = "airspace_track"
    phase = Phase.TRACK
    period = 0.0

    def __init__(self, pic: AirspacePicture) -> None:
        self.pic = pic

    def step(self, ctx: TickContext) -> None:
        pic = self.pic
        record_alert_truth(pic, ctx.t)
        due = self._due(ctx)
        if not due:
            return
        tr = pic.tracker
        for scan in due:
            if isinstance(scan, BearingScan):
                tr.process_bearings(scan)
                continue
            res = tr.process(scan)
            pic.scan_count += 1
            if scan.covers is not None:  # a camera scan: reports that updated (or started) a track
                pic.camera_fused += int((res.det_track >= 0).sum())
            if scan.truth is not None:  # evaluation bookkeeping: the last truth behind each non-swarm track
                keep = (res.det_track >= 0) & (scan.truth // LABEL_SCALE != KIND_SWARM)
                for tid, lab in zip(res.det_track[keep].tolist(), scan.truth[keep].tolist(), strict=True):
                    pic.track_truth[tid] = lab
                clutter = (res.det_track >= 0) & (scan.truth < 0)
                for tid in res.det_track[clutter].tolist():
                    pic.track_truth.setdefault(tid, -1)
        identify_tracks(pic, ctx)
        update_alerts(pic, ctx.t)
        self._score(ctx)

    def _due(self, ctx: TickContext) -> list[Scan | BearingScan]:
        """The scans to fuse now, in time order: everything observed at least ``fusion_lag`` ago (the
        out-of-sequence policy; see the module docstring).  Camera reports join their frame until it is due."""
        pic = self.pic
        until = ctx.t - pic.fusion_lag + 1e-9
        own = np.asarray(ctx.world.drones.pos, float)[ctx.world.drones.flying]
        for k, cam in enumerate(pic.cameras):
            t, rows, _ = cam.received_reports(ctx.t, pic.fused_until)
            for ft in np.unique(t).tolist():
                pic.camera_frames.setdefault((k, ft), []).append(rows[t == ft])
        for key in sorted(key for key in pic.camera_frames if key[1] <= until):
            pic.pending_scans.append(pic.cameras[key[0]].scan(key[1], np.vstack(pic.camera_frames.pop(key)), own))
        due = sorted((s for s in pic.pending_scans if s.t <= until), key=lambda s: s.t)
        pic.pending_scans = [s for s in pic.pending_scans if s.t > until]
        pic.fused_until = max(pic.fused_until, until)
        return due

    # -- evaluation ----------------------------------------------------------------------------------------------
    def _score(self, ctx: TickContext) -> None:
        """GOSPA of the non-swarm picture (intruders and manned aircraft inside radar cover) after each scan."""
        pic, tr = self.pic, self.pic.tracker
        if not pic.radars:
            return
        obj = pic.objects()
        keep = obj.label // LABEL_SCALE != KIND_SWARM
        truth = obj.pos[keep]
        cov = np.zeros(truth.shape[0], bool)
        for r in pic.radars:
            cov |= r.covers(truth)
        conf = np.flatnonzero(tr.confirmed())
        est = pic.track_state(ctx.t)[conf, :3]
        own = np.array([pic.track_label.get(int(i)) == "swarm" for i in tr.ids[conf]], bool)
        pic.gospa.append(gospa(truth[cov], est[~own] if own.size else est).total)

    def metrics(self) -> dict[str, object]:
        pic = self.pic
        scores = alert_scores(pic.alerts, pic.track_truth, pic.truth_first_due, pic.truth_first_inside,
                              pic.world.t)
        claims = list(pic.claims.values())
        return {
            "tracker": dict(pic.tracker.stats),
            "tracks_confirmed_max": pic.max_confirmed,
            "tracks_confirmed_now": int(pic.tracker.confirmed().sum()),
            "tracks_by_label": dict(Counter(pic.track_label.values())),
            "airspace_gospa_mean": round(float(np.mean(pic.gospa)), 2) if pic.gospa else None,
            "cooperative_identified": sorted(pic.identified),
            "remote_id_spoof_flags": sorted(c.uas_id or "?" for c in claims if c.spoof_flagged_t is not None),
            "alerts_total": len(pic.alerts),
            "alerts_by_kind": dict(Counter(a.kind for a in pic.alerts)),
            **scores,
            "alerts": [a.summary() for a in pic.alerts[:50]],
        }

    def record_frame(self, mcap: McapRecorder, t: float) -> None:
        """Tracks on the map (GeoJSON points) and the alert list; new alerts already went to /events."""
        pic, tr = self.pic, self.pic.tracker
        conf = np.flatnonzero(tr.confirmed())
        x = pic.track_state(t)[conf]
        feats: list[dict[str, Any]] = []
        if conf.size:
            lat, lon, _ = pic.frame.geodetic(x[:, :3])
            lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
            for k, tid in enumerate(tr.ids[conf].tolist()):
                lab = pic.track_label.get(tid, "unknown")
                feats.append({"type": "Feature", "geometry": {"type": "Point",
                                                              "coordinates": [float(lon[k]), float(lat[k])]},
                              "properties": {"track": tid, "label": lab, "identity": pic.track_identity.get(tid, ""),
                                             "alt_m": round(float(x[k, 2]), 1),
                                             "speed_mps": round(float(np.linalg.norm(x[k, 3:])), 1),
                                             "style": {"color": _LABEL_COLOURS[lab]}}})
        mcap.write_json("/airspace/tracks", t, scene.geojson(feats), schema_name="foxglove.GeoJSON")
        mcap.write_json("/airspace/alerts", t, {"alerts": [a.to_json() for a in pic.alerts if a.active]},
                        schema_name="skyhive.AirspaceAlerts", schema={"type": "object"})


_LABEL_COLOURS = {"unknown": "#e03131", "swarm": "#1c7ed6", "manned": "#f08c00", "cooperative": "#2f9e44"}


def build(ctx: BuildContext) -> list[Any]:
    """The airspace systems, or nothing when the scenario has no airspace sections; publishes the picture as the
    ``airspace`` port (``Simulation.airspace``, for tests and tools)."""
    sc = ctx.scenario
    if not (sc.intruders or sc.sensors or sc.protected_zones):
        return []
    pic = AirspacePicture(ctx)
    ctx.ports.airspace = pic
    systems: list[Any] = [AirspaceSense(pic), AirspaceTrack(pic), IntruderTraffic(pic)]
    if pic.cameras:
        systems.append(AirspaceCameras(pic))
    return systems

