"""Compiled CBBA kernels (numba).  Each kernel loops over drones with ``prange`` and writes only row ``i``
of the per-drone arrays while reading row ``i`` plus the payload rows delivered to ``i``: that is what makes
the batched code a faithful simulation of N separate drones (see tests/autonomy/test_decentralized.py).

Codes for the consensus actions of Choi, Brunet & How (2009), Table 1: LEAVE, UPDATE, RESET.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

LEAVE = 0
UPDATE = 1
RESET = 2


@njit(cache=True, inline="always")
def _outbids(y_a: float, z_a: int, y_b: float, z_b: int) -> bool:
    """Bid (y_a by z_a) beats (y_b by z_b): higher bid, ties to the lower drone id."""
    return y_a > y_b or (y_a == y_b and z_a < z_b)


@njit(cache=True)
def _action(i: int, k: int, yk: float, zk: int, yi: float, zi: int, s_i: np.ndarray, s_k: np.ndarray) -> int:
    """Receiver i, sender k, one task: the action from Table 1 of Choi et al. (2009).

    zk / zi: who the sender / receiver think wins (-1: nobody); s_k / s_i: their timestamp rows.
    """
    if zk == k:  # sender thinks it wins
        if zi == i:
            return UPDATE if _outbids(yk, k, yi, i) else LEAVE
        if zi == k or zi < 0:
            return UPDATE
        m = zi
        return UPDATE if (s_k[m] > s_i[m] or _outbids(yk, k, yi, m)) else LEAVE
    if zk == i:  # sender thinks the receiver wins
        if zi == i or zi < 0:
            return LEAVE
        if zi == k:
            return RESET
        m = zi
        return RESET if s_k[m] > s_i[m] else LEAVE
    if zk < 0:  # sender thinks nobody wins
        if zi == i or zi < 0:
            return LEAVE
        if zi == k:
            return UPDATE
        m = zi
        return UPDATE if s_k[m] > s_i[m] else LEAVE
    m = zk  # sender thinks a third drone m wins
    if zi == i:
        return UPDATE if (s_k[m] > s_i[m] and _outbids(yk, m, yi, i)) else LEAVE
    if zi == k:
        return UPDATE if s_k[m] > s_i[m] else RESET
    if zi == m or zi < 0:
        return UPDATE if s_k[m] > s_i[m] else LEAVE
    n = zi  # receiver thinks a fourth drone n wins
    if s_k[m] > s_i[m] and s_k[n] > s_i[n]:
        return UPDATE
    if s_k[m] > s_i[m] and _outbids(yk, m, yi, n):
        return UPDATE
    if s_k[n] > s_i[n] and s_i[m] > s_k[m]:
        return RESET
    return LEAVE


@njit(cache=True, inline="always")
def _tie_newer(i: int, zk: int, zi: int, tk: int, ti: int, s_i: np.ndarray, s_k: np.ndarray) -> bool:
    """Tie-break for a LEAVE between two different views: take the sender's entry if it was decided later
    (per-task info time) and the receiver has no strictly newer news of either claimed winner.

    With synchronous rounds, relayed timestamps tie often (two neighbours as many hops from the winner);
    Table 1 then leaves both views in place for ever -- a stale claim survives next to the true one.  The
    receiver's own claims are never touched by this rule (it knows best what it holds)."""
    if zk == i or zi == i or tk <= ti:
        return False
    if zk >= 0 and s_i[zk] > s_k[zk]:
        return False
    return not (zi >= 0 and s_i[zi] > s_k[zi])


@njit(cache=True, parallel=True)
def consensus(
    y: np.ndarray, z: np.ndarray, t: np.ndarray, s: np.ndarray, alive: np.ndarray,
    receivers: np.ndarray, offsets: np.ndarray, senders: np.ndarray, rows: np.ndarray,
    py: np.ndarray, pz: np.ndarray, pt: np.ndarray, ps: np.ndarray, changed: np.ndarray,
) -> None:
    """Apply every delivered message, in delivery order, to its receiver's (y, z, t, s) row.

    ``t`` is the round in which an entry was decided (bid, reset); it travels with the entry and only breaks
    ties that Table 1 leaves open (see ``_tie_newer``).
    A message sent before tasks were added is shorter than the receiver's row: it says nothing about them."""
    m_tasks = min(y.shape[1], py.shape[1])
    n_nodes = min(s.shape[1], ps.shape[1])
    for q in prange(receivers.shape[0]):
        i = receivers[q]
        if not alive[i]:
            continue
        for e in range(offsets[i], offsets[i + 1]):
            k = senders[e]
            r = rows[e]
            s_k = ps[r]
            s_i = s[i]
            for j in range(m_tasks):
                if py[r, j] == y[i, j] and pz[r, j] == z[i, j]:
                    continue  # same view: no rule of Table 1 changes anything
                a = _action(i, k, py[r, j], pz[r, j], y[i, j], z[i, j], s_i, s_k)
                if a == LEAVE and _tie_newer(i, pz[r, j], z[i, j], pt[r, j], t[i, j], s_i, s_k):
                    a = UPDATE
                if a == UPDATE:
                    if y[i, j] != py[r, j] or z[i, j] != pz[r, j]:
                        y[i, j] = py[r, j]
                        z[i, j] = pz[r, j]
                        t[i, j] = pt[r, j]  # the adopted entry keeps its own decision time
                        changed[i] = True
                elif a == RESET and z[i, j] >= 0:
                    y[i, j] = 0.0
                    z[i, j] = -1
                    t[i, j] = max(t[i, j], pt[r, j])
                    changed[i] = True
            # Timestamps after the table: s_im <- max(s_im, s_km) (s_kk is the sending round).
            for mm in range(n_nodes):
                if s_k[mm] > s_i[mm]:
                    s_i[mm] = s_k[mm]


@njit(cache=True, parallel=True)
def expire_stale(y: np.ndarray, z: np.ndarray, t: np.ndarray, s: np.ndarray, alive: np.ndarray, now: int, stale: int,
                 changed: np.ndarray) -> None:
    """Drop a winning bid whose winner this drone has not heard of (even by relay) for ``stale`` rounds."""
    for i in prange(y.shape[0]):
        if not alive[i]:
            continue
        for j in range(y.shape[1]):
            m = z[i, j]
            if m >= 0 and m != i and now - s[i, m] > stale:
                y[i, j] = 0.0
                z[i, j] = -1
                t[i, j] = now
                changed[i] = True


@njit(cache=True, parallel=True)
def release(y: np.ndarray, z: np.ndarray, t: np.ndarray, now: int, bundle: np.ndarray, path: np.ndarray,
            blen: np.ndarray,
            alive: np.ndarray, active: np.ndarray, usable: np.ndarray, changed: np.ndarray) -> None:
    """Bundle release: cut the bundle at the first task this drone no longer wins (or that was cancelled, or
    that this drone itself no longer counts as open: ``usable[i, j]`` False -- done or cancelled as far as it heard);
    bids for the tasks after it were made on top of it, so they are reset (Choi et al. 2009, eq. 6-7)."""
    for i in prange(y.shape[0]):
        if not alive[i]:
            continue
        nb = blen[i]
        cut = nb
        for n in range(nb):
            j = bundle[i, n]
            if z[i, j] != i or not active[j] or not usable[i, j]:
                cut = n
                break
        if cut == nb:
            continue
        for n in range(cut, nb):
            j = bundle[i, n]
            if z[i, j] == i and (n > cut or not active[j] or not usable[i, j]):
                y[i, j] = 0.0
                z[i, j] = -1
                t[i, j] = now
        # keep the path order of the surviving tasks
        w = 0
        for p in range(nb):
            task = path[i, p]
            keep = False
            for n in range(cut):
                if bundle[i, n] == task:
                    keep = True
                    break
            if keep:
                path[i, w] = task
                w += 1
        for p in range(w, path.shape[1]):
            path[i, p] = -1
        for n in range(cut, bundle.shape[1]):
            bundle[i, n] = -1
        blen[i] = cut
        changed[i] = True


@njit(cache=True)
def _path_score(x0: np.ndarray, t0: float, lim: float, speed: float, now: float, ln_lam: float, path: np.ndarray,
                plen: int,
                ins_task: int, ins_at: int, tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray,
                sv: np.ndarray) -> float:
    """Score of ``path[:plen]`` with ``ins_task`` inserted before position ``ins_at`` (ins_task < 0: none):
    sum of value * lambda^(arrival - now); -1 if a time window is missed or the path ends after ``lim``
    (the drone's endurance)."""
    t = t0
    px, py_, pz = x0[0], x0[1], x0[2]
    total = 0.0
    n_total = plen + (1 if ins_task >= 0 else 0)
    src = 0
    for q in range(n_total):
        if ins_task >= 0 and q == ins_at:
            task = ins_task
        else:
            task = path[src]
            src += 1
        dx = tp[task, 0] - px
        dy = tp[task, 1] - py_
        dz = tp[task, 2] - pz
        arr = t + math.sqrt(dx * dx + dy * dy + dz * dz) / speed
        if arr < ts[task]:
            arr = ts[task]
        if arr > te[task]:
            return -1.0
        total += val[task] * math.exp(ln_lam * (arr - now))
        if sv[task] < 0.0:  # a hold (follow, relay): the drone stays to the end, so nothing may follow it
            if q < n_total - 1:
                return -1.0
            t = arr
        else:
            t = arr + sv[task]
        if t > lim:
            return -1.0
        px, py_, pz = tp[task, 0], tp[task, 1], tp[task, 2]
    return total


@njit(cache=True)
def best_insertion(i: int, x0: np.ndarray, t0: float, lim: float, speed: float, now: float, ln_lam: float,
                   path_i: np.ndarray, plen: int, base: float, j: int,
                   tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray, sv: np.ndarray) -> tuple:
    """Marginal gain of task j at its best position in the path, and that position (-1 if infeasible)."""
    best = -1.0
    best_n = -1
    for n in range(plen + 1):
        sc = _path_score(x0, t0, lim, speed, now, ln_lam, path_i, plen, j, n, tp, val, ts, te, sv)
        if sc >= 0.0 and sc - base > best:
            best = sc - base
            best_n = n
    return best, best_n


@njit(cache=True)
def _direct_bound(x0: np.ndarray, t0: float, lim: float, speed: float, now: float, ln_lam: float, j: int,
                  tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray, sv: np.ndarray) -> float:
    """Upper bound on any marginal gain of j (flying straight to it first); -1 if even that misses the window."""
    dx = tp[j, 0] - x0[0]
    dy = tp[j, 1] - x0[1]
    dz = tp[j, 2] - x0[2]
    arr = t0 + math.sqrt(dx * dx + dy * dy + dz * dz) / speed
    if arr < ts[j]:
        arr = ts[j]
    if arr > te[j] or arr + max(sv[j], 0.0) > lim:
        return -1.0
    return val[j] * math.exp(ln_lam * (arr - now))


@njit(cache=True, parallel=True)
def build_bundles(
    todo: np.ndarray, y: np.ndarray, z: np.ndarray, t: np.ndarray, rnd: int, bundle: np.ndarray, path: np.ndarray,
    blen: np.ndarray,
    pos: np.ndarray, t_avail: np.ndarray, t_limit: np.ndarray, speed: np.ndarray, cap: np.ndarray, now: float,
    ln_lam: float, tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray, sv: np.ndarray, req: np.ndarray,
    active: np.ndarray, usable: np.ndarray, changed: np.ndarray,
) -> None:
    """Phase 1 of CBBA for each drone in ``todo``: greedily add the task with the best (warped) bid that beats
    the drone's current view of the winning bid, until the bundle is full or nothing can be won.

    Bid warping (Johnson, Choi & How 2011): a new bid never exceeds the previous bid in the bundle, which
    keeps the convergence guarantee even where time windows make the raw marginal gain non-DMG.
    """
    max_len = bundle.shape[1]
    m_tasks = y.shape[1]
    for q in prange(todo.shape[0]):
        i = todo[q]
        x0 = pos[i]
        added = False
        while blen[i] < max_len:
            nb = blen[i]
            base = _path_score(x0, t_avail[i], t_limit[i], speed[i], now, ln_lam, path[i], nb, -1, 0,
                               tp, val, ts, te, sv)
            cap_i = cap[i]
            prev_bid = np.inf if nb == 0 else float(y[i, bundle[i, nb - 1]])
            best_bid = 0.0
            best_j = -1
            best_n = -1
            for j in range(m_tasks):
                if not active[j] or not usable[i, j] or z[i, j] == i or (req[j] & cap_i) != req[j]:
                    continue
                ub = _direct_bound(x0, t_avail[i], t_limit[i], speed[i], now, ln_lam, j, tp, val, ts, te, sv)
                # a bid never exceeds the direct-flight bound: skip tasks that cannot beat the winner or the best
                if ub <= 0.0 or ub < y[i, j] or ub <= best_bid:
                    continue
                c, n_at = best_insertion(i, x0, t_avail[i], t_limit[i], speed[i], now, ln_lam, path[i], nb, base, j,
                                         tp, val, ts, te, sv)
                if n_at < 0 or c <= 0.0:
                    continue
                bid = float(np.float32(min(c, prev_bid)))  # bids travel as float32
                yij = y[i, j]
                zij = z[i, j]
                if (bid > yij or (bid == yij and zij >= 0 and i < zij)) and bid > best_bid:
                    best_bid = bid
                    best_j = j
                    best_n = n_at
            if best_j < 0:
                break
            # insert into the path at best_n, append to the bundle
            for p in range(nb, best_n, -1):
                path[i, p] = path[i, p - 1]
            path[i, best_n] = best_j
            bundle[i, nb] = best_j
            blen[i] = nb + 1
            y[i, best_j] = best_bid
            z[i, best_j] = i
            t[i, best_j] = rnd
            added = True
        if added:
            changed[i] = True


@njit(cache=True, parallel=True)
def path_values(pos: np.ndarray, t_avail: np.ndarray, t_limit: np.ndarray, speed: np.ndarray, path: np.ndarray,
                blen: np.ndarray,
                now: float, ln_lam: float, tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray,
                sv: np.ndarray) -> np.ndarray:
    """True (unwarped) score of each drone's path; -1 where a window is missed."""
    out = np.zeros(path.shape[0])
    for i in prange(path.shape[0]):
        out[i] = _path_score(pos[i], t_avail[i], t_limit[i], speed[i], now, ln_lam, path[i], blen[i], -1, 0,
                             tp, val, ts, te, sv)
    return out


@njit(cache=True)
def best_candidate(i: int, taken: np.ndarray, path_i: np.ndarray, plen: int, prev_bid: float,
                   pos: np.ndarray, t_avail: np.ndarray, t_limit: np.ndarray, speed: np.ndarray, cap: np.ndarray,
                   now: float,
                   ln_lam: float, tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray, sv: np.ndarray,
                   req: np.ndarray, active: np.ndarray) -> tuple:
    """Centralized greedy helper: drone i's best (warped bid, task, insertion point) among untaken tasks."""
    x0 = pos[i]
    base = _path_score(x0, t_avail[i], t_limit[i], speed[i], now, ln_lam, path_i, plen, -1, 0, tp, val, ts, te, sv)
    best_bid = 0.0
    best_j = -1
    best_n = -1
    for j in range(tp.shape[0]):
        if taken[j] or not active[j] or (req[j] & cap[i]) != req[j]:
            continue
        ub = _direct_bound(x0, t_avail[i], t_limit[i], speed[i], now, ln_lam, j, tp, val, ts, te, sv)
        if ub <= best_bid:
            continue
        c, n_at = best_insertion(i, x0, t_avail[i], t_limit[i], speed[i], now, ln_lam, path_i, plen, base, j,
                                 tp, val, ts, te, sv)
        if n_at < 0 or c <= 0.0:
            continue
        bid = float(np.float32(min(c, prev_bid)))
        if bid > best_bid:
            best_bid = bid
            best_j = j
            best_n = n_at
    return best_bid, best_j, best_n


@njit(cache=True, parallel=True)
def direct_scores(pos: np.ndarray, t_avail: np.ndarray, t_limit: np.ndarray, speed: np.ndarray, cap: np.ndarray,
                  now: float,
                  ln_lam: float, tp: np.ndarray, val: np.ndarray, ts: np.ndarray, te: np.ndarray, sv: np.ndarray,
                  req: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(N, M) score of each drone flying straight to each task (0 where infeasible): the single-assignment
    benefit matrix for the centralized baseline."""
    n = pos.shape[0]
    m = tp.shape[0]
    out = np.zeros((n, m))
    for i in prange(n):
        for j in range(m):
            if active[j] and (req[j] & cap[i]) == req[j]:
                b = _direct_bound(pos[i], t_avail[i], t_limit[i], speed[i], now, ln_lam, j, tp, val, ts, te, sv)
                if b > 0.0:
                    out[i, j] = b
    return out
