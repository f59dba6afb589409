"""Search objects in a mission: hidden persons, their detection by the workers' cameras, find reports to the
ground station and its acknowledgements, all through the mesh (docs/autonomy.md, "Missions in flight").

What each drone knows: ``found_by`` (its camera saw object k) and ``acked`` (it heard the ground station has it);
it re-sends an unacknowledged find every ``report_retry_s``.  The ground station floods the list of finds it
heard every ``ACK_PERIOD_S``.  Ground truth kept only for the metrics: the objects' positions, when a camera first
saw each (``detect_t``), when a station first received its report (``gs_t``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from skyhive.autonomy.config import MissionSettings
from skyhive.systems import Rate, TickContext

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
ACK_PERIOD_S = 5.0  # the ground station floods its list of heard finds this often
FIND_BYTES = 24  # airtime of a find report
TTL = 64


class FindReports:
    """Detection and reporting of the objects ``obj`` (k, 3) by the mission's workers ``wid`` (comms node ids)."""

    def __init__(self, comms: Any, wid: I64, obj: F64, settings: MissionSettings, rng: np.random.Generator) -> None:
        self.comms, self.wid, self.obj, self.cfg, self.rng = comms, wid, obj, settings, rng
        self.index_of = np.full(comms.n_nodes, -1, np.int64)
        self.index_of[wid] = np.arange(wid.size)
        self.gs_nodes = np.arange(comms.n_drones, comms.n_drones + comms.n_gs, dtype=np.int64)
        w, k = wid.size, obj.shape[0]
        self.found_by = np.zeros((w, k), bool)  # drone's own knowledge: it saw object k
        self.acked = np.zeros((w, k), bool)  # it heard the ground station has it
        self.last_report = np.full((w, k), -np.inf)
        self.found_t = np.full((w, k), np.inf)  # when the drone's own camera saw object k
        self.detect_t = np.full(k, np.inf)  # truth: first detection by any drone
        self.gs_heard = np.zeros((max(comms.n_gs, 1), k), bool)
        self.gs_t = np.full(k, np.inf)  # when a ground station received the first report of each
        self.ack_rate = Rate(ACK_PERIOD_S, from_last=True)

    def register(self) -> None:
        c, k = self.comms, self.obj.shape[0]
        self.k_find = c.register_kind("mission/find", FIND_BYTES, (2,), np.int64)
        self.k_ack = c.register_kind("mission/ack", max(1, (k + 7) // 8 + 8), (k,), np.bool_)

    def receive(self, t: float) -> None:
        """Stations take in find reports; drones take in acknowledgements."""
        ib = self.comms.inbox(self.k_find)
        if len(ib):
            g = ib.receivers - self.comms.n_drones
            isgs = (g >= 0) & (g < self.comms.n_gs)
            g, obj = g[isgs], ib.payload[isgs, 0]
            new = ~self.gs_heard[g, obj]
            self.gs_heard[g, obj] = True
            first = obj[new & ~np.isfinite(self.gs_t[obj])]
            self.gs_t[first] = t
        ib = self.comms.inbox(self.k_ack)
        if len(ib):
            r = self.index_of[ib.receivers]
            mine = r >= 0
            np.logical_or.at(self.acked, r[mine], ib.payload[mine])

    def step(self, ctx: TickContext, ok: NDArray[np.bool_]) -> None:
        """Camera detections this tick (the glimpse law of ``mission.detection``), reports and acks."""
        d = ctx.world.drones
        t, dt = ctx.t, ctx.dt
        det = self.cfg.detection
        tan = np.tan(np.radians(self.cfg.camera_fov_deg) / 2.0)
        h_max = max(float(d.pos[self.wid, 2].max(initial=0.0)), 1.0)
        radius = 4.0 * h_max * tan / 2.0  # 4 sigma at the highest worker
        p, q, _ = ctx.index.near_points(self.obj, radius)
        a = self.index_of[q] if q.size else q
        keep = (a >= 0) & (q < self.comms.n_drones)
        p, q, a = p[keep], q[keep], a[keep]
        keep = ok[a] & ~self.found_by[a, p]
        p, q, a = p[keep], q[keep], a[keep]
        if p.size:
            h = d.pos[q, 2] - self.obj[p, 2]
            up = h > 1.0
            p, q, a, h = p[up], q[up], a[up], h[up]
            sigma = h * tan / 2.0
            dh = np.hypot(*(d.pos[q, :2] - self.obj[p, :2]).T)
            rate = det.rate_per_s * np.minimum(1.0, (det.ref_alt_m / h) ** 2) * np.exp(-0.5 * (dh / sigma) ** 2)
            hit = self.rng.random(p.size) < -np.expm1(-rate * dt)
            self.found_by[a[hit], p[hit]] = True
            np.minimum.at(self.found_t, (a[hit], p[hit]), t)
            np.minimum.at(self.detect_t, p[hit], t)
        # report every find not yet acknowledged, now and then again every report_retry_s
        due = self.found_by & ~self.acked & (t - self.last_report >= self.cfg.report_retry_s - 1e-9)
        due &= ok[:, None]
        ra, ro = np.nonzero(due)
        if ra.size:
            self.last_report[ra, ro] = t
            src = self.wid[ra]
            gd = np.linalg.norm(d.pos[src][:, None, :] - self.comms.gs_pos[None, :, :], axis=2)
            dst = self.gs_nodes[np.argmin(gd, axis=1)]
            self.comms.unicast(src, dst, self.k_find, np.column_stack([ro, src]), ttl=TTL)
        if self.ack_rate.due(t):
            heard = self.gs_heard[: self.comms.n_gs]
            if heard.any():
                self.comms.flood(self.gs_nodes, self.k_ack, heard, ttl=TTL)

    def unheard_since(self, t: float) -> F64:
        """Per worker, how long its oldest find has waited for the station's acknowledgement (0: none)."""
        wait = np.where(self.found_by & ~self.acked, t - self.found_t, 0.0)
        return np.asarray(wait.max(axis=1, initial=0.0), np.float64)

    def metrics(self) -> dict[str, object]:
        found = np.isfinite(self.gs_t)
        k = self.obj.shape[0]
        half = np.sort(self.gs_t)[(k + 1) // 2 - 1]
        det = np.sort(self.detect_t)
        det_half = det[(k + 1) // 2 - 1]
        return {
            "search_objects": int(k),
            "search_found_reported": int(found.sum()),
            "search_detected": int(np.isfinite(self.detect_t).sum()),
            "search_time_to_find_s": [None if not np.isfinite(x) else round(float(x), 3) for x in self.gs_t],
            "search_time_to_find_all_s": round(float(self.gs_t.max()), 3) if found.all() else None,
            "search_time_to_find_half_s": round(float(half), 3) if np.isfinite(half) else None,
            "search_time_to_detect_half_s": round(float(det_half), 3) if np.isfinite(det_half) else None,
            "search_time_to_detect_all_s": round(float(det[-1]), 3) if np.isfinite(det[-1]) else None,
        }
