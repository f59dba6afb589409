"""The message transport the allocator talks through, and a disk-graph stand-in for tests and benchmarks.

The allocator never reads another drone's state: everything it learns comes in
an :class:`Inbox`.  The :class:`Transport` protocol is the small surface it
needs -- many senders broadcast in one call, everything delivered this tick is
read back as arrays -- so binding it to the mesh model of issue #3
(``skyhive.comms``: ``register_kind``/``broadcast``/``inbox``) is a thin adapter
and the next step.  One requirement for that adapter: deliveries are returned as
*row indices into the sent payload* (``Inbox.rows``), never as one copied payload
row per receiver -- at 2,000 drones x 10,000 tasks a copied row per delivery
would be gigabytes per round.

:class:`DiskGraphTransport` is the stand-in: unit-disk radio range, i.i.d. packet
loss per delivery, delivery exactly one tick after sending, single hop (multi-hop
spread is CBBA's own relaying), optional partition labels and dead nodes.
Neighbours come from ``scipy.spatial.cKDTree.query_pairs``, so no N x N array.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

I32 = NDArray[np.int32]
Payload = Mapping[str, NDArray[Any]]


@dataclass
class Inbox:
    """Everything of one kind delivered this tick, sorted by receiver.

    Delivery ``e`` went from ``senders[e]`` to ``receivers[e]``; its content is row
    ``rows[e]`` of every array in ``payload``.  ``offsets`` (length n_nodes + 1)
    gives receiver ``i`` the slice ``offsets[i]:offsets[i + 1]``.
    """

    receivers: I32
    senders: I32
    rows: I32
    sent_t: NDArray[np.float64]
    offsets: NDArray[np.int64]
    payload: Payload

    @classmethod
    def empty(cls, n_nodes: int, payload: Payload | None = None) -> Inbox:
        z = np.zeros(0, np.int32)
        return cls(z, z.copy(), z.copy(), np.zeros(0), np.zeros(n_nodes + 1, np.int64), payload or {})

    def __len__(self) -> int:
        return int(self.receivers.shape[0])


class Transport(Protocol):
    """What the allocator needs from comms (see module docstring)."""

    def broadcast(self, kind: str, sender_ids: I32, payload: Payload, nbytes: int) -> None:
        """Send row ``k`` of every payload array from ``sender_ids[k]`` to whoever hears it."""

    def tick(self, t: float) -> None:
        """Advance the clock: what is due is now in the inboxes."""

    def inbox(self, kind: str) -> Inbox:
        """Everything of ``kind`` delivered at the last tick."""


@dataclass
class TransportStats:
    broadcasts: int = 0
    deliveries: int = 0
    dropped: int = 0
    bytes_sent: int = 0


@dataclass
class DiskGraphTransport:
    """Seeded unit-disk radio: range ``range_m``, loss probability ``loss`` per delivery, one-tick latency.

    ``pos`` (N, 3) may be replaced between ticks (moving drones).  ``alive[i] == False``
    silences node i both ways; ``group`` labels partitions (links only within a label).
    """

    pos: NDArray[np.float64]
    range_m: float
    loss: float
    rng: np.random.Generator
    alive: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    group: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    stats: TransportStats = field(default_factory=TransportStats)
    _pending: dict[str, list[tuple[I32, Payload, float]]] = field(default_factory=dict)
    _inbox: dict[str, Inbox] = field(default_factory=dict)
    _t: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be in [0, 1], got {self.loss}")
        if self.range_m <= 0:
            raise ValueError(f"range_m must be > 0, got {self.range_m}")
        n = self.n
        if self.alive.shape != (n,):
            self.alive = np.ones(n, bool)
        if self.group.shape != (n,):
            self.group = np.zeros(n, np.int32)

    @property
    def n(self) -> int:
        return int(self.pos.shape[0])

    def links(self) -> NDArray[np.int64]:
        """(E, 2) directed links (a, b) that can carry a packet now (both alive, same group, in range)."""
        pairs = cKDTree(self.pos).query_pairs(self.range_m, output_type="ndarray").astype(np.int64)
        a, b = pairs[:, 0], pairs[:, 1]
        ok = self.alive[a] & self.alive[b] & (self.group[a] == self.group[b])
        pairs = pairs[ok]
        return np.vstack([pairs, pairs[:, ::-1]])

    def broadcast(self, kind: str, sender_ids: I32, payload: Payload, nbytes: int) -> None:
        sender_ids = np.asarray(sender_ids, np.int32)
        for name, arr in payload.items():
            if arr.shape[0] != sender_ids.shape[0]:
                raise ValueError(f"payload {name!r} has {arr.shape[0]} rows for {sender_ids.shape[0]} senders")
        live = int(np.count_nonzero(self.alive[sender_ids]))
        self.stats.broadcasts += live
        self.stats.bytes_sent += live * int(nbytes)
        self._pending.setdefault(kind, []).append((sender_ids, payload, self._t))

    def tick(self, t: float) -> None:
        self._t = float(t)
        self._inbox = {}
        if not self._pending:
            return
        links = self.links()
        for kind, batches in self._pending.items():
            # One broadcast batch per kind per tick is the common case; several are concatenated.
            senders_all = np.concatenate([b[0] for b in batches])
            names = list(batches[0][1].keys())
            payload = {k: np.concatenate([b[1][k] for b in batches]) for k in names} if len(batches) > 1 \
                else batches[0][1]
            sent = np.concatenate([np.full(len(b[0]), b[2]) for b in batches])
            row_of = np.full(self.n, -1, np.int64)
            row_of[senders_all] = np.arange(len(senders_all))  # a node's last broadcast of the tick wins
            rows = row_of[links[:, 0]]
            use = rows >= 0
            cand = links[use]
            rows = rows[use]
            keep: NDArray[np.bool_] = np.asarray(self.rng.random(cand.shape[0]) >= self.loss)
            self.stats.dropped += int(keep.shape[0] - np.count_nonzero(keep))
            cand, rows = cand[keep], rows[keep]
            order = np.lexsort((cand[:, 0], cand[:, 1]))
            cand, rows = cand[order], rows[order]
            recv = cand[:, 1].astype(np.int32)
            offsets = np.zeros(self.n + 1, np.int64)
            np.cumsum(np.bincount(recv, minlength=self.n), out=offsets[1:])
            self.stats.deliveries += int(recv.shape[0])
            self._inbox[kind] = Inbox(recv, cand[:, 0].astype(np.int32), rows.astype(np.int32),
                                      sent[rows], offsets, payload)
        self._pending = {}

    def inbox(self, kind: str) -> Inbox:
        return self._inbox.get(kind) or Inbox.empty(self.n)


@dataclass
class NullTransport:
    """Delivers nothing: every drone is alone (used to test that plans depend on the drone's own data only)."""

    n: int
    stats: TransportStats = field(default_factory=TransportStats)

    def broadcast(self, kind: str, sender_ids: I32, payload: Payload, nbytes: int) -> None:
        self.stats.broadcasts += len(sender_ids)
        self.stats.bytes_sent += len(sender_ids) * int(nbytes)

    def tick(self, t: float) -> None:
        return None

    def inbox(self, kind: str) -> Inbox:
        return Inbox.empty(self.n)
