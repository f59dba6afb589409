"""The mesh: typed messages between nodes over the radio channel, delivered at future ticks into inboxes.

Nodes are numbered drones ``0..N-1``, then ground stations, then manned vehicles.  Senders call
``broadcast`` / ``unicast`` / ``flood`` with arrays (one call for all senders); the TALK phase of each tick
delivers everything due into per-kind inboxes that receivers read as arrays.  Every transmission goes through
the sender's transmit queue (bounded, drained at its data rate) and through the channel once per in-range
neighbour (``skyhive.comms.channel``); faults (dead nodes, silent zones, partitions, degraded radios) apply
at send time and dead receivers again at delivery time.  Nothing here loops over nodes or pairs in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import DTypeLike, NDArray

from skyhive.comms.channel import MODULATIONS, GilbertElliottLinks
from skyhive.comms.config import C_MPS, Comms, Degraded, NodeFailure, NodeSet, Partition, RadioProfile, SilentZone
from skyhive.comms.kernels import (
    add_histograms,
    csr,
    deliver_select,
    evaluate_compact,
    extra_links,
    gather_links,
    queue_and_gather,
)
from skyhive.record import scene
from skyhive.systems import BuildContext, MessageKind, Phase, Rate, TickContext
from skyhive.world.world import DroneStatus

if TYPE_CHECKING:
    from skyhive.record.writer import McapRecorder

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BoolA = NDArray[np.bool_]

DROP_CAUSES = ("range", "loss", "queue", "dead_node", "silent_zone", "partition")
# Most links one send call evaluates at once; a call that would need more (hundreds of floods relayed in a
# swarm where every node hears every other) is split into halves by message, so memory stays bounded.
MAX_LINKS_PER_CALL = 1 << 21
# latency histograms: 32 bins per octave (bins 1.6-3.1 % wide) from 2^-25 s (30 ns) to 2^15 s, by frexp (cheap)
_SUB, _E0, _E1 = 32, -24, 16
_NBINS = (_E1 - _E0) * _SUB


def _lat_bins(x: F64) -> I64:
    m, e = np.frexp(x)  # x = m * 2^e, m in [0.5, 1)
    k = (e.astype(np.int64) - _E0) * _SUB + ((m - 0.5) * (2 * _SUB)).astype(np.int64)
    return np.clip(k, 0, _NBINS - 1)


def _bin_centre(k: int) -> float:
    e, sub = divmod(k, _SUB)
    return float(2.0 ** (e + _E0) * (0.5 + (sub + 0.5) / (2 * _SUB)))


@dataclass(frozen=True)
class Kind:
    """A message type: airtime size and the shape/dtype of one payload row."""

    id: int
    name: str
    size_bytes: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


@dataclass
class Inbox:
    """Messages of one kind delivered this tick, one row per (receiver, message)."""

    receivers: I64
    senders: I64  # the originating node
    via: I64  # the node of the last hop
    payload: NDArray[Any]
    hops: NDArray[np.int32]
    sent_t: F64  # when the originator sent it
    latency_s: F64  # modelled radio latency (queue + airtime + propagation + processing, summed over hops)

    def __len__(self) -> int:
        return int(self.receivers.size)


@dataclass
class KindStats:
    sent: int = 0  # messages originated
    transmissions: int = 0  # radio transmissions (originals and flood relays)
    bytes: int = 0  # bytes put on the air (header included)
    intended: int = 0  # receptions the sender wanted (see docs/comms.md)
    link_attempts: int = 0
    link_ok: int = 0
    delivered: int = 0
    duplicates: int = 0
    queue_dropped_msgs: int = 0
    drops: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_CAUSES, 0))
    latency_hist: I64 = field(default_factory=lambda: np.zeros(_NBINS, np.int64))
    age_hist: I64 = field(default_factory=lambda: np.zeros(_NBINS, np.int64))
    hops_hist: I64 = field(default_factory=lambda: np.zeros(1, np.int64))

    def add_latency(self, lat: F64, age: F64, hops: NDArray[np.int32]) -> None:
        self.latency_hist += np.bincount(_lat_bins(lat), minlength=_NBINS)
        self.age_hist += np.bincount(_lat_bins(age), minlength=_NBINS)
        hh = np.bincount(hops)
        if hh.size > self.hops_hist.size:
            self.hops_hist = np.concatenate([self.hops_hist, np.zeros(hh.size - self.hops_hist.size, np.int64)])
        self.hops_hist[: hh.size] += hh

    def add_delivered(self, lat: F64, sent_t: F64, t: float, hops: NDArray[np.int32]) -> None:
        """``add_latency(lat, t - sent_t, hops)`` in one compiled pass (the per-tick path)."""
        if not hops.size:
            return
        top = int(hops.max()) + 1
        if top > self.hops_hist.size:
            self.hops_hist = np.concatenate([self.hops_hist, np.zeros(top - self.hops_hist.size, np.int64)])
        add_histograms(lat, sent_t, t, hops, self.latency_hist, self.age_hist, self.hops_hist, _E0, _SUB)

    @staticmethod
    def quantile(hist: I64, q: float) -> float | None:
        """Quantile from the latency histogram (bin centre: within 1.6 % of the true value)."""
        n = int(hist.sum())
        if n == 0:
            return None
        k = int(np.searchsorted(np.cumsum(hist), q * n, side="left"))
        return _bin_centre(min(k, _NBINS - 1))

    def summary(self) -> dict[str, Any]:
        n_h = int(self.hops_hist.sum())
        hops_mean = float((self.hops_hist * np.arange(self.hops_hist.size)).sum() / n_h) if n_h else None
        lat: dict[str, float | None] = {}
        for name, hist in (("latency", self.latency_hist), ("age", self.age_hist)):
            for q in (50, 95, 99):
                v = self.quantile(hist, q / 100)
                lat[f"{name}_p{q}_ms"] = None if v is None else round(1e3 * v, 3)
        return {"sent": self.sent, "transmissions": self.transmissions, "bytes": self.bytes,
                "intended": self.intended, "delivered": self.delivered,
                "delivery_ratio": round(self.delivered / self.intended, 4) if self.intended else None,
                "link_attempts": self.link_attempts, "link_ok": self.link_ok, **lat,
                "hops_mean": None if hops_mean is None else round(hops_mean, 3),
                "hops_max": int(np.flatnonzero(self.hops_hist).max()) if n_h else None,
                "duplicates": self.duplicates, "queue_dropped_msgs": self.queue_dropped_msgs,
                **{f"drop_{c}": v for c, v in self.drops.items()}}


Arrays = dict[str, NDArray[Any]]


@dataclass
class _Pending:
    """Links of one kind in flight: chunks of (per-link arrays, per-message arrays of the sending call).

    Per-message fields (payload, origin, hops, ...) are gathered only for copies that reach an inbox or a
    relay, not for every link (most flood copies are duplicates)."""

    chunks: list[tuple[Arrays, Arrays]] = field(default_factory=list)

    def add(self, links: Arrays, msgs: Arrays) -> None:
        if links["rx"].size:
            self.chunks.append((links, msgs))

    def take_due(self, tick: int) -> tuple[Arrays, Arrays] | None:
        """Remove and return the links due by ``tick`` (in the order they were sent: deterministic), with the
        message arrays their ``msg`` field indexes."""
        due: list[tuple[Arrays, Arrays]] = []
        keep: list[tuple[Arrays, Arrays]] = []
        for links, msgs in self.chunks:
            if links["due"].max() <= tick:
                due.append((links, msgs))
            elif links["due"].min() > tick:
                keep.append((links, msgs))
            else:
                now = links["due"] <= tick
                due.append(({k: v[now] for k, v in links.items()}, msgs))
                keep.append(({k: v[~now] for k, v in links.items()}, msgs))
        self.chunks = keep
        if not due:
            return None
        if len(due) == 1:
            return due[0]
        offsets = np.cumsum([0] + [m["src"].size for _, m in due[:-1]])
        links = {k: np.concatenate([lk[k] for lk, _ in due]) for k in due[0][0] if k != "msg"}
        links["msg"] = np.concatenate([lk["msg"] + off for (lk, _), off in zip(due, offsets, strict=True)])
        msgs = {k: np.concatenate([m[k] for _, m in due]) for k in due[0][1]}
        return links, msgs

    def rows(self) -> I64:
        """Flood rows still referenced by links in flight."""
        if not self.chunks:
            return np.zeros(0, np.int64)
        return np.concatenate([m["row"][lk["msg"]] for lk, m in self.chunks])


class CommsSystem:
    """Mesh radio for all nodes; phase TALK.  See the module docstring and docs/comms.md."""

    name = "comms"
    phase = Phase.TALK
    period = 0.0

    def __init__(self, ctx: BuildContext, settings: Comms) -> None:
        self.settings = settings
        sc = ctx.scenario
        self.world = ctx.world
        self.index = ctx.index
        self.dt = ctx.dt
        self.fleet_slices = ctx.fleet_slices
        self.n_drones = ctx.world.drones.n
        self.gs_names = [g.name for g in sc.ground_stations]
        self.manned_names = list(ctx.world.manned.names)
        self.n_gs, self.n_manned = len(self.gs_names), len(self.manned_names)
        self.n_nodes = self.n_drones + self.n_gs + self.n_manned
        self.gs_pos = (np.stack([ctx.frame.local(g.lat, g.lon, g.alt_m + g.antenna_height_m)
                                 for g in sc.ground_stations]) if self.n_gs else np.zeros((0, 3)))
        # radio profiles: one row per distinct profile, an index per node
        profiles: list[RadioProfile] = []

        def pid(p: RadioProfile) -> int:
            if p not in profiles:
                profiles.append(p)
            return profiles.index(p)

        node_prof = np.zeros(self.n_nodes, np.int64)
        for f in sc.fleets:
            node_prof[ctx.fleet_slices[f.name]] = pid(f.radio)
        for k, g in enumerate(sc.ground_stations):
            node_prof[self.n_drones + k] = pid(g.radio)
        for k, m in enumerate(sc.manned):
            node_prof[self.n_drones + self.n_gs + k] = pid(m.radio)
        self.profiles = profiles

        def col(attr: str) -> F64:
            return np.array([float(getattr(p, attr)) for p in profiles])[node_prof]

        self.tx_dbm = col("tx_power_dbm")
        self.gain = col("antenna_gain_dbi")
        self.sens = col("rx_sensitivity_dbm")
        self.noise = col("noise_floor_dbm")
        self.freq = col("frequency_hz")
        self.bw = col("bandwidth_hz")
        self.rate = col("data_rate_Bps")
        self.max_range = col("max_range_m")
        self.n_exp = col("path_loss_exponent")
        self.sigma = col("shadowing_sigma_db")
        self.fspl1 = 20.0 * np.log10(4.0 * np.pi * self.freq / C_MPS)
        self.bw_db = 10.0 * np.log10(self.bw)
        self.rate_db = 10.0 * np.log10(8.0 * self.rate)
        self.mod = np.array([MODULATIONS.index(p.modulation) for p in profiles], np.int8)[node_prof]
        ge = [p.gilbert_elliott for p in profiles]
        self.has_ge = np.array([g is not None for g in ge])[node_prof]
        self.ge_good = np.array([g.mean_good_s if g else 1.0 for g in ge])[node_prof]
        self.ge_bad = np.array([g.mean_bad_s if g else 1.0 for g in ge])[node_prof]
        self.ge_loss_good = np.array([g.loss_good if g else 0.0 for g in ge])[node_prof]
        self.ge_loss_bad = np.array([g.loss_bad if g else 0.0 for g in ge])[node_prof]
        self.ge_links = GilbertElliottLinks()
        self.any_ge = bool(self.has_ge.any())
        self.any_shadowing = bool((self.sigma > 0).any())
        self.radius = float(self.max_range.max()) if self.n_nodes else 0.0
        self.busy_until = np.zeros(self.n_nodes)
        self._cnt = np.zeros(self.n_nodes, np.int64)  # per-node scratch of queue_and_gather
        self._nfit = np.zeros(self.n_nodes, np.int64)
        self._bufs: dict[str, NDArray[Any]] = {}
        self.rng = ctx.rng("comms")
        self.kinds: dict[str, Kind] = {}
        self.stats: list[KindStats] = []
        self.pending: list[_Pending] = []
        self.inboxes: list[Inbox] = []
        # floods: one row of "seen" flags per flood in flight
        self.seen = np.zeros((0, self.n_nodes), bool)
        self.best = np.zeros((0, self.n_nodes), np.int64)  # scratch for first_copies and evaluate_links
        self.best_t = np.zeros((0, self.n_nodes))  # scratch for evaluate_links
        self.row_ttl = np.zeros(0, np.int64)
        self.free_rows: list[int] = []
        self.tick = 0
        self.t = 0.0
        self._talked = False  # whether this tick's deliveries have run (sends before the first tick: False)
        self._csr_build = -1
        self._xcsr_tick = -1
        self._fault_tick = -1
        self._faults_built(ctx)
        tr = settings.traffic
        self._state_kind = self.register_kind("state", tr.state_bytes, (4,), np.float32) if tr.state_hz > 0 else None
        self._ping_kind = self.register_kind("ping", tr.ping_bytes, (), np.int64) if tr.ping_hz > 0 else None
        self._state_rate = Rate.hz(tr.state_hz) if tr.state_hz > 0 else None
        self._ping_rate = Rate.hz(tr.ping_hz) if tr.ping_hz > 0 else None
        self._ping_seq = 0
        self._record_rate = Rate.hz(settings.record_hz, from_last=True) if settings.record_hz > 0 else None

    # -- node sets and faults ------------------------------------------------------------------------------------
    def node_ids(self, sets: list[NodeSet]) -> I64:
        """Node ids selected by scenario node sets."""
        out: list[I64] = []
        for s in sets:
            if s.fleet is not None:
                sl = self.fleet_slices[s.fleet]
                idx = np.arange(sl.start, sl.stop) if s.drones is None else sl.start + np.asarray(s.drones, np.int64)
                out.append(idx.astype(np.int64))
            out.append(np.array([self.n_drones + self.gs_names.index(n) for n in s.ground_stations], np.int64))
            out.append(np.array([self.n_drones + self.n_gs + self.manned_names.index(n) for n in s.manned], np.int64))
        return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)

    def _faults_built(self, ctx: BuildContext) -> None:
        self.faults: list[tuple[float, float, str, Any]] = []
        for f in self.settings.faults:
            end = math.inf if f.until_s is None else f.until_s
            if isinstance(f, NodeFailure):
                self.faults.append((f.at_s, end, "dead", self.node_ids(f.nodes)))
            elif isinstance(f, Degraded):
                self.faults.append((f.at_s, end, "degraded", (self.node_ids(f.nodes), f.loss_db)))
            elif isinstance(f, Partition):
                a = np.zeros(self.n_nodes, bool)
                b = np.zeros(self.n_nodes, bool)
                a[self.node_ids(f.a)] = True
                b[self.node_ids(f.b)] = True
                self.faults.append((f.at_s, end, "partition", (a, b)))
            elif isinstance(f, SilentZone):
                from skyhive.geo.fences import polygon_from_geojson

                ll = np.asarray(polygon_from_geojson(f.polygon).exterior.coords)
                xy = ctx.frame.local(ll[:, 1], ll[:, 0])[:, :2]
                self.faults.append((f.at_s, end, "silent", (shapely.Polygon(xy), f.floor_m, f.ceiling_m)))

    def _buf(self, name: str, size: int, dtype: DTypeLike) -> NDArray[Any]:
        """A scratch buffer of at least ``size`` reused across calls (grown by doubling): the per-link arrays
        of a send would otherwise be fresh memory every tick."""
        b = self._bufs.get(name)
        if b is None or b.size < size:
            b = np.empty(max(size, 2 * (0 if b is None else b.size), 1024), dtype)
            self._bufs[name] = b
        return b

    def _update_faults(self) -> None:
        """Per-tick fault masks (cached for the tick)."""
        if self._fault_tick == self.tick:
            return
        self._fault_tick = self.tick
        t = self.t + 1e-9
        alive = np.ones(self.n_nodes, bool)
        alive[: self.n_drones] = self.world.drones.status != DroneStatus.FAILED
        self.degr = np.zeros(self.n_nodes)
        silent = np.zeros(self.n_nodes, bool)
        parts: list[tuple[BoolA, BoolA]] = []
        pos = None
        for start, end, what, arg in self.faults:
            if not start <= t < end:
                continue
            if what == "dead":
                alive[arg] = False
            elif what == "degraded":
                self.degr[arg[0]] += arg[1]
            elif what == "partition":
                parts.append(arg)
            else:
                pos = self.positions() if pos is None else pos
                poly, lo, hi = arg
                inside = shapely.contains_xy(poly, pos[:, 0], pos[:, 1]) & (pos[:, 2] >= lo) & (pos[:, 2] <= hi)
                silent |= inside
        self.alive = alive
        self.silent = silent
        self.part_a = np.array([a for a, _ in parts], bool).reshape(len(parts), self.n_nodes)
        self.part_b = np.array([b for _, b in parts], bool).reshape(len(parts), self.n_nodes)

    # -- geometry ----------------------------------------------------------------------------------------------
    def positions(self) -> F64:
        """All node positions now (ENU m): drones, ground stations (antenna), manned vehicles."""
        return np.concatenate([self.world.drones.pos, self.gs_pos, self.world.manned.pos])

    def _csr(self, s: I64, r: I64) -> tuple[I64, I64]:
        """Directed edges grouped by sender as CSR over all nodes: (indptr, receiver)."""
        return csr(s.astype(np.int64), r.astype(np.int64), self.n_nodes)

    def _drone_links(self) -> tuple[I64, I64]:
        """Drone-drone candidate links (a superset of those in range), rebuilt only with the spatial index."""
        if self._csr_build != self.index.builds:
            self._csr_build = self.index.builds
            if self.n_drones > 1:
                cand = self.index.candidate_pairs(self.radius)
                s = np.concatenate([cand[:, 0], cand[:, 1]])
                r = np.concatenate([cand[:, 1], cand[:, 0]])
            else:
                s = r = np.zeros(0, np.int64)
            self._dcsr = self._csr(s, r)
        return self._dcsr

    def _extra_links(self) -> tuple[I64, I64]:
        """Links that touch a ground station or manned vehicle (a handful of nodes), rebuilt every tick."""
        if self._xcsr_tick != self.tick:
            self._xcsr_tick = self.tick
            # brute force over drones for each of the handful of other nodes: cheaper than tree queries
            self._xcsr = extra_links(self.positions(), self.n_drones, self.radius)
        return self._xcsr

    def _neighbours(self, msgs: I64, tx: I64, row: I64 | None = None) -> tuple[I64, I64, F64]:
        """For messages ``msgs`` sent by ``tx[msgs]``: every (message, receiver, distance) within the range cap,
        without receivers that already hold a flooded message (``row``)."""
        da, db = self._drone_links(), self._extra_links()
        row = np.full(tx.size, -1, np.int64) if row is None else row
        return gather_links(msgs, tx, row, da[0], da[1], db[0], db[1], self.positions(), self.max_range, self.seen)

    def links(self) -> tuple[I64, I64, F64]:
        """Every link (i < j) within the range cap now: (i, j, distance) — for logs and tests."""
        tx = np.arange(self.n_nodes)
        m, r, d = self._neighbours(tx, tx)
        one = m < r
        return m[one], r[one], d[one]

    # -- the API used by senders -----------------------------------------------------------------------------
    def register_kind(self, name: str, size_bytes: int, shape: tuple[int, ...] = (),
                      dtype: DTypeLike = np.float64) -> Kind:
        """Declare a message type; its airtime is ``size_bytes`` plus the header.  Registering twice returns
        the existing kind if it matches."""
        if name in self.kinds:
            k = self.kinds[name]
            if (k.size_bytes, k.shape, k.dtype) != (int(size_bytes), tuple(shape), np.dtype(dtype)):
                raise ValueError(f"message kind {name!r} is already registered with another size or payload")
            return k
        if not 0 < int(size_bytes) <= self.settings.max_payload_bytes:
            raise ValueError(f"message kind {name!r}: size_bytes {size_bytes} is outside 1.."
                             f"{self.settings.max_payload_bytes} (comms.max_payload_bytes)")
        k = Kind(len(self.stats), name, int(size_bytes), tuple(int(x) for x in shape), np.dtype(dtype))
        self.kinds[name] = k
        self.stats.append(KindStats())
        self.pending.append(_Pending())
        self.inboxes.append(self._empty_inbox(k))
        return k

    def _kind(self, kind: str | MessageKind) -> Kind:
        name = kind if isinstance(kind, str) else kind.name
        if name not in self.kinds:
            raise KeyError(f"unknown message kind {name!r}; registered: {sorted(self.kinds)}")
        return self.kinds[name]

    def _ids(self, ids: Any, what: str) -> I64:
        arr = np.atleast_1d(np.asarray(ids))
        if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= self.n_nodes):
            raise ValueError(f"{what}: node ids must be integers in 0..{self.n_nodes - 1}")
        return arr.astype(np.int64).ravel()

    def _payload(self, k: Kind, payload: Any, m: int) -> NDArray[Any]:
        if payload is None:
            return np.zeros((m, *k.shape), k.dtype)
        arr = np.asarray(payload, dtype=k.dtype)
        if arr.shape == k.shape:
            arr = np.broadcast_to(arr, (m, *k.shape))
        if arr.shape != (m, *k.shape):
            raise ValueError(f"kind {k.name!r}: payload shape {arr.shape} is not ({m}, *{k.shape})")
        return np.ascontiguousarray(arr)

    def broadcast(self, sender_ids: Any, kind: str | MessageKind, payload: Any = None) -> None:
        """Each sender transmits one message to every neighbour in range (one airtime each)."""
        k = self._kind(kind)
        tx = self._ids(sender_ids, "broadcast")
        m = tx.size
        pl = self._payload(k, payload, m)
        self.stats[k.id].sent += m
        self._transmit(k, tx, pl, tx, np.full(m, self.t), np.zeros(m, np.int32),
                       np.zeros(m), np.full(m, -1, np.int64), np.full(m, -1, np.int64), np.zeros(m, np.int32))

    def unicast(self, src: Any, dst: Any, kind: str | MessageKind, payload: Any = None, ttl: int = 1) -> None:
        """One message per (src, dst) pair.  ``ttl == 1``: a direct link only; ``ttl > 1``: routed by flooding
        (every node relays once, only ``dst`` gets it in its inbox)."""
        k = self._kind(kind)
        s, d = self._ids(src, "unicast src"), self._ids(dst, "unicast dst")
        s, d = np.broadcast_arrays(s, d)
        s, d = s.astype(np.int64), d.astype(np.int64)
        if int(ttl) < 1:
            raise ValueError("unicast: ttl must be >= 1")
        m = s.size
        pl = self._payload(k, payload, m)
        if ttl > 1:
            self._originate_flood(k, s, pl, d, int(ttl))
            return
        st = self.stats[k.id]
        st.sent += m
        st.intended += m
        self._transmit(k, s, pl, s, np.full(m, self.t), np.zeros(m, np.int32), np.zeros(m),
                       np.full(m, -1, np.int64), d, np.zeros(m, np.int32))

    def flood(self, src: Any, kind: str | MessageKind, payload: Any = None, ttl: int = 16) -> None:
        """Network-wide broadcast: every node that hears it for the first time relays it once, up to ``ttl``
        hops; duplicates are suppressed per node."""
        k = self._kind(kind)
        s = self._ids(src, "flood src")
        if int(ttl) < 1:
            raise ValueError("flood: ttl must be >= 1")
        self._originate_flood(k, s, self._payload(k, payload, s.size), np.full(s.size, -1, np.int64), int(ttl))

    def inbox(self, kind: str | MessageKind) -> Inbox:
        """What receivers got of ``kind`` this tick (empty arrays when nothing)."""
        return self.inboxes[self._kind(kind).id]

    # -- internals -----------------------------------------------------------------------------------------------
    def _empty_inbox(self, k: Kind) -> Inbox:
        z = np.zeros(0, np.int64)
        return Inbox(z, z, z, np.zeros((0, *k.shape), k.dtype), np.zeros(0, np.int32), np.zeros(0), np.zeros(0))

    def _originate_flood(self, k: Kind, src: I64, payload: NDArray[Any], dst: I64, ttl: int) -> None:
        m = src.size
        st = self.stats[k.id]
        st.sent += m
        self._update_faults()
        others = max(int(self.alive.sum()) - 1, 0)
        st.intended += int(np.where(dst >= 0, 1, others).sum())
        rows = self._alloc_rows(m)
        self.seen[rows, src] = True
        self.row_ttl[rows] = ttl
        self._transmit(k, src, payload, src, np.full(m, self.t), np.zeros(m, np.int32), np.zeros(m),
                       rows, dst, np.full(m, ttl, np.int32))

    def _alloc_rows(self, m: int) -> I64:
        while len(self.free_rows) < m:
            old = self.seen.shape[0]
            new = max(8, 2 * old)
            self.seen = np.concatenate([self.seen, np.zeros((new - old, self.n_nodes), bool)])
            self.best = np.concatenate([self.best, np.full((new - old, self.n_nodes), -1, np.int64)])
            self.best_t = np.concatenate([self.best_t, np.full((new - old, self.n_nodes), np.inf)])
            self.row_ttl = np.concatenate([self.row_ttl, np.zeros(new - old, np.int64)])
            self.free_rows.extend(range(new - 1, old - 1, -1))
        rows = np.array([self.free_rows.pop() for _ in range(m)], np.int64)
        self.seen[rows] = False
        return rows

    def _transmit(self, k: Kind, tx: I64, payload: NDArray[Any], origin: I64, origin_t: F64,
                  hops: NDArray[np.int32], lat0: F64, row: I64, dst: I64, ttl: NDArray[np.int32]) -> None:
        """Send message m from node tx[m]: broadcast to all neighbours (dst < 0 or a flood) or to dst[m]."""
        m = tx.size
        if m == 0:
            return
        st = self.stats[k.id]
        self._update_faults()
        n = self.n_nodes
        size = k.size_bytes + self.settings.header_bytes
        pos = self.positions()
        # direct unicasts: their distance as before (NumPy's norm), the rest is gathered in the kernel
        um = np.flatnonzero((dst >= 0) & (row < 0))
        ud = np.linalg.norm(pos[tx[um]] - pos[dst[um]], axis=1) if um.size else np.zeros(0)
        da, db = self._drone_links(), self._extra_links()
        # transmit queue (a byte backlog drained at the data rate) and links, in one compiled pass
        while True:
            fits, qdelay, n_fit, n_links, n_nb = queue_and_gather(
                tx, row, dst, self.busy_until, self.rate, self._cnt, self._nfit, self.t, size,
                self.settings.queue_bytes, da[0], da[1], db[0], db[1], pos, self.max_range, self.seen, ud,
                self._buf("e_msg", 0, np.int64), self._buf("e_rx", 0, np.int64), self._buf("e_d", 0, np.float64))
            if n_links >= 0:
                break
            if -n_links > MAX_LINKS_PER_CALL and m > 1:  # nothing was changed yet: send in two halves
                h = m // 2
                for part in (slice(0, h), slice(h, m)):
                    self._transmit(k, tx[part], payload[part], origin[part], origin_t[part], hops[part],
                                   lat0[part], row[part], dst[part], ttl[part])
                return
            for name, dtype in (("e_msg", np.int64), ("e_rx", np.int64), ("e_d", np.float64)):
                self._buf(name, -n_links, dtype)
        st.transmissions += m
        st.queue_dropped_msgs += m - n_fit
        st.bytes += n_fit * size
        if n_links == 0:
            return
        e_msg, e_rx, e_d = (self._buf(x, n_links, t)[:n_links] for x, t in
                            (("e_msg", np.int64), ("e_rx", np.int64), ("e_d", np.float64)))
        flood = bool(row[0] >= 0)  # a call sends floods only or none
        if not flood:
            st.intended += n_nb
        st.link_attempts += n_links
        # the draws fill reused buffers (same numbers as fresh arrays of this size)
        z = self.rng.standard_normal(out=self._buf("z", n_links, np.float64)[:n_links]) if self.any_shadowing \
            else np.zeros(0)
        extra = np.zeros(0)
        if self.any_ge:
            e_tx = tx[e_msg]
            extra = np.zeros(n_links)
            gi = np.flatnonzero(self.has_ge[e_tx])
            lt, lr = e_tx[gi], e_rx[gi]
            bad = self.ge_links.sample(lt * n + lr, self.t, self.ge_good[lt], self.ge_bad[lt], self.rng)
            extra[gi] = np.where(bad, self.ge_loss_bad[lt], self.ge_loss_good[lt])
        u = self.rng.random(out=self._buf("u", n_links, np.float64)[:n_links])
        first_due = self.tick + 1 if self._talked else self.tick  # never the tick whose delivery already ran
        o = [self._buf(x, n_links, t) for x, t in (("o_due", np.int64), ("o_arr", np.float64), ("o_rx", np.int64),
                                                    ("o_h", np.float64), ("o_msg", np.int64))]
        counts, skipped, n_ok = evaluate_compact(
            e_msg, e_rx, e_d, tx, fits, qdelay, self.alive, self.part_a, self.part_b, self.silent, self.max_range,
            z, u, extra, self.tx_dbm, self.gain, self.degr, self.fspl1, self.n_exp, self.sigma, self.sens,
            self.noise, self.bw_db, self.rate_db, self.rate, self.mod, float(size),
            self.settings.processing_delay_s, self.t, self.dt, first_due, row, self.best_t, self.best, *o)
        due, arr, rx, hop_s, msg = (b[:n_ok].copy() for b in o)
        if skipped:  # flood copies that could not arrive first: duplicates, not attempts
            st.link_attempts -= skipped
            st.duplicates += skipped
        for c, v in zip(DROP_CAUSES, counts.tolist(), strict=True):
            st.drops[c] += v
        st.link_ok += n_ok
        # one pending chunk: per link what differs (receiver, timing), per message the rest
        self.pending[k.id].add(
            {"due": due, "arr": arr, "rx": rx, "hop_s": hop_s, "msg": msg},
            {"src": origin, "via": tx, "hops": hops + 1, "sent_t": origin_t, "lat0": lat0, "row": row,
             "dst": dst, "ttl": ttl, "payload": payload})

    def _deliver(self, k: Kind) -> None:
        st = self.stats[k.id]
        got = self.pending[k.id].take_due(self.tick)
        if got is None:
            self.inboxes[k.id] = self._empty_inbox(k)
            return
        links, msgs = got
        rx, mi = links["rx"], links["msg"]
        take, relay, dead, dups = deliver_select(rx, mi, links["arr"], self.alive, msgs["row"], msgs["dst"],
                                                 msgs["hops"], msgs["ttl"], msgs["via"], self.seen, self.best)
        if dead:
            st.drops["dead_node"] += dead
            st.link_ok -= dead
        st.duplicates += dups
        # ndarray.take, not fancy indexing: the same values, several times faster for the (rows, k) payloads
        mt = mi.take(take)
        inbox = Inbox(rx.take(take), msgs["src"].take(mt), msgs["via"].take(mt), msgs["payload"].take(mt, axis=0),
                      msgs["hops"].take(mt).astype(np.int32), msgs["sent_t"].take(mt),
                      msgs["lat0"].take(mt) + links["hop_s"].take(take))
        self._to_inbox(k, inbox)
        if relay.size:
            mr = mi.take(relay)
            self._transmit(k, rx.take(relay), msgs["payload"].take(mr, axis=0), msgs["src"].take(mr),
                           msgs["sent_t"].take(mr), msgs["hops"].take(mr),
                           msgs["lat0"].take(mr) + links["hop_s"].take(relay), msgs["row"].take(mr),
                           msgs["dst"].take(mr), msgs["ttl"].take(mr))

    def _to_inbox(self, k: Kind, inbox: Inbox) -> None:
        self.inboxes[k.id] = inbox
        st = self.stats[k.id]
        st.delivered += len(inbox)
        st.add_delivered(inbox.latency_s, inbox.sent_t, self.t, inbox.hops)

    def _retire_floods(self) -> None:
        used = np.zeros(self.seen.shape[0], bool)
        for p in self.pending:
            r = p.rows()
            used[r[r >= 0]] = True
        busy = set(np.flatnonzero(used).tolist()) | set(self.free_rows)
        self.free_rows.extend(r for r in range(self.seen.shape[0] - 1, -1, -1) if r not in busy)

    # -- the tick ------------------------------------------------------------------------------------------------
    def step(self, ctx: TickContext) -> None:
        """Deliver what is due (and relay floods), then run the built-in traffic."""
        self.tick, self.t = ctx.step, ctx.t
        self._talked = True
        self._fault_tick = -1  # failures of this tick's SENSE phase count from now on
        self._update_faults()
        for k in self.kinds.values():
            self._deliver(k)
        self._retire_floods()
        tr = self.settings.traffic
        if self._state_kind is not None and self._state_rate is not None and self._state_rate.due(self.t):
            d = self.world.drones
            senders = np.flatnonzero(self.alive[: self.n_drones])
            pl = np.concatenate([d.pos.take(senders, axis=0), d.battery_wh.take(senders)[:, None]], axis=1)
            self.broadcast(senders, self._state_kind, pl)
        if self._ping_kind is not None and self._ping_rate is not None and self.n_gs and self._ping_rate.due(self.t):
            gs = np.arange(self.n_drones, self.n_drones + self.n_gs)
            seq = self._ping_seq + np.arange(self.n_gs)
            self._ping_seq += self.n_gs
            self.flood(gs, self._ping_kind, seq, ttl=tr.ping_ttl)

    def metrics(self) -> dict[str, object]:
        out: dict[str, object] = {f"comms_{k.name}": self.stats[k.id].summary() for k in self.kinds.values()}
        out["comms_nodes"] = self.n_nodes
        return out

    # -- the log ---------------------------------------------------------------------------------------------
    def record_frame(self, mcap: McapRecorder, t: float) -> None:
        """Link graph (every link in range now) as a SceneUpdate line list, at ``comms.record_hz``."""
        if self._record_rate is None or not self._record_rate.due(t):
            return
        self._update_faults()
        s, r, _ = self.links()
        one = self.alive[s] & self.alive[r]
        s, r = s[one][: self.settings.record_max_links], r[one][: self.settings.record_max_links]
        # one point per node and the links as index pairs: the JSON grows with nodes + 2 ints per link
        pts = np.round(self.positions(), 2).tolist()
        idx = np.stack([s, r], axis=1).ravel().tolist()
        ns = mcap.log_time_ns(t)
        links = scene.line(pts, (0.2, 0.8, 1.0), 0.6, kind=scene.LINE_LIST, indices=idx)
        update = scene.scene_update([scene.entity(ns, "links", lines=[links], metadata={"links": str(s.size)})])
        mcap.write_json("/comms/links", t, update, schema_name="foxglove.SceneUpdate")


def build(ctx: BuildContext) -> list[CommsSystem]:
    """The comms system -- and the ``mesh`` port -- when the scenario has a ``comms`` section, ground stations,
    or a mission (its drones coordinate only through messages, so a mission without either brings the default
    radio of docs/comms.md); else nothing."""
    sc = ctx.scenario
    if sc.comms is None and not sc.ground_stations and not sc.tasks and sc.mission is None:
        return []
    comms = CommsSystem(ctx, sc.comms or Comms())
    ctx.ports.mesh = comms
    return [comms]
