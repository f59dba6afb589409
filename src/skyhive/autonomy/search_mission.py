"""The search part of a mission: POC maps, searched-track sharing over the mesh, block claims, POS (docs/autonomy.md,
"Probabilistic search").  :class:`skyhive.autonomy.mission.MissionSystem` owns one when the scenario has search
tasks; with ``mission.search.strategy: probability`` it also flies the idle workers over the blocks it chooses.

Messages (all through the mesh radio, sized as a radio would carry them):

* ``mission/searched`` -- a drone's own track of the last ``share_s`` seconds, one sample per second, positions
  as int16 metres (6 bytes a sample + a 2-byte sequence), flooded ``share_hops`` hops.  A receiver adds the
  effort of that track (the glimpse law between consecutive samples) to its own map.
* ``mission/claim`` -- ``[block, finish time]`` when a drone takes a block (8 bytes), flooded.

The POS series and the fleet's true effort map are ground truth for the metrics only; no drone reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import Polygon

from skyhive.autonomy.config import MissionSettings
from skyhive.autonomy.search import Belief, BlockPlanner, SearchGrid, glimpse_effort
from skyhive.autonomy.search_config import SearchPrior

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
TTL = 64
SAMPLE_S = 1.0  # track sample period of a searched-track message
SUBSTEPS = 4  # a receiver integrates effort at this many points between consecutive samples


class SearchPart:
    """Search state of the mission's workers ``wid`` (comms node ids); see the module docstring."""

    def __init__(self, comms: Any, wid: I64, speed: F64, settings: MissionSettings,
                 areas: list[tuple[Polygon, SearchPrior | None, float]], to_local: Callable[[float, float], F64],
                 rng: np.random.Generator) -> None:
        self.cfg = settings
        self.scfg = settings.search
        self.comms = comms
        self.wid = wid
        self.index_of = np.full(comms.n_nodes, -1, np.int64)
        self.index_of[wid] = np.arange(wid.size)
        lane = 2.0 * settings.alt_m * math.tan(math.radians(settings.camera_fov_deg) / 2.0) * (1 - settings.overlap)
        self.grid = SearchGrid.build(areas, self.scfg.cell_m, self.scfg.block_m, lane, to_local)
        self.tan = math.tan(math.radians(settings.camera_fov_deg) / 2.0)
        self.active = self.scfg.strategy == "probability"
        n = wid.size if self.active else 0
        self.belief = Belief(self.grid, n)
        self.planner = BlockPlanner(self.grid, self.belief, speed)
        self.truth = np.zeros(self.grid.n_cells)  # the fleet's real effort (metrics only)
        self.n_samples = max(1, round(self.scfg.share_s / SAMPLE_S))
        self.track = np.zeros((n, self.n_samples, 3), np.float32)
        self.track_k = 0
        self.next_sample = 0.0
        self.seq = 0
        self.pos_series: list[tuple[float, float]] = []
        self.next_pos_sample = 0.0
        self.persons = self.grid.sample(self.scfg.persons, rng) if self.scfg.persons else np.zeros((0, 2))
        if self.active:
            self.k_track = comms.register_kind("mission/searched", 2 + 6 * self.n_samples, (self.n_samples, 3),
                                               np.float32)
            self.k_claim = comms.register_kind("mission/claim", 8, (2,), np.float64)

    # -- each tick -------------------------------------------------------------------------------------------
    def sense(self, pos: F64, ok: NDArray[np.bool_], t: float, dt: float) -> None:
        """Camera effort of the workers this tick: into the truth map, and into each worker's own map."""
        det = self.cfg.detection
        rows = np.flatnonzero(ok)
        s, c, e = glimpse_effort(self.grid, pos[rows], dt, det.rate_per_s, det.ref_alt_m, self.tan)
        np.add.at(self.truth, c, e)
        if self.active:
            self.belief.add(rows[s], c, e)
            if t + 1e-9 >= self.next_sample:
                self.next_sample = t + SAMPLE_S
                self.track[:, self.track_k] = pos
                self.track_k += 1
        if t + 1e-9 >= self.next_pos_sample:
            self.next_pos_sample = t + 10.0
            self.pos_series.append((round(t, 3), round(self.pos(), 5)))

    def share(self, ok: NDArray[np.bool_]) -> None:
        """Flood each live worker's track once ``share_s`` of samples are in."""
        if not self.active or self.track_k < self.n_samples:
            return
        self.track_k = 0
        rows = np.flatnonzero(ok)
        if rows.size:
            pl = np.round(self.track[rows]).astype(np.float32)  # int16 metres on the air
            self.comms.flood(self.wid[rows], self.k_track, pl, ttl=self.scfg.share_hops)

    def receive(self, t: float) -> None:
        if not self.active:
            return
        ib = self.comms.inbox(self.k_track)
        if len(ib):
            r = self.index_of[ib.receivers]
            mine = r >= 0
            if mine.any():
                self._add_tracks(r[mine], ib.senders[mine], ib.sent_t[mine], ib.payload[mine])
        ib = self.comms.inbox(self.k_claim)
        if len(ib):
            r = self.index_of[ib.receivers]
            who = self.index_of[ib.senders]
            mine = (r >= 0) & (who >= 0)
            pl = ib.payload[mine]
            self.planner.hear_claims(r[mine], who[mine], pl[:, 0].astype(np.int64), pl[:, 1], t)

    def _add_tracks(self, r: I64, origin: I64, sent_t: F64, tracks: NDArray[Any]) -> None:
        """Receivers ``r`` add the effort of the tracks they received.  The effort of one message is the same for
        every receiver, so it is integrated once per message and then added to each receiver's own row."""
        key = np.column_stack([origin.astype(np.float64), sent_t])
        uniq, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inv = inv.ravel()
        tr = tracks[first].astype(np.float64)  # (u, S, 3)
        a, b = tr[:, :-1], tr[:, 1:]
        f = (np.arange(SUBSTEPS) / SUBSTEPS)[None, None, :, None]
        pts = (a[:, :, None, :] + f * (b - a)[:, :, None, :]).reshape(tr.shape[0], -1, 3)
        pts = np.concatenate([pts, tr[:, -1:]], axis=1)
        det = self.cfg.detection
        s, c, e = glimpse_effort(self.grid, pts.reshape(-1, 3), SAMPLE_S / SUBSTEPS, det.rate_per_s, det.ref_alt_m,
                                 self.tan)
        msg = s // pts.shape[1]
        order = np.argsort(msg, kind="stable")
        msg, c, e = msg[order], c[order], e[order]
        nnz = np.bincount(msg, minlength=uniq.shape[0])
        start = np.concatenate([[0], np.cumsum(nnz)[:-1]])
        # expand: delivery k gets entries start[inv[k]] .. + nnz[inv[k]]
        cnt = nnz[inv]
        tot = int(cnt.sum())
        if not tot:
            return
        rep = np.repeat(np.arange(inv.size), cnt)
        idx = start[inv][rep] + (np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        flat = r[rep] * self.grid.n_cells + c[idx]
        add = np.bincount(flat, e[idx], minlength=self.belief.effort.size)
        self.belief.effort += add.reshape(self.belief.effort.shape).astype(np.float32)

    def choose(self, rows: I64, pos: F64, t: float) -> None:
        """Free workers ``rows`` at ``pos`` (k, 3) take a block; their claims go out."""
        free = rows[self.planner.block[rows] < 0]
        if not free.size:
            return
        took = self.planner.assign(free, pos[np.searchsorted(rows, free), :2], t)
        if took.size:
            b = self.planner.block[took]
            self.comms.flood(self.wid[took], self.k_claim, np.column_stack([b, self.planner.until[took]]), ttl=TTL)

    # -- results ---------------------------------------------------------------------------------------------
    def pos(self) -> float:
        """Probability of success so far: prior mass the fleet's real effort has detected."""
        return float((self.grid.prior * -np.expm1(-self.truth)).sum())

    def metrics(self) -> dict[str, object]:
        step = max(1, -(-len(self.pos_series) // 25))
        thin = self.pos_series[::step]
        if self.pos_series and thin[-1] != self.pos_series[-1]:
            thin.append(self.pos_series[-1])
        return {"search_strategy": self.scfg.strategy, "search_pos": round(self.pos(), 5),
                "search_pos_series": thin, "search_cells": self.grid.n_cells, "search_blocks": self.grid.n_blocks}
