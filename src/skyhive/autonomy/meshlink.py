"""The CBBA transport on the mesh radio (``skyhive.comms``): allocation messages go through the same channel,
queues, loss and latency as every other message.

A CBBA message is a drone's row ``(y, z, t, s)``: ``12 M + 4 N`` bytes of airtime.  The radio model charges
that size (one message kind per size, ``cbba/<bytes>``, registered on first use, since a kind's size is fixed
and the row grows when the operator adds tasks).  What travels as the comms payload is a *reference*: the
index of the sender's row in a snapshot this adapter keeps for each send.  Receivers therefore get row
indices into the one sent payload, never a copied row per delivery (docs/autonomy.md, "Memory at scale"),
and the content a receiver reads is exactly what the sender sent at that moment: the snapshot is never
written after the send.  Snapshots are dropped once no message referring to them can still be in flight.

Deliveries arrive at TALK ticks, several per CBBA round; :meth:`collect` is called every tick to gather them
and :meth:`inbox` hands a round everything gathered since the previous round, grouped by receiver in
delivery order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from skyhive.autonomy.transport import I32, Inbox, Payload, TransportStats
from skyhive.systems import Mesh

KEEP_SNAPSHOTS_S = 60.0  # a row message older than this is not in any queue any more (queues drain in < 1 s)


class CommsTransport:
    """:class:`skyhive.autonomy.transport.Transport` over the mesh port (:class:`skyhive.systems.Mesh`).

    ``drone_ids`` maps allocator index -> comms node id (the allocator runs on a subset of drones)."""

    def __init__(self, comms: Mesh, drone_ids: NDArray[np.int64]) -> None:
        self.comms = comms
        self.node_of = np.asarray(drone_ids, np.int64)
        self.index_of = np.full(comms.n_nodes, -1, np.int64)
        self.index_of[self.node_of] = np.arange(self.node_of.size)
        self.stats = TransportStats()
        self._snap: dict[int, tuple[float, Payload]] = {}
        self._seq = 0
        self._kinds: dict[int, str] = {}
        self._got: list[NDArray[np.int64]] = []  # (k, 3) rows: receiver index, sender index, snapshot/row ref
        self._t = 0.0
        self._station_got: list[NDArray[np.int64]] = []  # (seq, row) of rows ground stations received
        self.width = 0  # tasks the allocator knows now: rows sent before tasks were added are padded to it

    def _kind(self, nbytes: int) -> str:
        if nbytes not in self._kinds:
            cap = self.comms.settings.max_payload_bytes
            if nbytes > cap:
                raise ValueError(f"a CBBA row is {nbytes} bytes, more than comms.max_payload_bytes ({cap}); raise "
                                 "comms.max_payload_bytes or use fewer tasks (survey/search shares count as tasks)")
            name = f"cbba/{nbytes}"
            self.comms.register_kind(name, nbytes, (2,), np.int64)
            self._kinds[nbytes] = name
        return self._kinds[nbytes]

    def broadcast(self, kind: str, sender_ids: I32, payload: Payload, nbytes: int) -> None:
        """Keep the snapshot, send one reference per sender through the radio (charged ``nbytes``)."""
        senders = np.asarray(sender_ids, np.int64)
        if senders.size == 0:
            return
        seq = self._seq
        self._seq += 1
        self._snap[seq] = (self.comms.t, {k: np.asarray(v) for k, v in payload.items()})
        ref = np.column_stack([np.full(senders.size, seq, np.int64), np.arange(senders.size, dtype=np.int64)])
        self.comms.broadcast(self.node_of[senders], self._kind(int(nbytes)), ref)
        self.stats.broadcasts += int(senders.size)
        self.stats.bytes_sent += int(senders.size) * int(nbytes)

    def collect(self) -> None:
        """Gather this tick's CBBA deliveries (call once per tick, after TALK)."""
        for name in self._kinds.values():
            ib = self.comms.inbox(name)
            if not len(ib):
                continue
            r = self.index_of[ib.receivers]
            s = self.index_of[ib.senders]
            ok = (r >= 0) & (s >= 0)
            if ok.any():
                p = ib.payload[ok]
                self._got.append(np.column_stack([r[ok], s[ok], p[:, 0], p[:, 1]]))
            st = (ib.receivers >= self.comms.n_drones) & (s >= 0)  # ground stations overhear rows too
            if st.any():
                self._station_got.append(ib.payload[st])

    def station_rows(self) -> NDArray[np.int32] | None:
        """The winner columns (z) of the CBBA rows ground stations received since the last call, or None: how
        a station learns that the swarm has taken up its order."""
        if not self._station_got:
            return None
        got = np.concatenate(self._station_got)
        self._station_got = []
        out = []
        for sq in np.unique(got[:, 0]).tolist():
            if sq in self._snap:
                z = self._snap[sq][1]["z"]
                zz = z[got[got[:, 0] == sq, 1]]
                out.append(np.pad(zz, ((0, 0), (0, max(self.width - zz.shape[1], 0))), constant_values=-1))
        return np.concatenate(out) if out else None

    def tick(self, t: float) -> None:
        self._t = t
        old = [k for k, (ts, _) in self._snap.items() if ts < self.comms.t - KEEP_SNAPSHOTS_S]
        for k in old:
            del self._snap[k]

    def inbox(self, kind: str) -> Inbox:
        """Everything gathered since the last call, by receiver; the payload holds the referenced sends only."""
        n = self.node_of.size
        if not self._got:
            return Inbox.empty(n)
        got = np.concatenate(self._got)
        self._got = []
        live = np.isin(got[:, 2], np.fromiter(self._snap.keys(), np.int64, len(self._snap)))
        got = got[live]
        if not got.shape[0]:
            return Inbox.empty(n)
        seqs = np.unique(got[:, 2])
        base = np.zeros(seqs.size, np.int64)
        parts: dict[str, list[NDArray[Any]]] = {}
        off = 0
        for q, sq in enumerate(seqs.tolist()):  # one entry per round's send batch, not per delivery
            base[q] = off
            pl = self._snap[sq][1]
            for name, arr in pl.items():
                parts.setdefault(name, []).append(arr)
            off += next(iter(pl.values())).shape[0]
        payload = {k: _widen(k, v, self.width) for k, v in parts.items()}
        rows = base[np.searchsorted(seqs, got[:, 2])] + got[:, 3]
        order = np.argsort(got[:, 0], kind="stable")  # by receiver, delivery order kept
        recv = got[order, 0].astype(np.int32)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(recv, minlength=n), out=offsets[1:])
        self.stats.deliveries += int(recv.size)
        return Inbox(recv, got[order, 1].astype(np.int32), rows[order].astype(np.int32), np.zeros(recv.size),
                     offsets, payload)


_FILL = {"y": 0.0, "z": -1, "t": -1}


def _widen(name: str, arrs: list[NDArray[Any]], width: int) -> NDArray[Any]:
    """Concatenate send batches; task columns (y, z, t) padded to ``width`` with "nobody" entries, since a row
    sent before the operator added tasks says nothing about them."""
    if name in _FILL:
        arrs = [a if a.shape[1] >= width else np.pad(a, ((0, 0), (0, width - a.shape[1])),
                                                     constant_values=_FILL[name]) for a in arrs]
    return arrs[0] if len(arrs) == 1 else np.concatenate(arrs)
