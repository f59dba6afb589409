"""Onboard cameras on swarm drones: detections of other aircraft, sent to a ground station over the mesh.

Each drone of a camera's fleet looks along its horizontal direction of flight (the last one while it hovers),
tilted by ``tilt_deg``, with a cone of ``fov_deg``.  At ``rate_hz`` every flying drone checks the few other aircraft
(active intruders and manned aircraft) near it through the shared spatial index (``near_points`` with the targets
as query points), keeps those in its cone and range, and detects each with the Johnson-criteria probability of
:meth:`CameraModel.pd`.  A detection becomes a report (the drone's own GNSS position, measured range, azimuth,
elevation and look direction) that the drone unicasts to its ground station through the mesh
(``skyhive.comms``): directly when the station is within radio range, otherwise routed by flooding with ``ttl``
hops.  The ground side only ever fuses the reports that reached
the ground station, at the time they arrived.  The swarm's own drones are never reported: the onboard pipeline
knows its mates from their mesh telemetry and suppresses them.

All of it is vectorized over (drone, target) pairs; nothing loops over drones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from skyhive.airspace.config import Camera
from skyhive.airspace.tracker import Scan, polar_to_cartesian
from skyhive.systems import Rate

if TYPE_CHECKING:
    from skyhive.systems import Mesh
    from skyhive.world.spatial import SpatialIndex

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MANNED_SIZE_M = 10.0  # critical dimension of a light aircraft or helicopter for the Johnson criteria
PAYLOAD = 8  # drone x, y, z (GNSS), range, azimuth, elevation, look azimuth, truth tag (evaluation only)
GATE_CHI2 = 16.0  # same-frame report grouping gate (3 dof, as the tracker's)
MOVING_MPS = 0.5  # below this horizontal speed the camera keeps its last look direction


class CameraModel:
    """One ``camera`` sensor entry: the fleet that carries it, its detection model and its message kind."""

    def __init__(self, cfg: Camera, fleet: slice, comms: Mesh) -> None:
        self.cfg = cfg
        self.first, self.stop = fleet.start, fleet.stop
        names = list(comms.gs_names)
        self.gs_node = comms.n_drones + (names.index(cfg.ground_station) if cfg.ground_station else 0)
        self.comms = comms
        self.kind = comms.register_kind(f"airspace_camera_{cfg.name}", cfg.report_bytes, (PAYLOAD,), np.float64)
        self.ifov = math.radians(cfg.fov_deg) / cfg.pixels
        self.cos_half = math.cos(math.radians(cfg.fov_deg / 2.0))
        self.look_az = np.zeros(self.stop - self.first)  # radians from north, per drone of the fleet
        # beyond this range an intruder-sized target has Pd < pd_max / 2: a frame without a report from there is
        # no evidence that nothing is there (the tracker only counts a miss inside it)
        self.look_range = min(cfg.range_m, cfg.target_size_m / (2.0 * cfg.n50_cycles * self.ifov))
        self.rate = Rate.hz(cfg.rate_hz)  # frames
        self.frames = 0
        self.detections = 0
        self.received = 0
        self.late = 0
        self.age_sum = 0.0
        self.fused_groups = 0  # reports merged into another drone's report of the same aircraft in the same frame

    def pd(self, r: F64, size: F64) -> F64:
        """Johnson criteria with the target transfer probability function (see docs/airspace.md)."""
        c = self.cfg
        n = size / (2.0 * np.maximum(r, 1e-3) * self.ifov) / c.n50_cycles
        e = 2.7 + 0.7 * n
        with np.errstate(over="ignore", divide="ignore"):
            return np.asarray(c.pd_max / (1.0 + n ** (-e)), float)

    def look_vectors(self, az: F64) -> F64:
        tilt = math.radians(self.cfg.tilt_deg)
        return np.stack([math.cos(tilt) * np.sin(az), math.cos(tilt) * np.cos(az), np.full(az.shape, math.sin(tilt))],
                        axis=1)

    def frame(self, t: float, pos: F64, vel: F64, flying: NDArray[np.bool_], index: SpatialIndex, tpos: F64,
              tsize: F64, tlabel: I64, rng: np.random.Generator) -> int:
        """Take one frame on every drone of the fleet and send the reports; returns the number of reports."""
        c = self.cfg
        v = vel[self.first:self.stop]
        moving = np.hypot(v[:, 0], v[:, 1]) > MOVING_MPS
        self.look_az = np.where(moving, np.arctan2(v[:, 0], v[:, 1]), self.look_az)
        self.frames += 1
        if tpos.shape[0] == 0:
            return 0
        p, q, dist = index.near_points(tpos, c.range_m)
        ok = (q >= self.first) & (q < self.stop)
        p, q, dist = p[ok], q[ok], dist[ok]
        ok = flying[q] & (dist > 1.0)
        p, q, dist = p[ok], q[ok], dist[ok]
        rel = tpos[p] - pos[q]
        u = self.look_vectors(self.look_az[q - self.first])
        ok = np.einsum("ij,ij->i", rel, u) >= self.cos_half * dist
        p, q, dist, rel = p[ok], q[ok], dist[ok], rel[ok]
        ok = rng.random(p.size) < self.pd(dist, tsize[p])
        p, q, dist, rel = p[ok], q[ok], dist[ok], rel[ok]
        m = p.size
        if m == 0:
            return 0
        az = np.degrees(np.arctan2(rel[:, 0], rel[:, 1])) + rng.normal(0.0, c.sigma_angle_deg, m)
        el = np.degrees(np.arcsin(np.clip(rel[:, 2] / dist, -1.0, 1.0))) + rng.normal(0.0, c.sigma_angle_deg, m)
        rr = np.maximum(dist * (1.0 + rng.normal(0.0, c.sigma_range_frac, m)), 1.0)
        gnss = pos[q] + rng.normal(0.0, c.nav_sigma_m, (m, 3)) if c.nav_sigma_m > 0 else pos[q]
        payload = np.column_stack([gnss, rr, az, el, np.degrees(self.look_az[q - self.first]),
                                   tlabel[p].astype(np.float64)])
        # a drone that has the ground station within radio range sends directly (one hop); the others route by
        # flooding through the swarm (a flood in a dense swarm costs every node a relay, so it is the fallback)
        gs = self.comms.gs_pos[self.gs_node - self.comms.n_drones]
        direct = np.linalg.norm(pos[q] - gs, axis=1) <= np.minimum(self.comms.max_range[q],
                                                                    self.comms.max_range[self.gs_node])
        if c.ttl == 1 or direct.all():
            self.comms.unicast(q, self.gs_node, self.kind, payload, ttl=1)
        else:
            self.comms.unicast(q[direct], self.gs_node, self.kind, payload[direct], ttl=1)
            self.comms.unicast(q[~direct], self.gs_node, self.kind, payload[~direct], ttl=c.ttl)
        self.detections += m
        return m

    def received_reports(self, now: float, fused_until: float) -> tuple[F64, F64, int]:
        """Reports that reached the ground station this tick: (frame times, payload rows with the sending drone
        appended) of those still in time to be fused, and how many arrived too late (their frame was fused)."""
        ib = self.comms.inbox(self.kind)
        mine = ib.receivers == self.gs_node
        t = ib.sent_t[mine]
        pl = np.column_stack([ib.payload[mine], ib.senders[mine].astype(np.float64)])
        self.received += int(t.size)
        self.age_sum += float((now - t).sum())
        late = t <= fused_until + 1e-9
        self.late += int(late.sum())
        return t[~late], pl[~late], int(late.sum())

    def scan(self, t: float, rows: F64, own_drones: F64) -> Scan:
        """One frame's received reports (payload rows plus the sender in column ``PAYLOAD``) as one tracker scan.

        Reports of one aircraft by several drones in the same frame are fused first (:func:`fuse_same_frame`), so
        they update its track once with their combined information instead of starting duplicate tracks."""
        c = self.cfg
        r = rows[:, 3]
        z, R = polar_to_cartesian(rows[:, :3], r, rows[:, 4], rows[:, 5], c.sigma_range_frac * r, c.sigma_angle_deg,
                                  c.sigma_angle_deg)
        R = R + np.eye(3)[None] * c.nav_sigma_m**2
        sender = rows[:, PAYLOAD].astype(np.int64)
        z, R, first = fuse_same_frame(z, R, sender, GATE_CHI2)
        self.fused_groups += int(rows.shape[0] - first.size)
        _, one = np.unique(sender, return_index=True)
        own = cKDTree(own_drones) if own_drones.shape[0] else None
        return Scan(t=t, z=z, R=R, sensor=c.name, truth=rows[first, 7].astype(np.int64),
                    covers=self._covers(rows[one, :3], np.radians(rows[one, 6]), own))

    def _covers(self, reporters: F64, look_az: F64, own: cKDTree | None) -> Callable[[F64], NDArray[np.bool_]]:
        """Which track positions the reporting drones looked at: inside their cone within ``look_range``, and
        not on one of the swarm's own drones (the cameras never report those, so no miss is counted there)."""
        u = self.look_vectors(look_az)

        def covers(x: F64) -> NDArray[np.bool_]:
            out = np.zeros(x.shape[0], bool)
            if x.shape[0] == 0:
                return out
            lists = cKDTree(reporters).query_ball_point(x, self.look_range)
            counts = np.fromiter((len(a) for a in lists), np.int64, len(lists))
            if counts.sum() == 0:
                return out
            ti = np.repeat(np.arange(x.shape[0]), counts)
            ri = np.concatenate([np.asarray(a, np.int64) for a in lists if len(a)])
            rel = x[ti] - reporters[ri]
            d = np.linalg.norm(rel, axis=1)
            inside = np.einsum("ij,ij->i", rel, u[ri]) >= self.cos_half * d
            out[ti[inside]] = True
            if own is not None:
                dd, _ = own.query(x, distance_upper_bound=50.0)
                out &= ~np.isfinite(dd)
            return out

        return covers


def fuse_same_frame(z: F64, R: F64, sender: I64, gate: float) -> tuple[F64, F64, I64]:
    """Merge the reports of one frame that are the same aircraft seen by different drones.

    Two reports are linked when their difference passes the chi-square gate ``(z_i - z_j)' (R_i + R_j)^-1
    (z_i - z_j) < gate`` and they come from different drones; linked reports form groups (connected components;
    a group with two reports from one drone is two aircraft and is left unmerged).  Each group becomes one
    measurement by information fusion, ``R = (sum R_i^-1)^-1``, ``z = R sum R_i^-1 z_i``: for independent
    synchronous measurements of one state this is exactly the sequential Kalman update with each of them
    (Bar-Shalom, Willett & Tian, *Tracking and Data Fusion*, 2011, ch. 7, parallel vs sequential updating), and the
    range errors of drones that look from different sides cancel (triangulation).  Returns (z, R, index of the
    first report of each measurement).  Aircraft closer than the gate are merged: a documented limit.
    """
    m = z.shape[0]
    if m < 2:
        return z, R, np.arange(m, dtype=np.int64)
    lam = np.linalg.eigvalsh(R)[:, -1]
    radius = math.sqrt(2.0 * gate * float(lam.max()))  # d2 < gate implies |dz| < sqrt(gate * lmax(R_i + R_j))
    pairs = cKDTree(z).query_pairs(radius, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    dz = z[i] - z[j]
    d2 = np.einsum("ki,kij,kj->k", dz, np.linalg.inv(R[i] + R[j]), dz)
    ok = (d2 < gate) & (sender[i] != sender[j])
    graph = coo_matrix((np.ones(int(ok.sum())), (i[ok], j[ok])), shape=(m, m))
    _, lab = connected_components(graph, directed=False)
    # a group holding two reports of one drone: leave it as single reports
    size = np.bincount(lab)
    distinct = np.bincount(np.unique(np.c_[lab, sender], axis=0)[:, 0], minlength=size.size)
    bad = distinct < size
    lab = np.where(bad[lab], size.size + np.arange(m), lab)
    groups, first, lab = np.unique(lab, return_index=True, return_inverse=True)
    lab = lab.ravel()
    Rinv = np.linalg.inv(R)
    info = np.zeros((groups.size, 3, 3))
    np.add.at(info, lab, Rinv)
    vec = np.zeros((groups.size, 3))
    np.add.at(vec, lab, np.einsum("kij,kj->ki", Rinv, z))
    Rf = np.linalg.inv(info)
    Rf = 0.5 * (Rf + Rf.transpose(0, 2, 1))
    o = np.argsort(first, kind="stable")  # in the order of the reports
    return np.einsum("kij,kj->ki", Rf, vec)[o], Rf[o], first[o].astype(np.int64)
