"""Tracking evaluation: a seeded scenario generator and the standard multi-target metrics.

* GOSPA (Rahmathullah, García-Fernández & Svensson, FUSION 2017) with p = 1, c = 100 m, alpha = 2, split into its
  localisation, missed-target and false-track parts;
* OSPA (Schuhmacher, Vo & Vo, IEEE TSP 2008), p = 1, c = 100 m;
* CLEAR MOT accuracy MOTA (Bernardin & Stiefelhagen 2008) and the identity score IDF1 (Ristani et al. 2016), both
  with a 50 m match threshold.

The generator lays targets out at a constant density (five per km^2), flies them at drone speeds with a share
of them turning (coordinated turns), and makes scans with detection probability ``pd``, Gaussian position noise
and uniform clutter over the surveilled volume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from skyhive.airspace.tracker import Scan, Tracker

F64 = NDArray[np.float64]


@dataclass
class TrackingScenario:
    """Truth and detections of one generated run."""

    times: F64  # (K,)
    truth: F64  # (K, N, 3)
    scans: list[Scan]
    cooperative: NDArray[np.bool_]  # (N,) targets that broadcast Remote ID
    volume: tuple[F64, F64]  # (lo, hi) corners of the surveilled box
    clutter_density: float  # per m^3 per scan
    pd: float = 0.9  # the sensor's detection probability (what a real sensor would state)


def generate(n_targets: int, clutter_per_scan: float, pd: float = 0.9, noise_m: float = 10.0, scan_s: float = 1.0,
             n_scans: int = 60, seed: int = 0, manoeuvre_share: float = 0.3, rid_share: float = 0.5,
             density_per_km2: float = 5.0) -> TrackingScenario:
    """A reproducible tracking benchmark: N targets, clutter, Pd, noise, Remote ID share."""
    if n_targets < 0 or clutter_per_scan < 0 or not 0 < pd <= 1 or noise_m <= 0 or scan_s <= 0 or n_scans < 1:
        raise ValueError("n_targets, clutter >= 0; 0 < pd <= 1; noise, scan period > 0; n_scans >= 1")
    rng = np.random.default_rng(seed)
    side = 1000.0 * math.sqrt(max(n_targets, 1) / density_per_km2)
    lo, hi = np.array([0.0, 0.0, 20.0]), np.array([side, side, 300.0])
    N = n_targets
    margin = np.array([0.1 * side, 0.1 * side, 30.0])
    pos = rng.uniform(lo + margin, hi - margin, (N, 3))
    speed = rng.uniform(5.0, 25.0, N)
    heading = rng.uniform(0, 2 * np.pi, N)
    turn = np.where(rng.random(N) < manoeuvre_share, rng.choice([-1.0, 1.0], N) * rng.uniform(0.05, 0.2, N), 0.0)
    vz = rng.uniform(-1.0, 1.0, N)
    times = np.arange(n_scans) * scan_s
    truth = np.zeros((n_scans, N, 3))
    scans: list[Scan] = []
    volume = float(np.prod(hi - lo))
    R = np.eye(3) * noise_m**2
    for k, t in enumerate(times):
        if k:
            # alternate straight and turning 10-scan legs for the manoeuvring share
            w = np.where((k // 10) % 2 == 1, turn, 0.0)
            heading = heading + w * scan_s
            pos = pos + scan_s * np.stack([speed * np.sin(heading), speed * np.cos(heading), vz], axis=1)
            out = (pos[:, 2] < lo[2] + 10) | (pos[:, 2] > hi[2] - 10)
            vz = np.where(out, -vz, vz)
        truth[k] = pos
        det = rng.random(N) < pd
        z_t = pos[det] + rng.normal(0.0, noise_m, (int(det.sum()), 3))
        nc = rng.poisson(clutter_per_scan)
        z_c = rng.uniform(lo, hi, (nc, 3))
        z = np.vstack([z_t, z_c])
        who = np.concatenate([np.flatnonzero(det), np.full(nc, -1)])
        perm = rng.permutation(z.shape[0])
        scans.append(Scan(t=float(t), z=z[perm], R=R, truth=who[perm]))
    coop = rng.random(N) < rid_share
    return TrackingScenario(times.astype(np.float64), truth, scans, coop, (lo, hi), clutter_per_scan / volume, pd)


def run_tracker(tracker: Tracker, sc: TrackingScenario) -> list[tuple[NDArray[np.int64], F64]]:
    """Every scan of ``sc`` through ``tracker`` (told the scene's clutter density): the confirmed tracks after each."""
    est = []
    for scan in sc.scans:
        scan.clutter_density = sc.clutter_density
        tracker.process(scan)
        m = tracker.confirmed()
        est.append((tracker.ids[m], tracker.x[m, :3]))
    return est


@dataclass
class Gospa:
    total: float
    localisation: float
    missed: float
    false: float
    n_missed: int = 0
    n_false: int = 0


def gospa(truth: F64, est: F64, c: float = 100.0, p: float = 1.0) -> Gospa:
    """GOSPA with alpha = 2 between point sets ``truth`` (N, d) and ``est`` (M, d)."""
    n, m = truth.shape[0], est.shape[0]
    if n == 0 or m == 0:
        miss, false = c**p / 2 * n, c**p / 2 * m
        return Gospa((miss + false) ** (1 / p), 0.0, miss, false, n, m)
    d = cdist(truth, est)
    cost = np.minimum(d, c) ** p
    r, k = linear_sum_assignment(cost)
    ok = d[r, k] < c
    loc = float((d[r[ok], k[ok]] ** p).sum())
    n_ass = int(ok.sum())
    miss, false = c**p / 2 * (n - n_ass), c**p / 2 * (m - n_ass)
    return Gospa((loc + miss + false) ** (1 / p), loc, miss, false, n - n_ass, m - n_ass)


def ospa(truth: F64, est: F64, c: float = 100.0, p: float = 1.0) -> float:
    """OSPA distance (per-target average, cut-off ``c``)."""
    n, m = truth.shape[0], est.shape[0]
    if n == 0 and m == 0:
        return 0.0
    if n == 0 or m == 0:
        return c
    cost = np.minimum(cdist(truth, est), c) ** p
    r, k = linear_sum_assignment(cost)
    return float(((cost[r, k].sum() + c**p * abs(n - m)) / max(n, m)) ** (1 / p))


@dataclass
class MotAccumulator:
    """Frame-by-frame CLEAR MOT and IDF1 bookkeeping."""

    threshold: float = 50.0
    gt: int = 0
    fp: int = 0
    fn: int = 0
    idsw: int = 0
    matches: int = 0
    dist_sum: float = 0.0
    pred: int = 0
    last: dict[int, int] = field(default_factory=dict)
    pair_counts: dict[tuple[int, int], int] = field(default_factory=dict)

    def update(self, truth_ids: NDArray[np.int64], truth: F64, track_ids: NDArray[np.int64], est: F64) -> None:
        self.gt += truth.shape[0]
        self.pred += est.shape[0]
        if truth.shape[0] == 0 or est.shape[0] == 0:
            self.fn += truth.shape[0]
            self.fp += est.shape[0]
            return
        d = cdist(truth, est)
        r, k = linear_sum_assignment(np.where(d < self.threshold, d, 1e9))
        ok = d[r, k] < self.threshold
        r, k = r[ok], k[ok]
        self.matches += r.size
        self.dist_sum += float(d[r, k].sum())
        self.fn += truth.shape[0] - r.size
        self.fp += est.shape[0] - r.size
        for i, j in zip(truth_ids[r].tolist(), track_ids[k].tolist(), strict=True):
            prev = self.last.get(i)
            if prev is not None and prev != j:
                self.idsw += 1
            self.last[i] = j
        # IDF1 co-occurrence: every (truth, track) pair within the threshold this frame
        ti, tj = np.nonzero(d < self.threshold)
        for i, j in zip(truth_ids[ti].tolist(), track_ids[tj].tolist(), strict=True):
            self.pair_counts[(i, j)] = self.pair_counts.get((i, j), 0) + 1

    @property
    def mota(self) -> float:
        return 1.0 - (self.fn + self.fp + self.idsw) / max(self.gt, 1)

    @property
    def idf1(self) -> float:
        if not self.pair_counts:
            return 0.0
        tids = sorted({i for i, _ in self.pair_counts})
        kids = sorted({j for _, j in self.pair_counts})
        ti = {v: n for n, v in enumerate(tids)}
        kj = {v: n for n, v in enumerate(kids)}
        M = np.zeros((len(tids), len(kids)))
        for (i, j), n in self.pair_counts.items():
            M[ti[i], kj[j]] = n
        r, k = linear_sum_assignment(-M)
        idtp = float(M[r, k].sum())
        return 2.0 * idtp / max(self.gt + self.pred, 1)


@dataclass
class RunScore:
    gospa_mean: float
    gospa_localisation: float
    gospa_missed: float
    gospa_false: float
    ospa_mean: float
    mota: float
    idf1: float
    false_tracks_mean: float
    missed_mean: float


def score_run(truth: F64, estimates: list[tuple[NDArray[np.int64], F64]], skip: int = 5) -> RunScore:
    """Average the metrics over scans (the first ``skip`` scans, while tracks confirm, are left out)."""
    g: list[Gospa] = []
    o: list[float] = []
    acc = MotAccumulator()
    ids_truth = np.arange(truth.shape[1])
    for k in range(skip, truth.shape[0]):
        ids, est = estimates[k]
        g.append(gospa(truth[k], est))
        o.append(ospa(truth[k], est))
        acc.update(ids_truth, truth[k], ids, est)
    if not g:
        raise ValueError("run shorter than the warm-up")
    return RunScore(
        gospa_mean=float(np.mean([x.total for x in g])),
        gospa_localisation=float(np.mean([x.localisation for x in g])),
        gospa_missed=float(np.mean([x.missed for x in g])),
        gospa_false=float(np.mean([x.false for x in g])),
        ospa_mean=float(np.mean(o)),
        mota=acc.mota,
        idf1=acc.idf1,
        false_tracks_mean=float(np.mean([x.n_false for x in g])),
        missed_mean=float(np.mean([x.n_missed for x in g])),
    )
