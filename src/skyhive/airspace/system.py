"""The airspace picture in the simulation: intruders move, sensors observe, the tracker fuses, tracks are
identified and alerts raised for a human operator.  Detection, tracking, identification and alerting only.

Three systems share one :class:`AirspacePicture`:

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
"""

from __future__ import annotations

import heapq
import json
import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from skyhive.airspace import adsb, remoteid
from skyhive.airspace.camera import MANNED_SIZE_M, CameraModel
from skyhive.airspace.config import (
    AdsbReceiver,
    Camera,
    Intruder,
    ProtectedZone,
    Radar,
    RemoteIdReceiver,
    RfDirectionFinder,
)
from skyhive.airspace.evaluate import gospa
from skyhive.airspace.identity import AircraftBook
from skyhive.airspace.ledger import IntruderLedger
from skyhive.airspace.rid_tracks import remote_id_scan
from skyhive.airspace.tracker import BearingScan, Scan, Tracker, TrackerConfig, polar_to_cartesian
from skyhive.systems import Phase, TickContext

if TYPE_CHECKING:
    from skyhive.geo.frames import LocalFrame
    from skyhive.record.writer import McapRecorder
    from skyhive.sim import Simulation

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# truth labels of radar detections (evaluation only; the tracker never reads them)
KIND_SWARM, KIND_MANNED, KIND_INTRUDER = 0, 1, 2
LABEL_SCALE = 10_000_000
SWARM_RCS_M2 = 0.02  # the swarm's own multirotors (~1.5 kg)
MANNED_RCS_M2 = 10.0
SWARM_MATCH_M = 50.0  # a track within this of an own drone's telemetry is that drone (radar elevation noise)
SWARM_MATCH_DV = 5.0  # m/s: and its velocity within this (plus 3 sigma of the track's velocity)
LABEL_HOLD_S = 10.0  # an identity stays on a track this long after its last match
RID_MATCH_M = 60.0  # Remote ID claim <-> track association distance
RID_SIGMA_M = (10.0, 10.0, 15.0)  # Remote ID position accuracy fed to the tracker (ASTM F3411 "< 10 m" class)
ADSB_MATCH_M = 250.0
SPOOF_AFTER_S = 4.0  # a claim unconfirmed by radar this long (while covered) is flagged
TTZ_STEP_S = 0.25  # time-to-zone resolution
LABELS = ("unknown", "swarm", "manned", "cooperative")


# -- intruders ---------------------------------------------------------------------------------------------------
class Intruders:
    """Intruder state as arrays; each behaviour is a masked array update."""

    def __init__(self, cfgs: list[Intruder], frame: LocalFrame, zone_centroids: dict[str, F64]) -> None:
        n = len(cfgs)
        self.names = [c.name for c in cfgs]
        self.n = n
        self.cfgs = cfgs

        def loc(p: Any) -> F64:
            return np.asarray(frame.local(p.lat, p.lon, p.alt_m), float).reshape(3)

        start = np.array([loc(c.start) for c in cfgs]).reshape(n, 3)
        self.kind = np.array([("transit", "loiter", "approach", "hover").index(c.behaviour) for c in cfgs], np.int64)
        self.speed = np.array([c.speed_mps for c in cfgs], float)
        self.appear = np.array([c.appear_s for c in cfgs], float)
        self.rcs = np.array([c.rcs_m2 for c in cfgs], float)
        self.emitting = np.array([c.emitting for c in cfgs], bool)
        self.radius = np.array([c.loiter_radius_m for c in cfgs], float)
        self.centre = start.copy()
        self.theta = np.zeros(n)
        self.pos = start.copy()
        self.pos[self.kind == 1] += np.c_[np.zeros(n), self.radius, np.zeros(n)][self.kind == 1]
        self.vel = np.zeros((n, 3))
        wps: list[F64] = []
        self.wp_start = np.zeros(n, np.int64)
        self.wp_end = np.zeros(n, np.int64)
        for k, c in enumerate(cfgs):
            self.wp_start[k] = sum(len(w) for w in wps)
            if c.behaviour == "transit":
                wps.append(np.array([loc(p) for p in c.waypoints]))
            elif c.behaviour == "approach" and c.zone is not None:
                z = zone_centroids[c.zone]
                wps.append(np.array([[z[0], z[1], start[k, 2]]]))
            else:
                wps.append(start[k:k + 1])
            self.wp_end[k] = self.wp_start[k] + len(wps[-1])
        self.wp = np.vstack(wps) if wps else np.zeros((0, 3))
        self.wp_idx = self.wp_start.copy()
        self.active = self.appear <= 0.0

    def step(self, t: float, dt: float) -> None:
        self.active = t >= self.appear
        a = self.active
        # transit / approach: fly to the current waypoint, then the next; hover at the last one
        go = a & ((self.kind == 0) | (self.kind == 2))
        tgt = self.wp[np.minimum(self.wp_idx, self.wp_end - 1)] if self.n else np.zeros((0, 3))
        d = tgt - self.pos
        dist = np.linalg.norm(d, axis=1)
        step = self.speed * dt
        arrive = go & (dist <= step)
        vel = np.where(go[:, None], d / np.maximum(dist, 1e-9)[:, None] * self.speed[:, None], 0.0)
        vel[arrive] = d[arrive] / dt
        last = self.wp_idx >= self.wp_end - 1
        self.wp_idx = np.where(arrive & ~last, self.wp_idx + 1, self.wp_idx)
        # loiter: a circle around the start at constant speed
        lo = a & (self.kind == 1)
        w = self.speed / self.radius
        theta = np.where(lo, self.theta + w * dt, self.theta)
        new_circle = self.centre + self.radius[:, None] * np.c_[np.sin(theta), np.cos(theta), np.zeros(self.n)]
        vel[lo] = (new_circle[lo] - self.pos[lo]) / dt
        self.theta = theta
        vel[~a] = 0.0
        self.vel = vel
        self.pos = self.pos + vel * dt


# -- sensors -----------------------------------------------------------------------------------------------------
@dataclass
class Objects:
    """Everything in the air a sensor could see this tick (truth; sensors add their own errors)."""

    pos: F64
    vel: F64
    rcs: F64
    label: I64  # kind * LABEL_SCALE + index


def _enu(frame: LocalFrame, p: Any) -> F64:
    return np.asarray(frame.local(p.lat, p.lon, p.alt_m), float).reshape(3)


class RadarModel:
    def __init__(self, cfg: Radar, frame: LocalFrame) -> None:
        self.cfg = cfg
        self.pos = _enu(frame, cfg.position)
        self.snr_ref = math.log(cfg.pfa) / math.log(cfg.pd_ref) - 1.0
        c = cfg
        self.volume = (2 * math.pi / 3) * (c.range_m**3 - c.min_range_m**3) * (
            math.sin(math.radians(c.max_elevation_deg)) - math.sin(math.radians(c.min_elevation_deg)))
        self.next_t = 0.0
        self.detections = 0
        self.false_alarms = 0

    def pd(self, r: F64, rcs: F64) -> F64:
        """Swerling 1: Pd = Pfa^(1/(1+SNR)), SNR falling as rcs / r^4."""
        snr = self.snr_ref * (rcs / self.cfg.ref_rcs_m2) * (self.cfg.ref_range_m / np.maximum(r, 1.0)) ** 4
        return np.asarray(self.cfg.pfa ** (1.0 / (1.0 + snr)), float)

    def covers(self, p: F64) -> NDArray[np.bool_]:
        d = p - self.pos
        r = np.linalg.norm(d, axis=1)
        el = np.degrees(np.arcsin(np.clip(d[:, 2] / np.maximum(r, 1e-9), -1, 1)))
        c = self.cfg
        return (r <= c.range_m) & (r >= c.min_range_m) & (el >= c.min_elevation_deg) & (el <= c.max_elevation_deg)

    def scan(self, t: float, obj: Objects, rng: np.random.Generator) -> Scan:
        c = self.cfg
        d = obj.pos - self.pos
        r = np.linalg.norm(d, axis=1)
        seen = self.covers(obj.pos)
        seen &= rng.random(r.size) < self.pd(r, obj.rcs)
        idx = np.flatnonzero(seen)
        az = np.degrees(np.arctan2(d[idx, 0], d[idx, 1]))
        el = np.degrees(np.arcsin(d[idx, 2] / np.maximum(r[idx], 1e-9)))
        rr = r[idx] + rng.normal(0, c.sigma_range_m, idx.size)
        az = az + rng.normal(0, c.sigma_azimuth_deg, idx.size)
        el = el + rng.normal(0, c.sigma_elevation_deg, idx.size)
        nf = int(rng.poisson(c.false_alarms_per_scan))
        cr = np.cbrt(rng.uniform(c.min_range_m**3, c.range_m**3, nf))
        s0, s1 = math.sin(math.radians(c.min_elevation_deg)), math.sin(math.radians(c.max_elevation_deg))
        cel = np.degrees(np.arcsin(rng.uniform(s0, s1, nf)))
        caz = rng.uniform(-180.0, 180.0, nf)
        z, R = polar_to_cartesian(self.pos, np.r_[rr, cr], np.r_[az, caz], np.r_[el, cel], c.sigma_range_m,
                                  c.sigma_azimuth_deg, c.sigma_elevation_deg)
        self.detections += idx.size
        self.false_alarms += nf
        truth = np.r_[obj.label[idx], np.full(nf, -1, np.int64)]
        return Scan(t=t, z=z, R=R, sensor=c.name, coverage=(self.pos, c.range_m),
                    clutter_density=max(c.false_alarms_per_scan, 0.01) / self.volume, truth=truth)


class DfModel:
    def __init__(self, cfg: RfDirectionFinder, frame: LocalFrame) -> None:
        self.cfg = cfg
        self.pos = _enu(frame, cfg.position)
        self.next_t = 0.0
        self.bearings = 0

    def scan(self, t: float, pos: F64, rng: np.random.Generator) -> BearingScan:
        c = self.cfg
        d = pos - self.pos
        r = np.linalg.norm(d, axis=1)
        seen = (r <= c.range_m) & (rng.random(r.size) < c.pd)
        d = d[seen]
        az = np.degrees(np.arctan2(d[:, 0], d[:, 1])) + rng.normal(0, c.sigma_deg, d.shape[0])
        el = np.degrees(np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))) + rng.normal(0, c.sigma_deg, d.shape[0])
        self.bearings += d.shape[0]
        return BearingScan(t=t, sensor_pos=self.pos, az_deg=az, el_deg=el, sigma_deg=c.sigma_deg, sensor=c.name)


@dataclass
class RidClaim:
    """What the receivers have decoded about one broadcaster (keyed by its transport address)."""

    uas_id: str | None = None
    operator_id: str | None = None
    operator_enu: F64 | None = None
    pos: F64 | None = None
    vel: F64 | None = None
    t: float = -math.inf  # sim time the Location message was received
    mismatch_since: float | None = None
    spoof_flagged_t: float | None = None
    track_id: int = -1
    fix_stamp: float = -1.0  # timestamp of the last Location broadcast fed to the tracker


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
    aircraft_id: int = 0  # the aircraft (identity.AircraftBook) the alert is about; tracks of it share the alert
    tracks: list[int] = field(default_factory=list)
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


class AirspacePicture:
    """State shared by the three airspace systems."""

    def __init__(self, sim: Simulation) -> None:
        sc = sim.scenario
        self.sim = sim
        self.frame = sim.frame
        self.zones = Zones(list(sc.protected_zones), sim.frame)
        self.intruders = Intruders(list(sc.intruders), sim.frame, self.zones.centroids)
        self.radars = [RadarModel(s, sim.frame) for s in sc.sensors if isinstance(s, Radar)]
        self.dfs = [DfModel(s, sim.frame) for s in sc.sensors if isinstance(s, RfDirectionFinder)]
        self.rid_rx = [(s, _enu(sim.frame, s.position)) for s in sc.sensors if isinstance(s, RemoteIdReceiver)]
        self.adsb_rx = [(s, _enu(sim.frame, s.position)) for s in sc.sensors if isinstance(s, AdsbReceiver)]
        self.tracker = Tracker(TrackerConfig())
        self.pending_scans: list[Scan | BearingScan] = []
        # onboard cameras (reports over the mesh) and the fixed-lag fusion buffer
        self.cameras: list[CameraModel] = []
        cams = [s for s in sc.sensors if isinstance(s, Camera)]
        if cams:
            comms = next((s for s in sim.systems if s.name == "comms"), None)
            if comms is None:  # the scenario checks make this unreachable from a file
                raise ValueError("onboard cameras need the comms model (a ground station or a comms section)")
            self.cameras = [CameraModel(c, sim, comms) for c in cams]  # type: ignore[arg-type]
        self.fusion_lag = max((c.fusion_delay_s for c in cams), default=0.0)
        self.fused_until = -math.inf
        self.camera_frames: dict[tuple[int, float], list[F64]] = {}
        self.camera_fused = 0
        # Remote ID
        self.rid_dec = remoteid.RemoteIdDecoder()
        self.rid_queue: list[tuple[float, int, int, bytes]] = []  # (deliver_t, seq, address, frame)
        self.rid_seq = 0
        self.rid_next = np.zeros(self.intruders.n)
        self.rid_addr = np.array([zlib.crc32(n.encode()) & 0xFFFFFFFFFFFF for n in self.intruders.names], np.int64)
        self.claims: dict[int, RidClaim] = {}
        self.rid_frames_sent = 0
        # ADS-B
        self.adsb_decs = [adsb.AdsbDecoder(*self._latlon(pos)) for _, pos in self.adsb_rx]
        self.adsb_next = 0.0
        self.adsb_tick = 0
        self.adsb_frames_sent = 0
        m = sim.world.manned
        self.icao = [zlib.crc32(n.encode()) & 0xFFFFFF for n in m.names]
        # identification / alerts
        self.track_label: dict[int, str] = {}
        self.track_identity: dict[int, str] = {}
        self.track_truth: dict[int, int] = {}
        self.label_seen: dict[int, tuple[float, str, str]] = {}
        self.alerts: list[Alert] = []
        self.alert_index: dict[tuple[int, str, str], Alert] = {}
        self.new_alerts: list[Alert] = []
        self.gospa: list[float] = []
        self.max_confirmed = 0
        self.truth_first_due: dict[tuple[int, str], float] = {}  # (intruder, zone) -> true approach start
        self.truth_first_inside: dict[tuple[int, str], float] = {}  # (intruder, zone) -> true entry time
        self.identified: dict[str, float] = {}  # uas_id -> first time a track of that intruder carried it
        self.scan_count = 0
        self.aircraft = AircraftBook()  # track -> aircraft (re-born tracks keep their aircraft and alert)
        self.track_aircraft: dict[int, int] = {}
        self.ledger = IntruderLedger(self.intruders.names)  # evaluation: the per-intruder table
        self.unknown_tracks_max = 0
        self.unknown_aircraft_max = 0

    def track_state(self, t: float) -> F64:
        """Track states (T, 6) with positions extrapolated from the last fused measurement time to ``t`` (the
        fusion lag of the out-of-sequence buffer, see the module docstring)."""
        x = self.tracker.x
        dt = t - self.tracker.t if math.isfinite(self.tracker.t) else 0.0
        if dt > 0.0:
            x[:, :3] += x[:, 3:] * dt
        return x

    def acknowledge(self, alert_id: int) -> bool:
        """The operator has seen alert ``alert_id``; False if there is no such alert."""
        for a in self.alerts:
            if a.alert_id == alert_id:
                a.acknowledged = True
                return True
        return False

    def _latlon(self, enu: F64) -> tuple[float, float]:
        lat, lon, _ = self.frame.geodetic(enu)
        return float(lat), float(lon)

    def objects(self) -> Objects:
        """Swarm drones in the air, manned aircraft, active intruders (for the sensors)."""
        w = self.sim.world
        d = w.drones
        fly = np.flatnonzero(d.flying)
        m = w.manned
        air = np.flatnonzero(m.is_aircraft) if m.m else np.zeros(0, np.int64)
        it = self.intruders
        act = np.flatnonzero(it.active)
        pos = np.vstack([np.asarray(d.pos[fly], float), np.asarray(m.pos[air], float).reshape(-1, 3), it.pos[act]])
        vel = np.vstack([np.asarray(d.vel[fly], float), np.asarray(m.vel[air], float).reshape(-1, 3), it.vel[act]])
        rcs = np.r_[np.full(fly.size, SWARM_RCS_M2), np.full(air.size, MANNED_RCS_M2), it.rcs[act]]
        label = np.r_[KIND_SWARM * LABEL_SCALE + fly, KIND_MANNED * LABEL_SCALE + air,
                      KIND_INTRUDER * LABEL_SCALE + act].astype(np.int64)
        return Objects(pos, vel, rcs, label)


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
            if t + 1e-9 >= radar.next_t:
                radar.next_t += radar.cfg.scan_period_s
                obj = obj if obj is not None else pic.objects()
                pic.pending_scans.append(radar.scan(t, obj, rng))
        it = pic.intruders
        for df in pic.dfs:
            if t + 1e-9 >= df.next_t:
                df.next_t += df.cfg.period_s
                pic.pending_scans.append(df.scan(t, it.pos[it.active & it.emitting], rng))
        self._remote_id(t, rng)
        self._adsb(t, rng)

    def _remote_id(self, t: float, rng: np.random.Generator) -> None:
        pic, it = self.pic, self.pic.intruders
        if pic.rid_rx:
            for k in np.flatnonzero(it.active & (t + 1e-9 >= pic.rid_next)):
                cfg = it.cfgs[k].remote_id
                if cfg is None:
                    continue
                pic.rid_next[k] = t + 1.0 / cfg.rate_hz
                frames = self._rid_frames(int(k), t)
                for rx, rx_pos in pic.rid_rx:
                    if np.linalg.norm(it.pos[k] - rx_pos) > rx.range_m:
                        continue
                    for f in frames:
                        if rng.random() < rx.drop_prob:
                            continue
                        delay = rng.exponential(rx.latency_s) if rx.latency_s > 0 else 0.0
                        pic.rid_seq += 1
                        heapq.heappush(pic.rid_queue, (t + delay, pic.rid_seq, int(pic.rid_addr[k]), f))
        while pic.rid_queue and pic.rid_queue[0][0] <= t + 1e-9:
            when, _, addr, frame = heapq.heappop(pic.rid_queue)
            receive_remote_id(pic, when, addr, frame)

    def _rid_frames(self, k: int, t: float) -> list[bytes]:
        pic, it = self.pic, self.pic.intruders
        cfg = it.cfgs[k].remote_id
        assert cfg is not None
        claimed = it.pos[k] + np.asarray(cfg.claimed_offset_m)
        lat, lon = pic._latlon(claimed)
        v = it.vel[k]
        track = (math.degrees(math.atan2(v[0], v[1])) % 360.0) if np.hypot(v[0], v[1]) > 0.1 else 0.0
        loc = remoteid.Location(lat=lat, lon=lon, alt_geo_m=pic.frame.alt0 + float(claimed[2]),
                                height_m=float(claimed[2]), direction_deg=round(track) % 360,
                                speed_mps=float(min(np.hypot(v[0], v[1]), 254.0)),
                                vspeed_mps=float(np.clip(v[2], -62, 62)), status=2, timestamp_s=round(t % 3600.0, 1))
        frames = [remoteid.encode(loc)]
        n_sent = round(t * cfg.rate_hz)
        if n_sent % 3 == 0:  # the static messages at a third of the rate
            op = cfg.operator or it.cfgs[k].start
            frames.append(remoteid.encode(remoteid.BasicId(cfg.uas_id, 1, 2)))
            frames.append(remoteid.encode(remoteid.System(operator_lat=op.lat, operator_lon=op.lon,
                                                          operator_alt_m=pic.frame.alt0 + op.alt_m)))
            if cfg.operator_id:
                frames.append(remoteid.encode(remoteid.OperatorId(cfg.operator_id)))
        pic.rid_frames_sent += len(frames)
        return frames

    def _adsb(self, t: float, rng: np.random.Generator) -> None:
        pic = self.pic
        m = pic.sim.world.manned
        if not pic.adsb_rx or m.m == 0 or t + 1e-9 < pic.adsb_next:
            return
        pic.adsb_next += 0.5
        pic.adsb_tick += 1
        odd = pic.adsb_tick % 2
        lat, lon, _ = pic.frame.geodetic(np.asarray(m.pos, float))
        for j in np.flatnonzero(m.is_aircraft):
            alt_ft = (pic.frame.alt0 + float(m.pos[j, 2])) / adsb.FT
            frames = [adsb.airborne_position(pic.icao[j], float(lat[j]), float(lon[j]), alt_ft, odd)]
            if odd:
                frames.append(adsb.airborne_velocity(pic.icao[j], *map(float, m.vel[j])))
            if pic.adsb_tick % 10 == 1:
                cs = "".join(ch for ch in m.names[j].upper() if ch.isalnum())[:8] or "UNKNOWN"
                frames.append(adsb.identification(pic.icao[j], cs))
            pic.adsb_frames_sent += len(frames)
            for (rx, rx_pos), dec in zip(pic.adsb_rx, pic.adsb_decs, strict=True):
                if np.linalg.norm(m.pos[j] - rx_pos) > rx.range_m:
                    continue
                for f in frames:
                    if rng.random() >= rx.drop_prob:
                        dec(f)

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
        due = [c for c in pic.cameras if t + 1e-9 >= c.next_t]
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
            cam.next_t += 1.0 / cam.cfg.rate_hz
            tsize = np.r_[np.full(act.size, cam.cfg.target_size_m), np.full(air.size, MANNED_SIZE_M)]
            cam.frame(t, pos, vel, flying, ctx.index, tpos, tsize, tlabel, rng)

    def metrics(self) -> dict[str, object]:
        cams = self.pic.cameras
        received = sum(c.received for c in cams)
        return {
            "camera_frames": sum(c.frames for c in cams),
            "camera_detections": sum(c.detections for c in cams),
            "camera_false_alarms": sum(c.false_alarms for c in cams),
            "camera_detections_capped": sum(c.capped for c in cams),
            "camera_reports_received": received,
            "camera_reports_late": sum(c.late for c in cams),
            "camera_reports_fused": self.pic.camera_fused,
            "camera_reports_merged": sum(c.fused_groups for c in cams),
            "camera_report_age_mean_s": round(sum(c.age_sum for c in cams) / received, 3) if received else None,
        }


def receive_remote_id(pic: AirspacePicture, t: float, addr: int, frame: bytes) -> None:
    """Decode one received frame (malformed ones are dropped and counted by the decoder)."""
    msg = pic.rid_dec(frame)
    if msg is None:
        return
    claim = pic.claims.setdefault(addr, RidClaim())
    if isinstance(msg, remoteid.BasicId):
        claim.uas_id = msg.uas_id
    elif isinstance(msg, remoteid.OperatorId):
        claim.operator_id = msg.operator_id
    elif isinstance(msg, remoteid.System):
        claim.operator_enu = np.asarray(pic.frame.local(msg.operator_lat, msg.operator_lon,
                                                        msg.operator_alt_m - pic.frame.alt0), float).reshape(3)
    elif isinstance(msg, remoteid.Location):
        z = msg.alt_geo_m - pic.frame.alt0 if msg.alt_geo_m != remoteid.ALT_UNKNOWN else 0.0
        claim.pos = np.asarray(pic.frame.local(msg.lat, msg.lon, z), float).reshape(3)
        if claim.fix_stamp != msg.timestamp_s:  # one fix per broadcast, however many receivers heard it
            claim.fix_stamp = msg.timestamp_s
            _remote_id_fix(pic, t, addr, claim.pos)
        if msg.speed_mps != remoteid.SPEED_UNKNOWN and msg.direction_deg != remoteid.DIRECTION_UNKNOWN:
            a = math.radians(msg.direction_deg)
            vz = msg.vspeed_mps if msg.vspeed_mps != remoteid.VSPEED_UNKNOWN else 0.0
            claim.vel = np.array([msg.speed_mps * math.sin(a), msg.speed_mps * math.cos(a), vz])
        else:
            claim.vel = np.zeros(3)
        claim.t = t


def _remote_id_fix(pic: AirspacePicture, t: float, addr: int, pos: F64) -> None:
    """A Remote ID position outside every radar's cover becomes a tracker measurement (cooperative-only sensing:
    the cooperative drone is on the picture without a radar).  Inside radar cover the radar makes the track and the
    claim only labels it, so a claim that no radar plot confirms is still flagged (spoof check)."""
    for radar in pic.radars:
        if radar.covers(pos[None])[0] and radar.pd(np.array([np.linalg.norm(pos - radar.pos)]),
                                                   np.array([radar.cfg.ref_rcs_m2]))[0] > 0.5:
            return
    k = np.flatnonzero(pic.rid_addr == addr)
    truth = KIND_INTRUDER * LABEL_SCALE + int(k[0]) if k.size else -1
    pd = 1.0 - min((rx.drop_prob for rx, _ in pic.rid_rx), default=0.0)
    pic.pending_scans.append(remote_id_scan(max(t, pic.fused_until), pos, RID_SIGMA_M, pd, truth))


def adsb_positions(pic: AirspacePicture) -> tuple[list[adsb.AdsbReport], F64]:
    """Manned aircraft positions (ENU) from the decoded ADS-B reports of every receiver."""
    reps: list[adsb.AdsbReport] = []
    rows: list[F64] = []
    for d in pic.adsb_decs:
        for r in d.reports.values():
            if r.lat is not None and r.lon is not None and r.alt_ft is not None:
                reps.append(r)
                rows.append(np.asarray(pic.frame.local(r.lat, r.lon, r.alt_ft * adsb.FT - pic.frame.alt0),
                                       dtype=np.float64).reshape(3))
    return reps, np.array(rows).reshape(-1, 3)


class AirspaceTrack:
    name = "airspace_track"
    phase = Phase.TRACK
    period = 0.0

    def __init__(self, pic: AirspacePicture) -> None:
        self.pic = pic

    def step(self, ctx: TickContext) -> None:
        pic = self.pic
        self._truth(ctx.t)
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
                intr = scan.truth // LABEL_SCALE == KIND_INTRUDER
                pic.ledger.detected(scan.t, (scan.truth[intr] % LABEL_SCALE).tolist())
                keep = (res.det_track >= 0) & (scan.truth // LABEL_SCALE != KIND_SWARM)
                for tid, lab in zip(res.det_track[keep].tolist(), scan.truth[keep].tolist(), strict=True):
                    if lab < 0 and pic.track_truth.get(tid, -1) >= 0:
                        continue  # a false alarm that updated a real aircraft's track does not make it clutter
                    pic.track_truth[tid] = lab
                    if lab // LABEL_SCALE == KIND_INTRUDER:
                        pic.ledger.followed(tid, lab % LABEL_SCALE)
                clutter = (res.det_track >= 0) & (scan.truth < 0)
                for tid in res.det_track[clutter].tolist():
                    pic.track_truth.setdefault(tid, -1)
        self._identify(ctx)
        self._aircraft(ctx.t)
        self._alerts(ctx.t)
        self._score(ctx)

    def _aircraft(self, t: float) -> None:
        """Tracks -> aircraft (re-born tracks keep their aircraft), and the evaluation's per-intruder table."""
        pic, tr = self.pic, self.pic.tracker
        conf = np.flatnonzero(tr.confirmed())
        ids = tr.ids[conf].tolist()
        idents = [pic.track_identity.get(i, "") for i in ids]
        pic.track_aircraft = pic.aircraft.update(t, tr.ids[conf], pic.track_state(t)[conf], idents)
        labels = [pic.track_label.get(i, "unknown") for i in ids]
        unknown = [pic.track_aircraft[i] for i, lb in zip(ids, labels, strict=True) if lb == "unknown"]
        pic.unknown_tracks_max = max(pic.unknown_tracks_max, len(unknown))
        pic.unknown_aircraft_max = max(pic.unknown_aircraft_max, len(set(unknown)))
        pic.ledger.picture(t, [(i, pic.track_aircraft[i], f"{lb} {who}".strip())
                               for i, lb, who in zip(ids, labels, idents, strict=True)])

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

    # -- identification ------------------------------------------------------------------------------------------
    def _identify(self, ctx: TickContext) -> None:
        pic, tr, t = self.pic, self.pic.tracker, ctx.t
        conf = np.flatnonzero(tr.confirmed())
        pic.max_confirmed = max(pic.max_confirmed, conf.size)
        x = pic.track_state(t)
        pos = x[conf, :3]
        ids = tr.ids[conf]
        label = np.zeros(conf.size, np.int64)
        identity = [""] * conf.size
        if conf.size and ctx.world.drones.n:
            # own drones by telemetry: one drone explains at most one track (greedy by position + velocity cost),
            # so an intruder flying next to the swarm is not hidden by it
            q, dr, dist = ctx.index.near_points(pos, SWARM_MATCH_M)
            dv = np.linalg.norm(x[conf[q], 3:] - np.asarray(ctx.world.drones.vel, float)[dr], axis=1)
            Pvv = tr.P[conf[q], 3:, 3:]
            ok = dv < SWARM_MATCH_DV + 3.0 * np.sqrt(np.trace(Pvv, axis1=1, axis2=2) / 3.0)  # young tracks: loose
            q, dr, cost = q[ok], dr[ok], dist[ok] + 10.0 * dv[ok]
            used_t: set[int] = set()
            used_d: set[int] = set()
            for k in np.argsort(cost, kind="stable").tolist():
                a, b = int(q[k]), int(dr[k])
                if a not in used_t and b not in used_d:
                    used_t.add(a)
                    used_d.add(b)
            label[list(used_t)] = 1
        # manned aircraft by ADS-B
        reps, enu = adsb_positions(pic)
        if reps and conf.size:
            d, j = cKDTree(enu).query(pos, distance_upper_bound=ADSB_MATCH_M)
            hit = np.isfinite(d) & (label == 0)
            label[hit] = 2
            for k in np.flatnonzero(hit):
                r = reps[int(j[k])]
                identity[k] = r.callsign or r.icao
        # cooperative drones by Remote ID; claims nobody confirms are flagged
        live = [(a, c) for a, c in pic.claims.items() if c.pos is not None and t - c.t <= 5.0]
        all_pos = x[:, :3]
        if live:
            cpos = np.array([c.pos + (c.vel if c.vel is not None else 0.0) * (t - c.t) for _, c in live])  # type: ignore[operator]
            if conf.size:
                d, j = cKDTree(cpos).query(pos, distance_upper_bound=RID_MATCH_M)
                hit = np.isfinite(d) & (label == 0)
                label[hit] = 3
                for k in np.flatnonzero(hit):
                    _, c = live[int(j[k])]
                    identity[k] = c.uas_id or "remote-id"
                    c.track_id = int(ids[k])
                    lab = pic.track_truth.get(int(ids[k]), -1)
                    if c.uas_id and lab // LABEL_SCALE == KIND_INTRUDER:
                        pic.identified.setdefault(c.uas_id, t)
                # a track bound to a live claim keeps it within twice the match distance (no label flicker when
                # the claim and the track drift apart for a few scans)
                bound = np.array([c.track_id for _, c in live])
                row = np.full(conf.size, -1)
                m_ids = np.isin(ids, bound) & (label == 0)
                if m_ids.any():
                    lookup = {int(b): n for n, b in enumerate(bound.tolist()) if b >= 0}
                    row[m_ids] = [lookup[int(i)] for i in ids[m_ids]]
                    near = m_ids & (np.linalg.norm(pos - cpos[np.maximum(row, 0)], axis=1) <= 2 * RID_MATCH_M)
                    label[near] = 3
                    for k in np.flatnonzero(near):
                        identity[k] = live[int(row[k])][1].uas_id or "remote-id"
            near_any = np.zeros(len(live), bool)
            if tr.n:
                dd, _ = cKDTree(all_pos).query(cpos, distance_upper_bound=RID_MATCH_M)
                near_any = np.isfinite(dd)
            covered = np.zeros(len(live), bool)
            for radar in pic.radars:
                covered |= radar.covers(cpos) & (radar.pd(np.linalg.norm(cpos - radar.pos, axis=1),
                                                          np.full(len(live), radar.cfg.ref_rcs_m2)) > 0.5)
            for k, (addr, c) in enumerate(live):
                if covered[k] and not near_any[k]:
                    c.mismatch_since = t if c.mismatch_since is None else c.mismatch_since
                    if t - c.mismatch_since >= SPOOF_AFTER_S and c.spoof_flagged_t is None:
                        c.spoof_flagged_t = t
                        pic.sim.log.add(t, "warning", "airspace",
                                        f"Remote ID {c.uas_id or hex(addr)}: claimed position not confirmed by radar "
                                        f"for {SPOOF_AFTER_S:.0f} s (possible spoof)")
                else:
                    c.mismatch_since = None
        # identities are sticky for LABEL_HOLD_S: noisy radar plots of a tight formation may miss a match briefly
        labels: dict[int, str] = {}
        idents: dict[int, str] = {}
        for i, lb, who in zip(ids.tolist(), label.tolist(), identity, strict=True):
            if lb:
                pic.label_seen[i] = (t, LABELS[lb], who)
            held = pic.label_seen.get(i)
            if held is not None and t - held[0] <= LABEL_HOLD_S:
                labels[i], idents[i] = held[1], held[2]
            else:
                labels[i], idents[i] = "unknown", ""
        pic.track_label, pic.track_identity = labels, idents

    # -- alerts --------------------------------------------------------------------------------------------------
    def _raise(self, t: float, kind: str, tid: int, target: str, severity: str, ttz: float | None) -> None:
        pic = self.pic
        family = "zone" if kind in ("approach", "incursion") else kind
        aircraft = pic.track_aircraft.get(tid, -tid)
        key = (aircraft, target, family)  # one alert per aircraft (not per track) and zone
        a = pic.alert_index.get(key)
        label = pic.track_label.get(tid, "unknown")
        if a is None:
            a = Alert(len(pic.alerts) + 1, kind, tid, target, severity, t, t, ttz, label,
                      pic.track_identity.get(tid, ""), aircraft, [tid])
            a.history.append((t, kind))
            pic.ledger.alerted(t, tid)
            pic.alerts.append(a)
            pic.alert_index[key] = a
            pic.new_alerts.append(a)
            what = f"time to zone {ttz:.1f} s" if ttz is not None and ttz > 0 else "inside"
            if kind == "near_manned":
                what = "near manned aircraft"
            pic.sim.log.add(t, "warning" if severity != "critical" else "error", "airspace",
                            f"ALERT {a.alert_id} {severity} {kind}: track {tid} ({label}) {target}: {what}")
            return
        a.last_t = t
        a.active = True
        if tid not in a.tracks:
            a.tracks.append(tid)
        if kind != a.kind and kind == "incursion":
            a.kind, a.severity = kind, severity
            a.history.append((t, kind))
            a.acknowledged = False  # an escalation needs a fresh acknowledgement
            pic.sim.log.add(t, "error" if severity == "critical" else "warning", "airspace",
                            f"ALERT {a.alert_id} {severity} incursion: track {tid} ({label}) {target}: inside")

    def _alerts(self, t: float) -> None:
        pic, tr = self.pic, self.pic.tracker
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
                    self._raise(t, "incursion", ids[r], z.name, "high" if coop else "critical", 0.0)
                else:
                    sev = "medium" if coop else ("high" if tt < z.warn_time_s / 2 else "medium")
                    self._raise(t, "approach", ids[r], z.name, sev, tt)
        # unknown aircraft near a manned aircraft (by ADS-B; 2x the well-clear volume)
        wc = pic.sim.scenario.safety.well_clear
        reps, enu = adsb_positions(pic)
        unk = np.flatnonzero(np.array([lb == "unknown" for lb in labels]))
        if reps and unk.size:
            dh = np.linalg.norm(x[unk, None, :2] - enu[None, :, :2], axis=2)
            dv = np.abs(x[unk, None, 2] - enu[None, :, 2])
            near = (dh < 2 * wc.horizontal_m) & (dv < 2 * wc.vertical_m)
            for a_i, m_i in zip(*np.nonzero(near), strict=True):
                rep = reps[int(m_i)]
                self._raise(t, "near_manned", ids[int(unk[a_i])], rep.callsign or rep.icao, "high", None)

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

    def _truth(self, t: float) -> None:
        """When each alert condition truly began (evaluation only; every tick, vectorized over intruders): an
        approach when the intruder's true straight-line time-to-zone first comes within the warning time, an
        incursion when it is first inside the zone."""
        pic, it = self.pic, self.pic.intruders
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

    def metrics(self) -> dict[str, object]:
        pic = self.pic
        scores = alert_scores(pic.alerts, pic.track_truth, pic.truth_first_due, pic.truth_first_inside,
                              pic.sim.world.t)
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
            "track_identity_swaps": pic.ledger.swaps + pic.aircraft.swaps,
            "track_rebirths_joined": pic.aircraft.rebirths,
            "unknown_tracks_max": pic.unknown_tracks_max,
            "unknown_aircraft_max": pic.unknown_aircraft_max,
            "intruders": pic.ledger.summary(),
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
        doc = json.dumps({"type": "FeatureCollection", "features": feats}, separators=(",", ":"))
        mcap.write_json("/airspace/tracks", t, {"geojson": doc}, schema_name="foxglove.GeoJSON")
        mcap.write_json("/airspace/alerts", t, {"alerts": [a.to_json() for a in pic.alerts if a.active]},
                        schema_name="skyhive.AirspaceAlerts", schema={"type": "object"})


def alert_scores(alerts: list[Alert], track_truth: dict[int, int], due: dict[tuple[int, str], float],
                 entered: dict[tuple[int, str], float], duration_s: float) -> dict[str, object]:
    """Alert latency and false alerts per hour (evaluation; docs/airspace.md, "Output").

    * latency of a zone alert on intruder ``i`` and zone ``z``: the first alert time of any track whose truth is
      ``i`` minus the time the condition truly began: ``approach`` against ``due[(i, z)]`` (the true straight-line
      time-to-zone first within the warning time; negative when the track predicted it earlier) and
      ``incursion`` (the first escalation to incursion) against ``entered[(i, z)]`` (the true entry);
    * a false alert: an alert of any kind on a track whose truth is not an intruder (clutter, one of the swarm's
      own drones, a manned aircraft), or a duplicate: a second (third...) alert of one family (zone, near-manned)
      on the same intruder and target, raised by a fragment of its track or an identity swap; per hour of
      simulated time (``alerts_duplicate`` and ``alerts_on_non_intruders`` give the two parts).
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
    wrong = [a for a in alerts if track_truth.get(a.track_id, -1) // LABEL_SCALE != KIND_INTRUDER]
    seen: set[tuple[int, str, str]] = set()
    duplicate = 0
    for a in sorted(alerts, key=lambda a: (a.first_t, a.alert_id)):
        lab = track_truth.get(a.track_id, -1)
        if lab // LABEL_SCALE != KIND_INTRUDER:
            continue
        key = (lab, a.target, "zone" if a.kind in ("approach", "incursion") else a.kind)
        duplicate += key in seen
        seen.add(key)
    n_false = len(wrong) + duplicate
    hours = max(duration_s, 1e-9) / 3600.0
    missed = sum(1 for key in entered if not any(
        a.target == key[1] and track_truth.get(a.track_id, -1) == KIND_INTRUDER * LABEL_SCALE + key[0]
        for a in alerts))

    def mean(v: list[float]) -> float | None:
        return round(float(np.mean(v)), 2) if v else None

    return {
        "alerts_false": n_false,
        "alerts_duplicate": duplicate,
        "alerts_on_non_intruders": len(wrong),
        "false_alerts_per_hour": round(n_false / hours, 2),
        "alert_latency_s": {k: mean(v) for k, v in latency.items()},
        "alert_latency_mean_s": mean(latency["approach"]),  # first alert vs the first true condition
        "incursions_true": len(entered),
        "incursions_missed": missed,
    }


_LABEL_COLOURS = {"unknown": "#e03131", "swarm": "#1c7ed6", "manned": "#f08c00", "cooperative": "#2f9e44"}


def build(sim: Simulation) -> list[Any]:
    """The airspace systems, or nothing when the scenario has no airspace sections."""
    sc = sim.scenario
    if not (sc.intruders or sc.sensors or sc.protected_zones):
        return []
    pic = AirspacePicture(sim)
    sim.airspace = pic  # type: ignore[attr-defined]  # for tests and tools: the picture of this run
    systems: list[Any] = [AirspaceSense(pic), AirspaceTrack(pic), IntruderTraffic(pic)]
    if pic.cameras:
        systems.append(AirspaceCameras(pic))
    return systems
