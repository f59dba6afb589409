"""Consensus-Based Bundle Algorithm (Choi, Brunet & How 2009, IEEE T-RO 25(4)), batched over drones.

Every drone i keeps its own knowledge row:

* ``y[i, j]`` (float32) -- the winning bid it believes for task j,
* ``z[i, j]`` (int32)   -- who it believes wins j (-1: nobody),
* ``t[i, j]`` (int32)   -- the round that entry was decided (bid, release, expiry): breaks the timestamp ties
  that Table 1 leaves open (docs/autonomy.md),
* ``s[i, k]`` (int32)   -- the last round it heard from drone k, directly or by relay,
* its bundle (tasks in the order it bid) and path (the order it will fly them).

A round is: consensus over the messages delivered this round (the full Table-1 rules), expiry of bids
whose winner went silent, bundle release after an outbid task, bundle building, and a broadcast of the
drone's (y, z, t, s) row.  All of it is one array pass over the drones (numba, ``prange``), and each drone's
update reads only its own row and its inbox (see ``_kernels.py``).

Memory (the reason for the dtypes): y float32 + z int32 + t int32 is 12 bytes per (drone, task) -- 240 MB at
N = 2,000 x M = 10,000, plus the same again for the round's broadcast snapshot -- and s is 4 N^2 bytes
(16 MB at N = 2,000).  That is each drone's own CBBA state laid side by side; a drone's message is its
row (12 M + 4 N bytes: 128 kB at M = 10,000, counted in ``bytes_sent``).

Scoring: a drone's path value is sum_j value_j * lambda^(arrival_j - now) with arrival times from flying the
path in order at the drone's speed, waiting for a window to open and staying the service time.  A task's
bid is its marginal gain at the best insertion point of the current path, capped by the previous bid in
the bundle (bid warping), so bids along a bundle never increase: diminishing marginal gain, the property
CBBA's convergence proof needs (docs/autonomy.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skyhive.autonomy import _kernels as K
from skyhive.autonomy.tasks import TaskSet
from skyhive.autonomy.transport import Transport

KIND = "cbba"


@dataclass(frozen=True)
class CBBAConfig:
    """Tuning.  ``stale_rounds`` must exceed the rounds that news of a live drone needs to cross the network
    (about heartbeat x diameter); ``None`` disables winner expiry (no failure handling)."""

    max_bundle: int = 5
    discount: float = 0.999  # lambda per second of arrival time
    heartbeat: int = 1  # a drone re-broadcasts at least every this many rounds, changed or not
    stale_rounds: int | None = 50
    window: int = 10  # rounds without change before a drone considers itself converged

    def __post_init__(self) -> None:
        if self.max_bundle < 1:
            raise ValueError("max_bundle must be >= 1")
        if not 0.0 < self.discount <= 1.0:
            raise ValueError("discount must be in (0, 1]")
        if self.heartbeat < 1 or self.window < 1:
            raise ValueError("heartbeat and window must be >= 1")


@dataclass
class RoundStats:
    round: int
    changed: int
    senders: int
    delivered: int


@dataclass
class CBBA:
    """The allocator for N drones.  ``pos`` (N, 3) where each drone starts its path, ``cap`` capability masks."""

    tasks: TaskSet
    pos: NDArray[np.float64]
    cap: NDArray[np.uint32] | None = None
    speed: NDArray[np.float64] | float = 10.0
    endurance: NDArray[np.float64] | float = np.inf  # seconds of flight left per drone
    config: CBBAConfig = field(default_factory=CBBAConfig)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.pos = np.ascontiguousarray(self.pos, dtype=np.float64)
        if self.pos.ndim != 2 or self.pos.shape[1] != 3 or not np.isfinite(self.pos).all():
            raise ValueError(f"pos must be a finite (N, 3) array, got shape {self.pos.shape}")
        n, m, cfg = self.n, len(self.tasks), self.config
        if self.cap is not None and np.shape(self.cap) != (n,):
            raise ValueError(f"cap must have one mask per drone ({n}), got shape {np.shape(self.cap)}")
        if not np.all(np.asarray(self.endurance) > 0):
            raise ValueError("endurance must be > 0 seconds")
        self.cap_arr = np.zeros(n, np.uint32) if self.cap is None else np.asarray(self.cap, np.uint32).copy()
        self.speed_arr = np.broadcast_to(np.asarray(self.speed, np.float64), (n,)).copy()
        if not (self.speed_arr > 0).all():
            raise ValueError("speed must be > 0")
        self.t_avail = np.full(n, self.now)
        self.t_limit = self.t_avail + np.broadcast_to(np.asarray(self.endurance, np.float64), (n,))
        self.y = np.zeros((n, m), np.float32)
        self.z = np.full((n, m), -1, np.int32)
        self.t = np.full((n, m), -1, np.int32)  # round in which each entry was decided (tie-break only)
        # what each drone itself counts as open (heard of, not heard done or cancelled); all True without a mission
        self.usable = np.ones((n, m), bool)
        self.s = np.full((n, n), -1, np.int32)
        self.bundle = np.full((n, cfg.max_bundle), -1, np.int32)
        self.path = np.full((n, cfg.max_bundle), -1, np.int32)
        self.blen = np.zeros(n, np.int32)
        self.alive = np.ones(n, bool)
        self.last_change = np.zeros(n, np.int64)
        self.last_sent = np.full(n, -(10**9), np.int64)
        self._dirty = np.ones(n, bool)  # own row changed since the last bundle build
        self._force_change = np.zeros(n, bool)  # own row changed outside a round (battery)
        self.round = 0
        self.history: list[RoundStats] = []

    @property
    def n(self) -> int:
        return int(self.pos.shape[0])

    # -- the round -----------------------------------------------------------------------------------

    def step(self, transport: Transport) -> RoundStats:
        """One CBBA round for every live drone: read inbox, consensus, expiry, release, build, broadcast."""
        r = self.round
        cfg = self.config
        tk = self.tasks
        changed = self._force_change.copy()
        self._force_change[:] = False
        inbox = transport.inbox(KIND)
        if len(inbox):
            recv = np.unique(inbox.receivers).astype(np.int64)
            K.consensus(self.y, self.z, self.t, self.s, self.alive, recv, inbox.offsets, inbox.senders, inbox.rows,
                        inbox.payload["y"], inbox.payload["z"], inbox.payload["t"], inbox.payload["s"], changed)
        if cfg.stale_rounds is not None:
            K.expire_stale(self.y, self.z, self.t, self.s, self.alive, r, cfg.stale_rounds, changed)
        K.release(self.y, self.z, self.t, r, self.bundle, self.path, self.blen, self.alive, tk.active, self.usable,
                  changed)
        self._dirty |= changed
        todo = np.flatnonzero(self._dirty & self.alive & (self.blen < cfg.max_bundle)).astype(np.int64)
        if todo.size:
            K.build_bundles(todo, self.y, self.z, self.t, r, self.bundle, self.path, self.blen, self.pos, self.t_avail,
                            self.t_limit,
                            self.speed_arr, self.cap_arr, self.now, float(np.log(cfg.discount)), tk.pos, tk.value,
                            tk.t_start, tk.t_end, tk.service, tk.req_cap, tk.active, self.usable, changed)
        self._dirty[:] = False
        self.last_change[changed] = r
        ids = np.arange(self.n)
        send = self.alive & (changed | (r - self.last_sent >= cfg.heartbeat))
        senders = np.flatnonzero(send).astype(np.int32)
        if senders.size:
            self.s[senders, senders] = r
            self.last_sent[senders] = r
            payload = {"y": self.y[senders], "z": self.z[senders], "t": self.t[senders], "s": self.s[senders]}
            transport.broadcast(KIND, senders, payload, nbytes=12 * len(tk) + 4 * self.n)
        del ids
        st = RoundStats(r, int(changed.sum()), int(senders.size), len(inbox))
        self.history.append(st)
        self.round = r + 1
        transport.tick(float(self.round))
        return st

    def run(self, transport: Transport, max_rounds: int = 1000) -> int:
        """Step until every live drone has been unchanged for ``window`` rounds and at least ``window`` +
        ``stale_rounds`` rounds were run (news still in flight: a failure, a healed link).
        Return the rounds run."""
        start = self.round
        at_least = self.config.window + (self.config.stale_rounds or 0)  # a silent failure surfaces after expiry
        while self.round - start < max_rounds:
            self.step(transport)
            if self.round - start >= at_least and self.converged():
                break
        return self.round - start

    # -- views ---------------------------------------------------------------------------------------

    def locally_converged(self) -> NDArray[np.bool_]:
        """Each drone's own test: nothing changed in its row for ``window`` rounds."""
        return (self.round - 1 - self.last_change) >= self.config.window

    def converged(self) -> bool:
        return bool(self.locally_converged()[self.alive].all())

    def converged_round(self) -> int:
        """The last round in which any live drone changed (+1): rounds the allocation took to settle."""
        return int(self.last_change[self.alive].max()) + 1 if self.alive.any() else 0

    def owners(self) -> tuple[NDArray[np.int32], int]:
        """(owner per task from the live drones' bundles, -1 if none; number of tasks claimed twice or more)."""
        m = len(self.tasks)
        live = np.flatnonzero(self.alive)
        b = self.bundle[live]
        who = np.repeat(live, b.shape[1])
        flat = b.ravel()
        ok = flat >= 0
        flat, who = flat[ok], who[ok]
        counts = np.bincount(flat, minlength=m)
        owner = np.full(m, -1, np.int32)
        owner[flat] = who
        return owner, int((counts > 1).sum())

    def agreement(self) -> float:
        """Fraction of (live drone, active task) pairs where the drone's z agrees with the bundles' owner."""
        owner, _ = self.owners()
        act = self.tasks.active
        zz = self.z[self.alive][:, act]
        return float((zz == owner[act][None, :]).mean()) if zz.size else 1.0

    def disagreements(self) -> int:
        """Number of (live drone, active task) pairs whose view of the winner differs from the bundles."""
        owner, _ = self.owners()
        act = self.tasks.active
        return int((self.z[self.alive][:, act] != owner[act][None, :]).sum())

    def path_values(self) -> NDArray[np.float64]:
        tk = self.tasks
        return np.asarray(K.path_values(self.pos, self.t_avail, self.t_limit, self.speed_arr, self.path, self.blen,
                                        self.now, float(np.log(self.config.discount)), tk.pos, tk.value,
                                        tk.t_start, tk.t_end, tk.service))

    def total_value(self) -> float:
        """Objective of the live drones' plans (true path scores, not the warped bids); a task claimed twice
        (a conflict) counts twice, so compare values only for conflict-free plans."""
        v = self.path_values()[self.alive]
        return float(v[v > 0].sum())

    def metrics(self) -> dict[str, float | int | bool]:
        """Summary figures for a run summary (issue #4 metrics that the allocator itself knows)."""
        owner, conflicts = self.owners()
        return {
            "alloc_rounds": self.round,
            "alloc_settled_round": self.converged_round(),
            "alloc_converged": self.converged(),
            "alloc_broadcasts": int(sum(h.senders for h in self.history)),
            "alloc_deliveries": int(sum(h.delivered for h in self.history)),
            "alloc_conflicts": conflicts,
            "alloc_agreement": self.agreement(),
            "alloc_tasks_assigned": int((owner[self.tasks.active] >= 0).sum()),
            "alloc_tasks_active": int(self.tasks.active.sum()),
            "alloc_value": self.total_value(),
        }

    # -- changes -------------------------------------------------------------------------------------

    def fail(self, ids: NDArray[np.int64] | list[int]) -> None:
        """Drones stop (crash, battery): they neither send nor receive; the others find out by silence."""
        self.alive[np.asarray(ids, np.int64)] = False

    def revive(self, ids: NDArray[np.int64] | list[int]) -> None:
        """Drones back after a silence (a ground station handed them back, an external vehicle's link returned):
        they rejoin with an empty bundle and bid again; their stale view of the others is corrected by
        consensus."""
        ids = np.asarray(ids, np.int64)
        self.alive[ids] = True
        self.set_endurance(ids, self.t_limit[ids] - self.t_avail[ids])

    def set_endurance(self, ids: NDArray[np.int64] | list[int], seconds: float | NDArray[np.float64]) -> None:
        """A drone's battery estimate changed (its own state): it gives up its bundle and bids again within
        the new limit; the others see the released tasks through consensus and take what it no longer can."""
        ids = np.asarray(ids, np.int64)
        self.t_limit[ids] = self.t_avail[ids] + np.asarray(seconds, np.float64)
        for i in ids.tolist():  # a handful of drones per event, each touching only its own row
            own = self.bundle[i, : self.blen[i]]
            self.y[i, own] = 0.0
            self.z[i, own] = -1
            self.t[i, own] = self.round
            self.bundle[i] = -1
            self.path[i] = -1
            self.blen[i] = 0
        self._dirty[ids] = True
        self._force_change[ids] = True

    def add_tasks(self, count: int, known: bool = True) -> None:
        """Grow every drone's knowledge for tasks already appended to ``self.tasks`` (operator tasking).

        ``known=True``: every drone learns of the new tasks in the same round (allocation-only tests);
        ``known=False``: no drone may bid until it has heard of them (``usable``; the mission system sets it
        when the operator's message arrives over the mesh)."""
        m_old = self.y.shape[1]
        m_new = len(self.tasks)
        if m_new - m_old != count:
            raise ValueError(f"expected {count} new tasks in the task set, found {m_new - m_old}")
        self.y = np.ascontiguousarray(np.pad(self.y, ((0, 0), (0, count))))
        self.z = np.ascontiguousarray(np.pad(self.z, ((0, 0), (0, count)), constant_values=-1))
        self.t = np.ascontiguousarray(np.pad(self.t, ((0, 0), (0, count)), constant_values=-1))
        self.usable = np.ascontiguousarray(np.pad(self.usable, ((0, 0), (0, count)), constant_values=known))
        self._dirty[:] = True

    def touch(self, ids: NDArray[np.int64]) -> None:
        """These drones' own knowledge changed outside a round (a task heard of, done or cancelled): they
        rebuild their bundles next round."""
        self._dirty[np.asarray(ids, np.int64)] = True

    def cancel_tasks(self, ids: NDArray[np.int64] | list[int]) -> None:
        """Cancel tasks (operator): every drone drops them; bundles are cut at them next round."""
        ids = np.asarray(ids, np.int64)
        self.tasks.cancel(ids)
        self._dirty[:] = True
