"""Aircraft behind the tracks: a track that breaks and is re-born keeps the aircraft (and so the alert) it had.

The tracker numbers tracks; an operator thinks in aircraft.  When a confirmed track is lost (a detection gap at low
Pd, a crossing) and a new one confirms later, they are two tracks of one aircraft.  :class:`AircraftBook` keeps a
map ``track id -> aircraft id``:

* a newly confirmed track inherits the aircraft of a lost one when it appears where the lost track was heading:
  within ``gate_m + spread_mps * dt`` of its dead-reckoned position, ``dt`` seconds after the loss and
  ``dt <= rebirth_s`` (the growth term covers an unknown manoeuvre of up to ``spread_mps`` during the gap); several
  candidates are resolved by one assignment (``linear_sum_assignment`` on distance);
* a track that carries an identity (a Remote ID serial, an ADS-B callsign) is bound to the aircraft that identity
  was first seen on, whichever track carries it later; a different identity on an aircraft is an identity swap and
  starts a new aircraft.

Alerts are keyed by aircraft, so one intruder raises one alert per zone through track breaks.  The geometry rule is
the track-to-track re-association of track-segment association (Blackman & Popoli, *Design and Analysis of Modern
Tracking Systems*, 1999, sec. 14.5: "track stitching"), kept to one cheap gate test per new track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass
class LostAircraft:
    t: float
    pos: F64
    vel: F64


@dataclass
class AircraftBook:
    """``track id -> aircraft id`` with re-birth and identity binding (see the module docstring)."""

    rebirth_s: float = 30.0
    gate_m: float = 60.0
    spread_mps: float = 8.0
    aircraft: dict[int, int] = field(default_factory=dict)  # track -> aircraft
    identity: dict[int, str] = field(default_factory=dict)  # aircraft -> identity it carries
    by_identity: dict[str, int] = field(default_factory=dict)  # identity -> aircraft
    lost: dict[int, LostAircraft] = field(default_factory=dict)
    last: dict[int, tuple[float, F64, F64]] = field(default_factory=dict)  # live aircraft -> (t, pos, vel)
    rebirths: int = 0
    swaps: int = 0
    next_id: int = 1

    def update(self, t: float, ids: I64, x: F64, identities: list[str]) -> dict[int, int]:
        """The confirmed tracks now (ids, states (T, 6), identity strings, "" for none); returns track -> aircraft."""
        ids_l = [int(i) for i in ids]
        live_now: set[int] = set()
        new_rows = [k for k, i in enumerate(ids_l) if i not in self.aircraft]
        if new_rows:
            self._assign_new(t, [ids_l[k] for k in new_rows], x[new_rows])
        for k, tid in enumerate(ids_l):
            ac = self.aircraft[tid]
            who = identities[k]
            if who:
                others = {self.aircraft[i] for i in ids_l if i != tid}
                ac = self._bind(tid, ac, who, others)
            live_now.add(ac)
            self.last[ac] = (t, x[k, :3].copy(), x[k, 3:6].copy())
        for ac in [a for a in self.last if a not in live_now]:
            t_last, pos, vel = self.last.pop(ac)
            self.lost[ac] = LostAircraft(t_last, pos, vel)
        for ac in [a for a, lost in self.lost.items() if t - lost.t > self.rebirth_s]:
            del self.lost[ac]
        return {tid: self.aircraft[tid] for tid in ids_l}

    def _assign_new(self, t: float, tids: list[int], x: F64) -> None:
        cands = list(self.lost.items())
        chosen: dict[int, int] = {}
        if cands:
            dt = np.array([t - lost.t for _, lost in cands])
            pred = np.array([lost.pos + lost.vel * d for (_, lost), d in zip(cands, dt, strict=True)])
            d = np.linalg.norm(x[:, None, :3] - pred[None], axis=2)
            gate = self.gate_m + self.spread_mps * dt
            cost = np.where(d <= gate[None], d, 1e9)
            r, c = linear_sum_assignment(cost)
            for a, b in zip(r.tolist(), c.tolist(), strict=True):
                if cost[a, b] < 1e9:
                    chosen[a] = cands[b][0]
        for k, tid in enumerate(tids):
            ac = chosen.get(k)
            if ac is None:
                ac = self.next_id
                self.next_id += 1
            else:
                del self.lost[ac]
                self.rebirths += 1
            self.aircraft[tid] = ac

    def _bind(self, tid: int, ac: int, who: str, others: set[int]) -> int:
        """Identity ``who`` seen on track ``tid`` (aircraft ``ac``; ``others``: aircraft of the other tracks now)."""
        known = self.by_identity.get(who)
        if known is not None and known != ac:
            self.aircraft[tid] = known  # the identity's aircraft, whichever track carries it now
            if ac not in others:  # the fragment's own aircraft number is dropped
                self.last.pop(ac, None)
                self.lost.pop(ac, None)
            self.lost.pop(known, None)
            return known
        had = self.identity.get(ac)
        if had is not None and had != who:
            self.swaps += 1  # this aircraft's track now carries another identity: a swap; a new aircraft
            ac = self.next_id
            self.next_id += 1
            self.aircraft[tid] = ac
        self.identity[ac] = who
        self.by_identity[who] = ac
        return ac
