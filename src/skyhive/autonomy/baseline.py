"""Centralized references for the optimality gap of the decentralized allocator.

* :func:`optimal_single` -- each drone takes at most one task: an assignment problem, solved exactly by
  ``scipy.optimize.linear_sum_assignment`` on the (N, M) benefit matrix (value discounted by the straight
  flight time; infeasible pairs score 0, which is the same as leaving the drone idle).
* :func:`greedy_bundles` -- bundles of up to L tasks: sequential greedy insertion with the same scores and
  bid warping CBBA uses, run with full information.  This is a *feasible* plan, so it is a LOWER bound on the
  optimum, not an upper one; CBBA is proven to reach the sequential-greedy plan when bids have diminishing
  marginal gain (Choi et al. 2009, Thm. 1), so with no message loss the gap to it should be exactly 0.
  For multi-task instances no exact solver is run here (that is vehicle routing with time windows: OR-Tools
  would be the tool); :func:`upper_bound` gives a valid, loose upper bound instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from skyhive.autonomy import _kernels as K
from skyhive.autonomy.tasks import TaskSet


@dataclass
class Plan:
    value: float
    owner: NDArray[np.int32]  # per task, -1 if unassigned
    paths: list[list[int]]


def _prep(pos: NDArray[np.float64], speed: float | NDArray[np.float64], cap: NDArray[np.uint32] | None,
          now: float, endurance: float | NDArray[np.float64] = np.inf
          ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                     NDArray[np.uint32]]:
    n = pos.shape[0]
    sp = np.broadcast_to(np.asarray(speed, np.float64), (n,)).copy()
    cp = np.zeros(n, np.uint32) if cap is None else np.asarray(cap, np.uint32)
    lim = now + np.broadcast_to(np.asarray(endurance, np.float64), (n,))
    return np.ascontiguousarray(pos, np.float64), np.full(n, now), lim, sp, cp


def benefit_matrix(tasks: TaskSet, pos: NDArray[np.float64], speed: float | NDArray[np.float64] = 10.0,
                   discount: float = 0.999, cap: NDArray[np.uint32] | None = None, now: float = 0.0
                   ) -> NDArray[np.float64]:
    p, ta, lim, sp, cp = _prep(pos, speed, cap, now)
    return np.asarray(K.direct_scores(p, ta, lim, sp, cp, now, float(np.log(discount)), tasks.pos, tasks.value,
                                      tasks.t_start, tasks.t_end, tasks.service, tasks.req_cap, tasks.active))


def optimal_single(tasks: TaskSet, pos: NDArray[np.float64], speed: float | NDArray[np.float64] = 10.0,
                   discount: float = 0.999, cap: NDArray[np.uint32] | None = None, now: float = 0.0) -> Plan:
    """Exact optimum when each drone does at most one task."""
    b = benefit_matrix(tasks, pos, speed, discount, cap, now)
    rows, cols = linear_sum_assignment(b, maximize=True)
    keep = b[rows, cols] > 0
    rows, cols = rows[keep], cols[keep]
    owner = np.full(len(tasks), -1, np.int32)
    owner[cols] = rows
    paths: list[list[int]] = [[] for _ in range(pos.shape[0])]
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        paths[r].append(c)
    return Plan(float(b[rows, cols].sum()), owner, paths)


def upper_bound(tasks: TaskSet, pos: NDArray[np.float64], speed: float | NDArray[np.float64] = 10.0,
                discount: float = 0.999, cap: NDArray[np.uint32] | None = None, now: float = 0.0) -> float:
    """Every task at its best direct-flight score: no plan can collect more (arrival >= straight flight)."""
    b = benefit_matrix(tasks, pos, speed, discount, cap, now)
    return float(b.max(axis=0).sum()) if b.size else 0.0


def greedy_bundles(tasks: TaskSet, pos: NDArray[np.float64], max_bundle: int,
                   speed: float | NDArray[np.float64] = 10.0, discount: float = 0.999,
                   cap: NDArray[np.uint32] | None = None, now: float = 0.0) -> Plan:
    """Centralized sequential greedy: repeatedly give the globally best (drone, task) bid; ties to lower ids."""
    p, ta, lim, sp, cp = _prep(pos, speed, cap, now)
    n, m = p.shape[0], len(tasks)
    ln_lam = float(np.log(discount))
    taken = np.zeros(m, bool)
    path = np.full((n, max_bundle), -1, np.int32)
    plen = np.zeros(n, np.int64)
    last = np.full(n, np.inf)
    bid = np.zeros(n)
    bj = np.full(n, -1, np.int64)
    bn = np.full(n, -1, np.int64)
    tk = tasks

    def refresh(i: int) -> None:
        if plen[i] >= max_bundle:
            bid[i], bj[i], bn[i] = 0.0, -1, -1
            return
        b, j, at = K.best_candidate(i, taken, path[i], int(plen[i]), float(last[i]), p, ta, lim, sp, cp, now, ln_lam,
                                    tk.pos, tk.value, tk.t_start, tk.t_end, tk.service, tk.req_cap, tk.active)
        bid[i], bj[i], bn[i] = b, j, at

    for i in range(n):
        refresh(i)
    owner = np.full(m, -1, np.int32)
    while True:
        i = int(np.argmax(bid))  # first maximum: ties go to the lower drone id
        if bj[i] < 0 or bid[i] <= 0:
            break
        j, at = int(bj[i]), int(bn[i])
        taken[j] = True
        owner[j] = i
        k = int(plen[i])
        path[i, at + 1:k + 1] = path[i, at:k].copy()
        path[i, at] = j
        plen[i] = k + 1
        last[i] = np.float32(bid[i])
        for d in [*np.flatnonzero(bj == j).tolist(), i]:
            refresh(int(d))
    vals = K.path_values(p, ta, lim, sp, path, plen.astype(np.int32), now, ln_lam, tk.pos, tk.value, tk.t_start,
                         tk.t_end, tk.service)
    paths = [path[i, : plen[i]].tolist() for i in range(n)]
    return Plan(float(np.asarray(vals)[np.asarray(vals) > 0].sum()), owner, paths)
