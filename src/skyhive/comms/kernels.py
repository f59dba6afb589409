"""Compiled inner loops of the mesh (numba): the per-tick pipeline of ``skyhive.comms.system`` in a few passes.

A send call is two passes — ``queue_and_gather`` (transmit queues, then every link to evaluate) and
``evaluate_compact`` (faults, channel, drop counts, delivered links packed) — with the random draws made
between them in NumPy (so the streams stay NumPy's); delivery is one pass (``deliver_select``: dead
receivers, flood duplicate suppression, what goes to inboxes and what is relayed) and one for the latency
histograms.  Written as loops because each fuses several steps per link that in NumPy would each make a
temporary array the size of all candidate links — the hot path of a flood through thousands of drones.
Same formulas as ``skyhive.comms.channel`` (which the tests compare against).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

C_MPS = 299_792_458.0


@njit(cache=True)
def gather_links(msgs: NDArray[np.int64], tx: NDArray[np.int64], row: NDArray[np.int64],
                 indptr_a: NDArray[np.int64], nbr_a: NDArray[np.int64],
                 indptr_b: NDArray[np.int64], nbr_b: NDArray[np.int64],
                 pos: NDArray[np.float64], max_range: NDArray[np.float64], seen: NDArray[np.bool_]
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(message, receiver, distance) for every neighbour of each message's sender within the range cap;
    flood messages (row >= 0) skip receivers that already hold them."""
    total = 0
    for m in msgs:
        s = tx[m]
        total += indptr_a[s + 1] - indptr_a[s] + indptr_b[s + 1] - indptr_b[s]
    e_msg = np.empty(total, np.int64)
    e_rx = np.empty(total, np.int64)
    e_d = np.empty(total, np.float64)
    k = 0
    for m in msgs:
        s = tx[m]
        rw = row[m]
        for half in range(2):
            indptr = indptr_a if half == 0 else indptr_b
            nbr = nbr_a if half == 0 else nbr_b
            for p in range(indptr[s], indptr[s + 1]):
                r = nbr[p]
                if rw >= 0 and seen[rw, r]:
                    continue
                dx = pos[s, 0] - pos[r, 0]
                dy = pos[s, 1] - pos[r, 1]
                dz = pos[s, 2] - pos[r, 2]
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                if d <= min(max_range[s], max_range[r]):
                    e_msg[k] = m
                    e_rx[k] = r
                    e_d[k] = d
                    k += 1
    return e_msg[:k], e_rx[:k], e_d[:k]


# drop causes, in the order they are tested (index into system.DROP_CAUSES)
RANGE, LOSS, QUEUE, DEAD, SILENT, PARTITION = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def csr(s: NDArray[np.int64], r: NDArray[np.int64], n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Directed edges (s, r) grouped by sender, keeping their order (a counting sort): (indptr, receivers)."""
    indptr = np.zeros(n + 1, np.int64)
    for v in s:
        indptr[v + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    out = np.empty(s.size, np.int64)
    for e in range(s.size):
        out[fill[s[e]]] = r[e]
        fill[s[e]] += 1
    return indptr, out


@njit(cache=True)
def queue_and_gather(tx: NDArray[np.int64], row: NDArray[np.int64], dst: NDArray[np.int64],
                     busy_until: NDArray[np.float64], rate: NDArray[np.float64], cnt: NDArray[np.int64],
                     nfit: NDArray[np.int64], t: float, size: int, queue_bytes: int,
                     indptr_a: NDArray[np.int64], nbr_a: NDArray[np.int64],
                     indptr_b: NDArray[np.int64], nbr_b: NDArray[np.int64],
                     pos: NDArray[np.float64], max_range: NDArray[np.float64], seen: NDArray[np.bool_],
                     direct_d: NDArray[np.float64], e_msg: NDArray[np.int64], e_rx: NDArray[np.int64],
                     e_d: NDArray[np.float64]
                     ) -> tuple[NDArray[np.bool_], NDArray[np.float64], int, int, int]:
    """The first half of one send call, fused: transmit queues, then the links to evaluate.

    Queue: each sender's messages of this call queue in call order behind its byte backlog
    ``max(busy_until - t, 0) * rate``; one that would push the backlog past ``queue_bytes`` does not fit.
    ``busy_until`` is advanced for the messages that fit.  ``cnt``/``nfit`` are per-node scratch (zeros on
    entry and on return).  Links: every in-range neighbour of each broadcast/flood message (``dst < 0`` or
    ``row >= 0``; floods skip receivers holding the message), in message order, then the direct unicasts
    (``dst >= 0`` and ``row < 0``) with their distances ``direct_d`` given in message order.

    The links go into the caller's buffers ``e_msg``, ``e_rx``, ``e_d`` (reused from call to call: no fresh
    memory per tick).  When they may be too small nothing is done (queues untouched) and the links count is
    returned as ``-needed``; the caller grows them and calls again.

    Returns (fits, queue delay per message, messages that fit, links written, number of neighbour links).
    """
    m = tx.size
    total = direct_d.size
    for i in range(m):
        if dst[i] < 0 or row[i] >= 0:
            s = tx[i]
            total += indptr_a[s + 1] - indptr_a[s] + indptr_b[s + 1] - indptr_b[s]
    if total > e_msg.size:
        return np.zeros(0, np.bool_), np.zeros(0), 0, -total, 0
    fits = np.empty(m, np.bool_)
    qdelay = np.empty(m, np.float64)
    n_fit = 0
    for i in range(m):
        s = tx[i]
        rank = cnt[s]
        cnt[s] = rank + 1
        backlog = max(busy_until[s] - t, 0.0) * rate[s]
        f = backlog + (rank + 1) * size <= queue_bytes
        fits[i] = f
        qdelay[i] = (backlog + rank * size) / rate[s]
        if f:
            nfit[s] += 1
            n_fit += 1
    for i in range(m):
        s = tx[i]
        if cnt[s] > 0:
            if nfit[s] > 0:
                busy_until[s] = t + (max(busy_until[s] - t, 0.0) * rate[s] + nfit[s] * size) / rate[s]
            cnt[s] = 0
            nfit[s] = 0
    k = 0
    for i in range(m):
        rw = row[i]
        if dst[i] >= 0 and rw < 0:
            continue
        s = tx[i]
        px, py, pz = pos[s, 0], pos[s, 1], pos[s, 2]
        mr = max_range[s]
        for half in range(2):
            indptr = indptr_a if half == 0 else indptr_b
            nbr = nbr_a if half == 0 else nbr_b
            for p in range(indptr[s], indptr[s + 1]):
                r = nbr[p]
                if rw >= 0 and seen[rw, r]:
                    continue
                dx = px - pos[r, 0]
                dy = py - pos[r, 1]
                dz = pz - pos[r, 2]
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                if d <= min(mr, max_range[r]):
                    e_msg[k] = i
                    e_rx[k] = r
                    e_d[k] = d
                    k += 1
    n_nb = k
    j = 0
    for i in range(m):
        if dst[i] >= 0 and row[i] < 0:
            e_msg[k] = i
            e_rx[k] = dst[i]
            e_d[k] = direct_d[j]
            j += 1
            k += 1
    return fits, qdelay, n_fit, k, n_nb


@njit(cache=True)
def evaluate_compact(e_msg: NDArray[np.int64], e_rx: NDArray[np.int64], e_d: NDArray[np.float64],
                     tx: NDArray[np.int64], fits: NDArray[np.bool_], qdelay: NDArray[np.float64],
                     alive: NDArray[np.bool_], part_a: NDArray[np.bool_], part_b: NDArray[np.bool_],
                     silent: NDArray[np.bool_], max_range: NDArray[np.float64],
                     z: NDArray[np.float64], u: NDArray[np.float64], extra_loss: NDArray[np.float64],
                     tx_dbm: NDArray[np.float64], gain: NDArray[np.float64], degr: NDArray[np.float64],
                     fspl1: NDArray[np.float64], n_exp: NDArray[np.float64], sigma: NDArray[np.float64],
                     sens: NDArray[np.float64], noise: NDArray[np.float64], bw_db: NDArray[np.float64],
                     rate_db: NDArray[np.float64], rate: NDArray[np.float64], mod: NDArray[np.int8],
                     size_bytes: float, processing_s: float, t: float, dt: float, first_due: int,
                     row: NDArray[np.int64], best_t: NDArray[np.float64], best_via: NDArray[np.int64],
                     o_due: NDArray[np.int64], o_arr: NDArray[np.float64], o_rx: NDArray[np.int64],
                     o_h: NDArray[np.float64], o_msg: NDArray[np.int64]
                     ) -> tuple[NDArray[np.int64], int, int]:
    """The second half of one send call: for every link the first cause that stops it, counted, and the
    delivered links packed with their hop latency and due tick.

    Causes are tested in order: dead sender or receiver, full queue, partition, silent zone, range cap, then the
    channel — below sensitivity (RANGE) or lost by packet error and Gilbert-Elliott ``extra_loss`` against
    the uniform draw ``u`` (LOSS).  ``z``: standard normal shadowing draw per link.  ``z`` / ``extra_loss``
    may be empty (no shadowing / no Gilbert-Elliott: zeros).  The channel uses an exact shortcut: every BER
    here is <= exp(-Eb/N0 / 2) / 2 (Chernoff bound on erfc), so by the union bound P(ok) >= 1 - bits * that;
    a draw below the bound is delivered whatever the exact value.

    Flood copies (``row[m] >= 0``): a receiver keeps only the earliest copy (ties: lowest relay id), so a copy
    that arrives after one already delivered to the same receiver in this call cannot matter; it is skipped
    (counted, not evaluated).  ``best_t``/``best_via`` are (floods, nodes) scratch (inf / -1 on entry and on
    return).  The winner is the same as if every copy were evaluated: draws are per link, made up front.

    The delivered links go, packed in link order, into the caller's buffers (at least as long as the links):
    due tick, arrival time, receiver, hop latency, message.  Returns (drops per cause, flood copies skipped,
    delivered).
    """
    k = e_msg.size
    counts = np.zeros(6, np.int64)
    skipped = 0
    n_ok = 0
    has_z = z.size > 0
    has_x = extra_loss.size > 0
    bits = 8.0 * size_bytes
    ln10_10 = math.log(10.0) / 10.0
    n_part = part_a.shape[0]
    for e in range(k):
        m = e_msg[e]
        s = tx[m]
        r = e_rx[e]
        rw = row[m]
        d = e_d[e]
        h = qdelay[m] + size_bytes / rate[s] + d / C_MPS + processing_s
        if rw >= 0 and (h > best_t[rw, r] or (h == best_t[rw, r] and s > best_via[rw, r])):
            skipped += 1
            continue
        if not alive[s] or not alive[r]:
            counts[DEAD] += 1
            continue
        if not fits[m]:
            counts[QUEUE] += 1
            continue
        cut = False
        for p in range(n_part):
            if (part_a[p, s] and part_b[p, r]) or (part_b[p, s] and part_a[p, r]):
                cut = True
                break
        if cut:
            counts[PARTITION] += 1
            continue
        if silent[s] or silent[r]:
            counts[SILENT] += 1
            continue
        if d > min(max_range[s], max_range[r]):
            counts[RANGE] += 1
            continue
        pl = fspl1[s] + 10.0 * n_exp[s] * math.log10(max(d, 1.0))
        pr = tx_dbm[s] + gain[s] + gain[r] - degr[s] - degr[r] - pl
        if has_z:
            pr = pr - sigma[s] * z[e]
        if pr < sens[r]:
            counts[RANGE] += 1
            continue
        g = math.exp((pr - noise[r] + bw_db[r] - rate_db[s]) * ln10_10)  # Eb/N0, linear
        keep = 1.0 - extra_loss[e] if has_x else 1.0
        if u[e] >= (1.0 - bits * 0.5 * math.exp(-0.5 * g)) * keep:
            if mod[r] == 0:
                ber = 0.5 * math.erfc(math.sqrt(g))
            elif mod[r] == 1:
                ber = 0.5 * math.exp(-g)
            else:
                ber = 0.5 * math.exp(-0.5 * g)
            if u[e] >= math.exp(bits * math.log1p(-min(ber, 0.5))) * keep:
                counts[LOSS] += 1
                continue
        o_due[n_ok] = max(first_due, math.ceil((t + h) / dt - 1e-9))
        o_arr[n_ok] = t + h
        o_rx[n_ok] = r
        o_h[n_ok] = h
        o_msg[n_ok] = m
        n_ok += 1
        if rw >= 0:
            best_t[rw, r] = h
            best_via[rw, r] = s
    for e in range(k):  # leave the scratch clean
        rw = row[e_msg[e]]
        if rw >= 0:
            best_t[rw, e_rx[e]] = np.inf
            best_via[rw, e_rx[e]] = -1
    return counts, skipped, n_ok


@njit(cache=True)
def deliver_select(rx: NDArray[np.int64], mi: NDArray[np.int64], arr: NDArray[np.float64],
                   alive: NDArray[np.bool_], row: NDArray[np.int64], dst: NDArray[np.int64],
                   hops: NDArray[np.int32], ttl: NDArray[np.int32], via: NDArray[np.int64],
                   seen: NDArray[np.bool_], best: NDArray[np.int64]
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64], int, int]:
    """Links due now (receiver ``rx``, message ``mi`` into the per-message arrays): which go to an inbox and
    which flood copies are relayed, in one pass.

    Links to dead receivers are dropped.  Non-flood links all go to the inbox.  Flood copies: per (flood,
    receiver) the earliest arrival wins (ties: lowest relay id) unless the receiver already holds the flood
    (as ``first_copies``); the winner goes to the inbox if the flood is for everyone or for this receiver,
    and is relayed while ``hops < ttl`` and it is not at its destination.  Marks winners as seen.

    Returns (inbox links in link order, relayed links in order of first arrival, dead, duplicates).
    """
    n = rx.size
    is_take = np.zeros(n, np.bool_)
    chosen = np.empty(n, np.int64)
    k = 0
    dead = 0
    dup = 0
    for i in range(n):
        r = rx[i]
        if not alive[r]:
            dead += 1
            continue
        rw = row[mi[i]]
        if rw < 0:
            is_take[i] = True
            continue
        if seen[rw, r]:
            dup += 1
            continue
        b = best[rw, r]
        if b < 0:
            best[rw, r] = i
            chosen[k] = i
            k += 1
        else:
            dup += 1
            if arr[i] < arr[b] or (arr[i] == arr[b] and via[mi[i]] < via[mi[b]]):
                best[rw, r] = i
    relay = np.empty(k, np.int64)
    n_rel = 0
    for j in range(k):
        i0 = chosen[j]
        r = rx[i0]
        rw = row[mi[i0]]
        w = best[rw, r]
        best[rw, r] = -1
        seen[rw, r] = True
        mw = mi[w]
        d = dst[mw]
        if d < 0 or d == r:
            is_take[w] = True
        if hops[mw] < ttl[mw] and d != r:
            relay[n_rel] = w
            n_rel += 1
    take = np.flatnonzero(is_take)
    return take, relay[:n_rel], dead, dup


@njit(cache=True)
def add_histograms(lat: NDArray[np.float64], sent_t: NDArray[np.float64], t: float, hops: NDArray[np.int32],
                   lat_hist: NDArray[np.int64], age_hist: NDArray[np.int64], hops_hist: NDArray[np.int64],
                   e0: int, sub: int) -> None:
    """Count latencies, ages (``t - sent_t``) and hops into their histograms (``hops_hist`` long enough).
    Latency bins: ``x = m 2^e`` (frexp), bin ``(e - e0) sub + floor((m - 1/2) 2 sub)``, clipped."""
    nb = lat_hist.size
    for i in range(lat.size):
        for which in range(2):
            x = lat[i] if which == 0 else t - sent_t[i]
            m, e = math.frexp(x)
            b = (e - e0) * sub + int((m - 0.5) * (2 * sub))
            b = min(max(b, 0), nb - 1)
            if which == 0:
                lat_hist[b] += 1
            else:
                age_hist[b] += 1
        hops_hist[hops[i]] += 1


@njit(cache=True)
def extra_links(pos: NDArray[np.float64], nd: int, radius: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """CSR (indptr, receivers) over all nodes of the links that touch a non-drone node (nodes ``nd..``):
    drones within ``radius`` of each (in drone order) both ways, and every pair of non-drone nodes."""
    n = pos.shape[0]
    nx = n - nd
    cnt = 0
    for a in range(nx):
        for q in range(nd):
            dx = pos[q, 0] - pos[nd + a, 0]
            dy = pos[q, 1] - pos[nd + a, 1]
            dz = pos[q, 2] - pos[nd + a, 2]
            if math.sqrt(dx * dx + dy * dy + dz * dz) < radius:
                cnt += 1
    p = np.empty(cnt, np.int64)
    qq = np.empty(cnt, np.int64)
    c = 0
    for a in range(nx):
        for q in range(nd):
            dx = pos[q, 0] - pos[nd + a, 0]
            dy = pos[q, 1] - pos[nd + a, 1]
            dz = pos[q, 2] - pos[nd + a, 2]
            if math.sqrt(dx * dx + dy * dy + dz * dz) < radius:
                p[c] = a + nd
                qq[c] = q
                c += 1
    npair = nx * (nx - 1) // 2
    s = np.empty(2 * cnt + 2 * npair, np.int64)
    r = np.empty(2 * cnt + 2 * npair, np.int64)
    s[:cnt] = p
    r[:cnt] = qq
    s[cnt:2 * cnt] = qq
    r[cnt:2 * cnt] = p
    k = 2 * cnt
    for a in range(nx):
        for b in range(a + 1, nx):
            s[k] = a + nd
            r[k] = b + nd
            s[k + npair] = b + nd
            r[k + npair] = a + nd
            k += 1
    return csr(s, r, n)
