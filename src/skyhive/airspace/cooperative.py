"""Cooperative identification: Remote ID (ASTM F3411 frames) and ADS-B (DF17) on the air, decoded into claims and
reports, and the labelling of confirmed tracks (the swarm's own drones by telemetry, manned aircraft by ADS-B,
cooperative drones by Remote ID; an unconfirmed Remote ID claim is flagged as a possible spoof).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from skyhive.airspace import adsb, remoteid
from skyhive.airspace.sensors import KIND_INTRUDER, LABEL_SCALE

if TYPE_CHECKING:
    from skyhive.airspace.picture import AirspacePicture
    from skyhive.systems import TickContext

F64 = NDArray[np.float64]

SWARM_MATCH_M = 50.0  # a track within this of an own drone's telemetry is that drone (radar elevation noise)
SWARM_MATCH_DV = 5.0  # m/s: and its velocity within this (plus 3 sigma of the track's velocity)
LABEL_HOLD_S = 10.0  # an identity stays on a track this long after its last match
RID_MATCH_M = 60.0  # Remote ID claim <-> track association distance
ADSB_MATCH_M = 250.0
SPOOF_AFTER_S = 4.0  # a claim unconfirmed by radar this long (while covered) is flagged
LABELS = ("unknown", "swarm", "manned", "cooperative")


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


def broadcast_remote_id(pic: AirspacePicture, t: float, rng: np.random.Generator) -> None:
    """Intruders broadcast their Remote ID frames at their rate; receivers in range hear them (drop-outs,
    latency); frames due by ``t`` are decoded into claims."""
    it = pic.intruders
    if pic.rid_rx:
        for k in np.flatnonzero(it.active & (t + 1e-9 >= pic.rid_next)):
            cfg = it.cfgs[k].remote_id
            if cfg is None:
                continue
            pic.rid_next[k] = t + 1.0 / cfg.rate_hz
            frames = remote_id_frames(pic, int(k), t)
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


def remote_id_frames(pic: AirspacePicture, k: int, t: float) -> list[bytes]:
    """The F3411 frames intruder ``k`` broadcasts at ``t`` (Location; the static messages at a third of the rate)."""
    it = pic.intruders
    cfg = it.cfgs[k].remote_id
    assert cfg is not None
    claimed = it.pos[k] + np.asarray(cfg.claimed_offset_m)
    lat, lon = pic.latlon(claimed)
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


def broadcast_adsb(pic: AirspacePicture, t: float, rng: np.random.Generator) -> None:
    """Manned aircraft squitter DF17 position / velocity / identification frames twice a second; receivers in
    range decode them (pyModeS)."""
    m = pic.world.manned
    if not pic.adsb_rx or m.m == 0 or not pic.adsb_rate.due(t):
        return
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
        if msg.speed_mps != remoteid.SPEED_UNKNOWN and msg.direction_deg != remoteid.DIRECTION_UNKNOWN:
            a = math.radians(msg.direction_deg)
            vz = msg.vspeed_mps if msg.vspeed_mps != remoteid.VSPEED_UNKNOWN else 0.0
            claim.vel = np.array([msg.speed_mps * math.sin(a), msg.speed_mps * math.cos(a), vz])
        else:
            claim.vel = np.zeros(3)
        claim.t = t


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


def identify_tracks(pic: AirspacePicture, ctx: TickContext) -> None:
    """Label confirmed tracks: the swarm's own drones by their telemetry, manned aircraft by ADS-B, cooperative
    drones by Remote ID; flag a Remote ID claim no radar track confirms while the radar covers it."""
    tr, t = pic.tracker, ctx.t
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
                    pic.log.add(t, "warning", "airspace",
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
