"""Multi-sensor multi-target tracker, vectorized over tracks.

Model
-----
State ``[x, y, z, vx, vy, vz]`` (local ENU metres, m/s).  Each track runs an IMM (Blom & Bar-Shalom 1988) over two
near-constant-velocity models with the continuous white-noise-acceleration process noise (Bar-Shalom, Li &
Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001, sec. 6.2.2): a quiet model for
cruise (``q_cv``) and a high-noise model for manoeuvres (``q_manoeuvre``).  All tracks are held as arrays
``x (T, 2, 6)``, ``P (T, 2, 6, 6)``, ``mu (T, 2)`` and every step (mixing, prediction, update) is a batched NumPy
operation over tracks.

Measurements
------------
* Cartesian position (``Scan``) with a per-detection covariance: ADS-B, cameras, and radar plots converted from
  range/azimuth/elevation with :func:`polar_to_cartesian` (converted-measurement Kalman filter, covariance by the
  Jacobian of the conversion; Bar-Shalom et al. sec. 10.4; valid while ``r * sigma_angle`` stays well under the
  range and the cross-range noise stays near Gaussian, true for short-range drone radar).
* Bearing-only azimuth/elevation (``BearingScan``) from RF direction finders: an extended Kalman update with the
  azimuth/elevation Jacobian.  Bearings refine tracks but never start one (one bearing has no range).

Scans are processed in time order as they arrive (asynchronous fusion): predict every track to the scan time,
gate, assign, update.

Association
-----------
Gating: a cKDTree over the predicted track positions answers which detections lie within a Euclidean pre-gate of
each track (radius from the largest innovation spread), then the exact Mahalanobis test ``d^2 < gate_chi2`` keeps
the pairs.  Clustering: connected components of the gated bipartite graph (``scipy.sparse.csgraph``).  A cluster
with one track and one detection is assigned directly (vectorized); bigger clusters are solved with
``scipy.optimize.linear_sum_assignment`` on ``d^2 + ln|S|`` with one dummy "missed" column per track at cost
``gate_chi2`` (global nearest neighbour).  ``method="jpda"`` replaces the hard assignment by joint probabilistic
data association inside each cluster (exact enumeration of joint events for clusters up to ``jpda_max_events``
hypotheses, GNN beyond that), with the spread-of-innovations covariance term.

Track management (defaults chosen to hold at high clutter, see docs/airspace.md)
-----------------------------------------------------------------------------
* birth: every detection from an initiating sensor not used by a track starts a tentative track (position from
  the detection, velocity 0 with ``init_speed_sigma``);
* confirmation: ``confirm_m`` hits in the last ``confirm_n`` surveillance scans that covered the track (3 of 4);
* deletion: a tentative track as soon as it can no longer reach ``confirm_m`` in ``confirm_n``; a confirmed track
  after ``delete_misses`` consecutive misses (4) or when its position standard deviation exceeds
  ``max_pos_sigma_m``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

TENTATIVE = 0
CONFIRMED = 1


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters; the defaults are the documented ones (docs/airspace.md)."""

    q_cv: float = 0.05  # m^2/s^3, white-noise acceleration spectral density of the cruise model
    q_manoeuvre: float = 20.0  # m^2/s^3, manoeuvre model
    p_stay: tuple[float, float] = (0.99, 0.9)  # IMM Markov probability of staying in each model per update
    gate_chi2: float = 16.0  # Mahalanobis gate (3 dof: P(true inside) = 0.9989)
    init_speed_sigma: float = 25.0  # m/s, velocity std of a new track (drones up to ~40 m/s)
    confirm_m: int = 3
    confirm_n: int | None = None  # window of looks for confirm_m hits; None: from pd (see confirm_window)
    delete_misses: int | None = None  # consecutive misses that delete a confirmed track; None: from pd (miss_limit)
    max_pos_sigma_m: float = 300.0
    max_speed_mps: float = 60.0  # a tentative track faster than this is dropped (clutter pairs look fast)
    confirm_score: float = 8.0  # track log-likelihood ratio needed to confirm (odds ~3000:1 against clutter)
    tentative_max_looks: int | None = None  # a tentative track not confirmed after this many looks is dropped
    # (None: three confirmation windows)
    tentative_delete_score: float = -4.0  # or as soon as its score falls below this
    delete_score_drop: float = 8.0  # a confirmed track whose score falls this far below its peak is deleted
    method: Literal["gnn", "jpda"] = "gnn"
    pd: float = 0.9  # detection probability assumed when a scan does not state its own
    clutter_density: float = 1e-9  # false detections per m^3 per scan when a scan does not give its own
    jpda_max_events: int = 2000
    confirm_chance: float = 0.9  # derived window: a target seen with pd confirms within it with this probability
    miss_run_risk: float = 1e-3  # derived miss limit: chance that a held target misses that many scans in a row

    def __post_init__(self) -> None:
        if not 0.0 < self.pd < 1.0:
            raise ValueError("need 0 < pd < 1")
        if not 1 <= self.confirm_m <= self.confirm_window <= 30:
            raise ValueError("need 1 <= confirm_m <= confirm_n <= 30")
        if self.q_cv <= 0 or self.q_manoeuvre <= 0 or self.gate_chi2 <= 0 or self.miss_limit < 1:
            raise ValueError("q_cv, q_manoeuvre, gate_chi2 must be > 0 and delete_misses >= 1")

    @property
    def confirm_window(self) -> int:
        """Looks in which ``confirm_m`` hits confirm: ``confirm_n``, or the shortest window in which a target
        detected with probability ``pd`` gets ``confirm_m`` hits with probability ``confirm_chance`` (binomial)."""
        if self.confirm_n is not None:
            return self.confirm_n
        n = self.confirm_m
        while n < 30 and _at_least(self.confirm_m, n, self.pd) < self.confirm_chance:
            n += 1
        return n

    @property
    def miss_limit(self) -> int:
        """Consecutive misses that delete a confirmed track: ``delete_misses``, or the smallest run a target
        detected with probability ``pd`` shows with probability below ``miss_run_risk`` ((1 - pd)^n)."""
        if self.delete_misses is not None:
            return self.delete_misses
        return max(2, math.ceil(math.log(self.miss_run_risk) / math.log(1.0 - self.pd)))

    @property
    def max_tentative_looks(self) -> int:
        return self.tentative_max_looks if self.tentative_max_looks is not None else 3 * self.confirm_window


@dataclass
class Scan:
    """Cartesian position detections taken at one time by one sensor.

    ``R`` is (D, 3, 3) or one (3, 3) matrix for all.  ``initiate``: may start tracks.  ``surveillance``: counts as a
    look for confirmation/deletion (hits and misses) for tracks within ``coverage`` (centre, max range), or for all
    tracks when ``coverage`` is None.
    """

    t: float
    z: F64
    R: F64
    sensor: str = "radar"
    initiate: bool = True
    surveillance: bool = True
    coverage: tuple[F64, float] | None = None
    clutter_density: float | None = None  # per m^3 per scan (radar: false alarms / coverage volume)
    pd: float | None = None  # the sensor's detection probability for this scan (None: the tracker's ``pd``)
    truth: I64 | None = None  # optional: which true object made each detection (evaluation only, never read)
    covers: Callable[[F64], NDArray[np.bool_]] | None = None  # which track positions this scan looked at
    # (overrides ``coverage``; cameras: inside the view of a drone that reported in this frame)


@dataclass
class BearingScan:
    """Azimuth (deg from north, clockwise) and elevation (deg) of emitters seen by one direction finder."""

    t: float
    sensor_pos: F64
    az_deg: F64
    el_deg: F64
    sigma_deg: float
    sensor: str = "rf_df"


def polar_to_cartesian(sensor_pos: F64, r: F64, az_deg: F64, el_deg: F64, sig_r: float | F64, sig_az_deg: float,
                       sig_el_deg: float) -> tuple[F64, F64]:
    """Polar plots (range, azimuth from north, elevation) to ENU positions and their covariances (Jacobian).

    ``sensor_pos`` is one (3,) position or one per plot (K, 3); ``sig_r`` a scalar or one per plot (cameras
    estimate range with an error that grows with range)."""
    az, el = np.radians(az_deg), np.radians(el_deg)
    ca, sa, ce, se = np.cos(az), np.sin(az), np.cos(el), np.sin(el)
    z = np.asarray(sensor_pos, float).reshape(-1, 3) + r[:, None] * np.stack([ce * sa, ce * ca, se], axis=1)
    J = np.zeros((r.size, 3, 3))
    J[:, 0, 0], J[:, 0, 1], J[:, 0, 2] = ce * sa, r * ce * ca, -r * se * sa
    J[:, 1, 0], J[:, 1, 1], J[:, 1, 2] = ce * ca, -r * ce * sa, -r * se * ca
    J[:, 2, 0], J[:, 2, 2] = se, r * ce
    D = np.zeros((r.size, 3, 3))
    D[:, 0, 0] = np.broadcast_to(np.asarray(sig_r, float) ** 2, r.shape)
    D[:, 1, 1], D[:, 2, 2] = math.radians(sig_az_deg) ** 2, math.radians(sig_el_deg) ** 2
    R = J @ D @ J.transpose(0, 2, 1)
    return z, R


def _F(dt: float) -> F64:
    F = np.eye(6)
    F[0, 3] = F[1, 4] = F[2, 5] = dt
    return F


def _Q(dt: float, q: float) -> F64:
    """Continuous white-noise acceleration, discretized (per axis [[dt^3/3, dt^2/2], [dt^2/2, dt]] * q)."""
    Q = np.zeros((6, 6))
    for k in range(3):
        Q[k, k] = dt**3 / 3.0 * q
        Q[k, k + 3] = Q[k + 3, k] = dt**2 / 2.0 * q
        Q[k + 3, k + 3] = dt * q
    return Q


H_POS = np.hstack([np.eye(3), np.zeros((3, 3))])


@dataclass
class ScanResult:
    """What one scan did: for each detection, the id of the track it updated (or -1)."""

    det_track: I64
    born: I64 = field(default_factory=lambda: np.zeros(0, np.int64))


class Tracker:
    """IMM tracker with clustered GNN (or JPDA) association; all track data are arrays indexed by row."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.cfg = config or TrackerConfig()
        c = self.cfg
        p0, p1 = c.p_stay
        self.Pi = np.array([[p0, 1 - p0], [1 - p1, p1]])
        self._alloc(0)
        self.t = -math.inf
        self.next_id = 1
        self.stats = {"bad_detections": 0, "scans": 0,
                      "detections": 0, "assigned": 0, "births": 0, "confirmed_total": 0, "deleted": 0,
                      "bearings_used": 0}

    def _alloc(self, n: int) -> None:
        self.xm = np.zeros((n, 2, 6))
        self.Pm = np.zeros((n, 2, 6, 6))
        self.mu = np.zeros((n, 2))
        self.ids = np.zeros(n, np.int64)
        self.status = np.zeros(n, np.int8)
        self.hits = np.zeros(n, np.int64)  # bit k = hit k surveillance looks ago
        self.looks = np.zeros(n, np.int64)
        self.misses = np.zeros(n, np.int64)  # consecutive
        self.born_t = np.zeros(n)
        self.last_t = np.zeros(n)
        self.confirmed_t = np.full(n, np.nan)
        self.score = np.zeros(n)
        self.peak = np.zeros(n)

    # -- views ---------------------------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.ids.size)

    @property
    def x(self) -> F64:
        """Combined (IMM-mixed) state, (T, 6)."""
        return np.einsum("tm,tmk->tk", self.mu, self.xm)

    @property
    def P(self) -> F64:
        x = self.x
        d = self.xm - x[:, None, :]
        return np.einsum("tm,tmij->tij", self.mu, self.Pm + d[..., :, None] * d[..., None, :])

    def confirmed(self) -> NDArray[np.bool_]:
        return self.status == CONFIRMED

    # -- predict -------------------------------------------------------------------------------------------------
    def predict(self, t: float) -> None:
        """IMM mixing then prediction of every track to time ``t``."""
        dt = t - self.t if math.isfinite(self.t) else 0.0
        if dt < -1e-9:
            raise ValueError(f"scans must come in time order: {t} < {self.t}")
        self.t = max(self.t, t)
        if self.n == 0 or dt <= 0.0:
            return
        c = self.mu @ self.Pi  # (T, 2) predicted model probabilities
        w = self.mu[:, :, None] * self.Pi[None, :, :] / np.maximum(c[:, None, :], 1e-300)  # w[t, i, j] = mu_i|j
        x0 = np.einsum("tij,tik->tjk", w, self.xm)
        d = self.xm[:, :, None, :] - x0[:, None, :, :]  # (T, i, j, 6)
        P0 = np.einsum("tij,tiab->tjab", w, self.Pm) + np.einsum("tij,tija,tijb->tjab", w, d, d)
        F = _F(dt)
        self.xm = x0 @ F.T
        self.Pm = F @ P0 @ F.T + np.stack([_Q(dt, self.cfg.q_cv), _Q(dt, self.cfg.q_manoeuvre)])[None]
        self.mu = c

    # -- update helpers --------------------------------------------------------------------------------------------
    def _update_linear(self, rows: I64, z: F64, R: F64) -> F64:
        """IMM update of tracks ``rows`` with positions ``z`` (K, 3), ``R`` (K, 3, 3); returns ln p(z) per track."""
        if rows.size == 0:
            return np.zeros(0)
        x, P = self.xm[rows], self.Pm[rows]  # (K, 2, 6), (K, 2, 6, 6)
        nu = z[:, None, :] - x[..., :3]
        S = P[..., :3, :3] + R[:, None]
        Sinv = np.linalg.inv(S)
        K = P[..., :, :3] @ Sinv  # (K, 2, 6, 3)
        self.xm[rows] = x + np.einsum("kmij,kmj->kmi", K, nu)
        IKH = np.eye(6)[None, None] - K @ H_POS[None, None]
        Pn = IKH @ P @ IKH.transpose(0, 1, 3, 2) + K @ R[:, None] @ K.transpose(0, 1, 3, 2)  # Joseph form
        self.Pm[rows] = 0.5 * (Pn + Pn.transpose(0, 1, 3, 2))
        d2 = np.einsum("kmi,kmij,kmj->km", nu, Sinv, nu)
        loglik = -0.5 * (d2 + np.log(np.linalg.det(S)) + 3.0 * math.log(2 * math.pi))
        top = loglik.max(axis=1, keepdims=True)
        mu = self.mu[rows] * np.exp(loglik - top)
        total = mu.sum(axis=1)
        self.mu[rows] = mu / total[:, None]
        return np.log(np.maximum(total, 1e-300)) + top[:, 0]

    def _update_mixture(self, rows: I64, beta: F64, zs: F64, Rs: F64, beta0: F64, lam: float, pd: float) -> F64:
        """PDA-style update of tracks ``rows`` with weighted measurements (JPDA): ``beta`` (K, G), ``zs`` (K, G, 3)."""
        x, P = self.xm[rows], self.Pm[rows]
        R = np.einsum("kg,kgij->kij", beta, Rs) / np.maximum(beta.sum(axis=1), 1e-12)[:, None, None]
        S = P[..., :3, :3] + R[:, None]
        Sinv = np.linalg.inv(S)
        K = P[..., :, :3] @ Sinv
        nus = zs[:, None, :, :] - x[:, :, None, :3]  # (K, 2, G, 3)
        nu = np.einsum("kg,kmgi->kmi", beta, nus)
        self.xm[rows] = x + np.einsum("kmij,kmj->kmi", K, nu)
        Pc = P - K @ S @ K.transpose(0, 1, 3, 2)
        spread = np.einsum("kg,kmgi,kmgj->kmij", beta, nus, nus) - nu[..., :, None] * nu[..., None, :]
        Pn = beta0[:, None, None, None] * P + (1 - beta0)[:, None, None, None] * Pc + K @ spread @ K.transpose(
            0, 1, 3, 2)
        self.Pm[rows] = 0.5 * (Pn + Pn.transpose(0, 1, 3, 2))
        # model likelihood of the PDA mixture: (1 - Pd) lambda + Pd sum_g N(nu_g; 0, S_m) over the gated detections
        d2 = np.einsum("kmgi,kmij,kmgj->kmg", nus, Sinv, nus)
        lik = np.exp(-0.5 * d2) / np.sqrt((2 * np.pi) ** 3 * np.linalg.det(S))[..., None]
        lm = (1 - pd) * lam + pd * np.einsum("kmg,kg->km", lik, (beta > 0).astype(float)) + 1e-300
        mu = self.mu[rows] * lm
        total = mu.sum(axis=1)
        self.mu[rows] = mu / total[:, None]
        return np.log(total / lam)  # track score increment of the PDA mixture

    # -- scans ---------------------------------------------------------------------------------------------------
    def process(self, scan: Scan) -> ScanResult:
        """Predict to the scan time, associate, update, manage tracks."""
        c = self.cfg
        z = np.asarray(scan.z, float).reshape(-1, 3)
        D = z.shape[0]
        R = np.asarray(scan.R, float)
        R = np.broadcast_to(R, (D, 3, 3)) if R.ndim == 2 else R.reshape(D, 3, 3)
        good = np.isfinite(z).all(axis=1) & np.isfinite(R).all(axis=(1, 2)) & (np.linalg.eigvalsh(R)[:, 0] > 0)
        if not good.all():  # a detection with NaN or a non-positive covariance is dropped and counted
            self.stats["bad_detections"] += int((~good).sum())
            z, R, D = z[good], R[good], int(good.sum())
        self.predict(scan.t)
        self.stats["scans"] += 1
        self.stats["detections"] += D
        lam = scan.clutter_density if scan.clutter_density is not None else c.clutter_density
        lam = max(lam, 1e-15)  # a scan that states no clutter at all: still a finite likelihood ratio
        pd = float(np.clip(scan.pd, 1e-3, 1 - 1e-3)) if scan.pd is not None else c.pd
        det_track = np.full(D, -1, np.int64)
        T = self.n
        used = np.zeros(D, bool)
        hit = np.zeros(T, bool)
        gain = np.zeros(T)
        if T and D:
            ti, di, d2, logdet = self._gate(z, R)
            if ti.size:
                if c.method == "jpda":
                    hit, used, det_track, gain = self._jpda(ti, di, d2, logdet, z, R, lam, pd)
                    used[di[self.status[ti] == CONFIRMED]] = True  # no births inside a confirmed track's gate
                else:
                    at, ad = self._gnn(ti, di, d2 + logdet, d2)
                    ll = self._update_linear(at, z[ad], R[ad])
                    gain[at] = math.log(pd) + ll - math.log(lam)
                    hit[at] = True
                    used[ad] = True
                    det_track[ad] = self.ids[at]
        self.stats["assigned"] += int(used.sum())
        if scan.surveillance and T:
            look = np.ones(T, bool)
            if scan.covers is not None:
                look = np.asarray(scan.covers(self.x[:, :3]), bool)
            elif scan.coverage is not None:
                centre, rng = scan.coverage
                look = np.linalg.norm(self.x[:, :3] - np.asarray(centre)[None], axis=1) <= rng
            look |= hit  # a track that got a detection was looked at
            self._book(hit, look, scan.t, gain, pd)
        born = np.zeros(0, np.int64)
        if scan.initiate:
            new = np.flatnonzero(~used)
            born = self._birth(z[new], R[new], scan.t)
            det_track[new] = born
        return ScanResult(det_track, born)

    def process_bearings(self, scan: BearingScan) -> I64:
        """EKF update of the nearest-in-angle track for each bearing (GNN on normalised angle distance)."""
        self.predict(scan.t)
        D = scan.az_deg.size
        out = np.full(D, -1, np.int64)
        if self.n == 0 or D == 0:
            return out
        rows = np.flatnonzero(self.status == CONFIRMED)
        if rows.size == 0:
            return out
        x = self.x[rows]
        P = self.P[rows]
        h, Hj = _bearing_model(x, np.asarray(scan.sensor_pos, float))
        s2 = math.radians(scan.sigma_deg) ** 2
        S = Hj @ P @ Hj.transpose(0, 2, 1) + s2 * np.eye(2)[None]
        Sinv = np.linalg.inv(S)
        zb = np.radians(np.stack([scan.az_deg, scan.el_deg], axis=1))
        nu = zb[None, :, :] - h[:, None, :]
        nu[..., 0] = (nu[..., 0] + np.pi) % (2 * np.pi) - np.pi
        d2 = np.einsum("tdi,tij,tdj->td", nu, Sinv, nu)
        cost = np.where(d2 < 9.21 * 1.5, d2, 1e6)  # 2 dof gate
        tr, dc = linear_sum_assignment(cost)
        ok = cost[tr, dc] < 1e6
        tr, dc = tr[ok], dc[ok]
        if tr.size == 0:
            return out
        r = rows[tr]
        for m in range(2):  # EKF update per model with the combined-state Jacobian
            xm, Pm = self.xm[r, m], self.Pm[r, m]
            hm, Hm = _bearing_model(xm, np.asarray(scan.sensor_pos, float))
            Sm = Hm @ Pm @ Hm.transpose(0, 2, 1) + s2 * np.eye(2)[None]
            Km = Pm @ Hm.transpose(0, 2, 1) @ np.linalg.inv(Sm)
            num = zb[dc] - hm
            num[:, 0] = (num[:, 0] + np.pi) % (2 * np.pi) - np.pi
            self.xm[r, m] = xm + np.einsum("kij,kj->ki", Km, num)
            Pn = (np.eye(6)[None] - Km @ Hm) @ Pm
            self.Pm[r, m] = 0.5 * (Pn + Pn.transpose(0, 2, 1))
        self.last_t[r] = scan.t
        out[dc] = self.ids[r]
        self.stats["bearings_used"] += int(r.size)
        return out

    # -- association -----------------------------------------------------------------------------------------------
    def _gate(self, z: F64, R: F64) -> tuple[I64, I64, F64, F64]:
        """Candidate (track, detection) pairs inside the Mahalanobis gate, found through a cKDTree."""
        x, P = self.x, self.P
        Sp = P[:, :3, :3]
        spread = math.sqrt(float(np.linalg.eigvalsh(Sp).max() + np.linalg.eigvalsh(R).max()))
        radius = math.sqrt(self.cfg.gate_chi2) * spread
        tree = cKDTree(x[:, :3])
        lists = tree.query_ball_point(z, r=radius)
        lens = np.fromiter((len(a) for a in lists), np.int64, count=len(lists))
        if lens.sum() == 0:
            e = np.zeros(0, np.int64)
            return e, e, np.zeros(0), np.zeros(0)
        ti = np.fromiter((i for a in lists for i in a), np.int64, count=int(lens.sum()))
        di = np.repeat(np.arange(z.shape[0]), lens)
        S = Sp[ti] + R[di]
        nu = z[di] - x[ti, :3]
        d2 = np.einsum("ki,ki->k", nu, np.linalg.solve(S, nu[..., None])[..., 0])
        keep = d2 < self.cfg.gate_chi2
        return ti[keep], di[keep], d2[keep], np.log(np.linalg.det(S[keep]))

    def _clusters(self, ti: I64, di: I64, D: int) -> tuple[int, I64]:
        T = self.n
        g = coo_matrix((np.ones(ti.size), (ti, T + di)), shape=(T + D, T + D))
        ncomp, label = connected_components(g, directed=False)
        return ncomp, label[ti]

    def _gnn(self, ti: I64, di: I64, cost: F64, d2: F64) -> tuple[I64, I64]:
        """Clustered global nearest neighbour: singletons directly, the rest by linear_sum_assignment."""
        D = int(di.max()) + 1
        _, lab = self._clusters(ti, di, D)
        order = np.argsort(lab, kind="stable")
        ti, di, cost, lab = ti[order], di[order], cost[order], lab[order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        sizes = np.diff(np.r_[starts, lab.size])
        single = starts[sizes == 1]
        at, ad = [ti[single]], [di[single]]
        miss_cost = self.cfg.gate_chi2 + float(np.median(cost - d2)) if cost.size else self.cfg.gate_chi2
        for s, n in zip(starts[sizes > 1], sizes[sizes > 1], strict=True):
            t_c, d_c, c_c = ti[s:s + n], di[s:s + n], cost[s:s + n]
            ut, it = np.unique(t_c, return_inverse=True)
            ud, jd = np.unique(d_c, return_inverse=True)
            C = np.full((ut.size, ud.size + ut.size), 1e9)
            C[it, jd] = c_c
            C[np.arange(ut.size), ud.size + np.arange(ut.size)] = miss_cost
            r, k = linear_sum_assignment(C)
            ok = k < ud.size
            at.append(ut[r[ok]])
            ad.append(ud[k[ok]])
        return np.concatenate(at), np.concatenate(ad)

    def _jpda(self, ti: I64, di: I64, d2: F64, logdet: F64, z: F64, R: F64, lam: float, pd: float
              ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], I64, F64]:
        """Joint probabilistic data association per cluster (exact joint events), GNN for oversized clusters."""
        c = self.cfg
        T, D = self.n, z.shape[0]
        hit = np.zeros(T, bool)
        used = np.zeros(D, bool)
        det_track = np.full(D, -1, np.int64)
        # likelihood ratio of a detection against clutter: Pd N(nu; S) / lambda
        lr = pd * np.exp(-0.5 * d2 - 0.5 * logdet) / ((2 * np.pi) ** 1.5 * lam)
        _, lab = self._clusters(ti, di, D)
        order = np.argsort(lab, kind="stable")
        ti, di, lr, lab = ti[order], di[order], lr[order], lab[order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        sizes = np.diff(np.r_[starts, lab.size])
        rows_all: list[int] = []
        betas: list[F64] = []
        dets: list[I64] = []
        beta0s: list[float] = []
        for s, n in zip(starts, sizes, strict=True):
            t_c, d_c, l_c = ti[s:s + n], di[s:s + n], lr[s:s + n]
            ut, it = np.unique(t_c, return_inverse=True)
            ud, jd = np.unique(d_c, return_inverse=True)
            L = np.zeros((ut.size, ud.size))
            L[it, jd] = l_c
            options = [[-1, *np.flatnonzero(L[k]).tolist()] for k in range(ut.size)]
            n_events = math.prod(len(o) for o in options)
            B = np.zeros((ut.size, ud.size + 1))  # last column: missed
            if n_events <= c.jpda_max_events:
                for ev in product(*options):
                    chosen = [e for e in ev if e >= 0]
                    if len(chosen) != len(set(chosen)):
                        continue
                    w = math.prod(L[k, e] if e >= 0 else (1 - pd) for k, e in enumerate(ev))
                    for k, e in enumerate(ev):
                        B[k, e if e >= 0 else ud.size] += w
            else:  # too many joint events: fall back to the GNN choice with weight 1
                C = np.where(L > 0, -np.log(np.maximum(L, 1e-300)), 1e9)
                C = np.hstack([C, np.where(np.eye(ut.size) > 0, -math.log(1 - pd), 1e9)])
                r, k = linear_sum_assignment(C)
                B[r, np.minimum(k, ud.size)] = 1.0
            B /= np.maximum(B.sum(axis=1, keepdims=True), 1e-300)
            for k in range(ut.size):
                if B[k, :-1].sum() <= 1e-12:
                    continue
                rows_all.append(int(ut[k]))
                betas.append(B[k, :-1])
                dets.append(ud)
                beta0s.append(float(B[k, -1]))
            best = B[:, :-1].argmax(axis=0)  # each detection: the track most likely to own it
            own = B[best, np.arange(ud.size)] > 0.5
            used[ud] |= B[:, :-1].sum(axis=0) > 0.5
            det_track[ud[own]] = self.ids[ut[best[own]]]
            hit[ut] |= B[:, :-1].sum(axis=1) > 0.5
        gain = np.zeros(T)
        if rows_all:
            G = max(b.size for b in betas)
            K = len(rows_all)
            beta = np.zeros((K, G))
            zs = np.zeros((K, G, 3))
            Rs = np.broadcast_to(np.eye(3), (K, G, 3, 3)).copy()
            for k, (b, dd) in enumerate(zip(betas, dets, strict=True)):
                beta[k, :b.size], zs[k, :b.size], Rs[k, :b.size] = b, z[dd], R[dd]
            rows = np.asarray(rows_all)
            gain[rows] = self._update_mixture(rows, beta, zs, Rs, np.asarray(beta0s), lam, pd)
        return hit, used, det_track, gain

    # -- bookkeeping -----------------------------------------------------------------------------------------------
    def _book(self, hit: NDArray[np.bool_], look: NDArray[np.bool_], t: float, gain: F64, pd: float) -> None:
        c = self.cfg
        # sequential track score (log-likelihood ratio, Blackman & Popoli 1999 sec. 6.2): hit +ln(Pd p(z)/lambda),
        # miss +ln(1 - Pd)
        self.score = np.where(hit, self.score + gain, np.where(look, self.score + math.log(1 - pd), self.score))
        self.peak = np.maximum(self.peak, self.score)
        n_win = c.confirm_window
        mask = (1 << n_win) - 1
        self.hits = np.where(look, ((self.hits << 1) | hit) & mask, self.hits)
        self.looks = np.where(look, self.looks + 1, self.looks)
        self.misses = np.where(hit, 0, np.where(look, self.misses + 1, self.misses))
        self.last_t = np.where(hit, t, self.last_t)
        nhits = _popcount(self.hits)
        newly = (self.status == TENTATIVE) & (nhits >= c.confirm_m) & (self.score >= c.confirm_score)
        self.status[newly] = CONFIRMED
        self.confirmed_t[newly] = t
        self.stats["confirmed_total"] += int(newly.sum())
        window = np.minimum(self.looks, n_win)
        too_fast = np.linalg.norm(self.x[:, 3:], axis=1) > c.max_speed_mps
        tentative_dead = (self.status == TENTATIVE) & ((nhits + (n_win - window) < c.confirm_m) | too_fast
                                                       | (self.looks > c.max_tentative_looks)
                                                       | (self.score < c.tentative_delete_score))
        sigma = np.sqrt(np.trace(self.P[:, :3, :3], axis1=1, axis2=2) / 3.0)
        confirmed_dead = (self.status == CONFIRMED) & ((self.misses >= c.miss_limit) | (sigma > c.max_pos_sigma_m)
                                                       | (self.score < self.peak - c.delete_score_drop))
        self._keep(~(tentative_dead | confirmed_dead))

    def _keep(self, keep: NDArray[np.bool_]) -> None:
        self.stats["deleted"] += int((~keep).sum())
        for name in ("xm", "Pm", "mu", "ids", "status", "hits", "looks", "misses", "born_t", "last_t", "confirmed_t",
                     "score", "peak"):
            setattr(self, name, getattr(self, name)[keep])

    def _birth(self, z: F64, R: F64, t: float) -> I64:
        k = z.shape[0]
        if k == 0:
            return np.zeros(0, np.int64)
        xm = np.zeros((k, 2, 6))
        xm[:, :, :3] = z[:, None, :]
        Pm = np.zeros((k, 2, 6, 6))
        Pm[:, :, :3, :3] = R[:, None]
        Pm[:, :, 3:, 3:] = np.eye(3) * self.cfg.init_speed_sigma**2
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        self.xm = np.concatenate([self.xm, xm])
        self.Pm = np.concatenate([self.Pm, Pm])
        self.mu = np.concatenate([self.mu, np.tile([0.8, 0.2], (k, 1))])
        self.ids = np.concatenate([self.ids, ids])
        self.status = np.concatenate([self.status, np.zeros(k, np.int8)])
        self.hits = np.concatenate([self.hits, np.ones(k, np.int64)])
        self.looks = np.concatenate([self.looks, np.ones(k, np.int64)])
        self.misses = np.concatenate([self.misses, np.zeros(k, np.int64)])
        self.born_t = np.concatenate([self.born_t, np.full(k, t)])
        self.last_t = np.concatenate([self.last_t, np.full(k, t)])
        self.confirmed_t = np.concatenate([self.confirmed_t, np.full(k, np.nan)])
        self.score = np.concatenate([self.score, np.zeros(k)])
        self.peak = np.concatenate([self.peak, np.zeros(k)])
        self.stats["births"] += k
        return ids


def _at_least(m: int, n: int, p: float) -> float:
    """P(at least m successes in n Bernoulli(p) trials)."""
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(m, n + 1))


def _popcount(a: I64) -> I64:
    out = np.zeros_like(a)
    v = a.copy()
    while np.any(v):
        out += v & 1
        v >>= 1
    return out


def _bearing_model(x: F64, sensor: F64) -> tuple[F64, F64]:
    """Azimuth (from north, clockwise) and elevation of states ``x`` (K, 6) seen from ``sensor``, and the Jacobian."""
    d = x[:, :3] - sensor[None]
    e, n, u = d[:, 0], d[:, 1], d[:, 2]
    rh2 = np.maximum(e * e + n * n, 1e-6)
    rh = np.sqrt(rh2)
    r2 = rh2 + u * u
    h = np.stack([np.arctan2(e, n), np.arctan2(u, rh)], axis=1)
    H = np.zeros((x.shape[0], 2, 6))
    H[:, 0, 0], H[:, 0, 1] = n / rh2, -e / rh2
    H[:, 1, 0], H[:, 1, 1], H[:, 1, 2] = -e * u / (rh * r2), -n * u / (rh * r2), rh / r2
    return h, H
