"""Who a vehicle port talks to: a bounded peer table that strangers cannot take over.

A peer is the address of a ground station.  The table of one port holds at most
``MAX_PEERS``; a newcomer gets a slot only if one is free, or if a peer has
been quiet for ``PEER_QUIET_S``, or if the newcomer signs and an unsigned peer
holds a slot.  An active peer is never evicted for a newcomer, so a handful of
spoofed source ports cannot cut the real ground station off.  On a link that
requires signing only signed messages admit a peer.  Quiet peers keep their slot
(and their telemetry, as PX4 keeps streaming to its partner) until a newcomer
needs it.

Every datagram is also charged to its source: a source above
``SOURCE_BUDGET`` datagrams in one ``BUDGET_WINDOW_S`` window is dropped
before parsing, so one flooding client costs a ``recvfrom`` and a dict lookup
per packet.  The number of sources tracked is bounded too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Address = tuple[str, int]

MAX_PEERS = 4
PEER_QUIET_S = 10.0
SOURCE_BUDGET = 400  # datagrams per window from one source address (a busy ground station sends ~50/s)
BUDGET_WINDOW_S = 1.0
MAX_SOURCES = 256  # source addresses whose budget is tracked per window


@dataclass
class Peer:
    last_heard: float
    signed: bool


@dataclass
class PeerTable:
    """The ground stations of one port and the per-source datagram budget."""

    require_signed: bool = False
    peers: dict[Address, Peer] = field(default_factory=dict)
    window_start: float = 0.0
    charged: dict[Address, int] = field(default_factory=dict)
    refused: int = 0  # newcomers turned away (table full of active peers, or unsigned on a signed link)
    over_budget: int = 0  # datagrams dropped before parsing

    def charge(self, addr: Address, now: float) -> bool:
        """Count one datagram from ``addr``; False if it must be dropped unparsed."""
        if now - self.window_start >= BUDGET_WINDOW_S:
            self.window_start = now
            self.charged.clear()
        n = self.charged.get(addr)
        if n is None:
            if len(self.charged) >= MAX_SOURCES and addr not in self.peers:
                self.over_budget += 1
                return False
            n = 0
        if n >= SOURCE_BUDGET and addr not in self.peers:
            self.over_budget += 1
            return False
        if n >= 4 * SOURCE_BUDGET:  # even a peer cannot flood without limit
            self.over_budget += 1
            return False
        self.charged[addr] = n + 1
        return True

    def heard(self, addr: Address, now: float, signed: bool) -> bool:
        """A message that passed every check came from ``addr``; True if it is (now) a peer."""
        peer = self.peers.get(addr)
        if peer is not None:
            peer.last_heard = now
            peer.signed = peer.signed or signed
            return True
        if self.require_signed and not signed:
            self.refused += 1
            return False
        if len(self.peers) >= MAX_PEERS:
            victim = self._victim(now, signed)
            if victim is None:
                self.refused += 1
                return False
            del self.peers[victim]
        self.peers[addr] = Peer(now, signed)
        return True

    def _victim(self, now: float, signed: bool) -> Address | None:
        quiet = [a for a, p in self.peers.items() if now - p.last_heard > PEER_QUIET_S]
        if quiet:
            return min(quiet, key=lambda a: self.peers[a].last_heard)
        if signed:
            unsigned = [a for a, p in self.peers.items() if not p.signed]
            if unsigned:
                return min(unsigned, key=lambda a: self.peers[a].last_heard)
        return None

    def addresses(self) -> list[Address]:
        return list(self.peers)

    def __len__(self) -> int:
        return len(self.peers)

    def __contains__(self, addr: object) -> bool:
        return addr in self.peers
