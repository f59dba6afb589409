"""The tick: systems that run in a fixed phase order on one clock, and what a system gets when it is built.

Each subsystem (comms, autonomy, airspace sensing, ...) is a ``System``: it declares its phase and period and
gets a ``TickContext`` each time it is due.  The simulation owns the order.

Systems never hold the ``Simulation`` and never look each other up by name.  A concern's *builder*
(``build(ctx: BuildContext) -> list[System]``, listed statically in ``skyhive.sim.SYSTEM_BUILDERS``) receives a
:class:`BuildContext`: the scenario (a builder reads its own sections only), the world, the local frame, the event
log, a random generator per subsystem, the fleet slices, the spatial index, and :class:`Ports` -- the named,
typed interfaces through which one concern reaches another:

* ``ports.mesh`` (:class:`Mesh`): the radio mesh; the comms builder provides it, autonomy and airspace use it;
* ``ports.control`` (:class:`ControlMask`): who commands each drone (the swarm, or an external ground station
  through MAVLink); the simulation owns it, the MAVLink side writes it, autonomy reads it;
* ``ports.hold`` (:class:`HoldPort`): where a routeless drone holds when it is handed back to the swarm;
* ``ports.airspace``: the airspace picture of the run, published by the airspace builder for tools and tests
  (``Simulation.airspace``).

A system that writes its own topics to the MCAP log implements :class:`Recordable`.  A system that does some of
its work at a slower rate than the tick keeps a :class:`Rate` (or sets ``period`` when all of its work is slow).
CONTRIBUTING.md, "How to build a system now", walks through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import DTypeLike, NDArray

if TYPE_CHECKING:
    from skyhive.events import EventLog
    from skyhive.geo.frames import LocalFrame
    from skyhive.record.writer import McapRecorder
    from skyhive.scenario.models import Scenario
    from skyhive.world.spatial import SpatialIndex
    from skyhive.world.world import World

__all__ = [
    "BuildContext",
    "Builder",
    "ControlMask",
    "HoldPort",
    "Mesh",
    "MeshLimits",
    "MessageBatch",
    "MessageKind",
    "Phase",
    "Ports",
    "Rate",
    "Recordable",
    "System",
    "TickContext",
    "TrafficCounters",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# Tolerance of every "is it due?" comparison on sim time (t is step * dt, so sums of periods drift by ulps).
TIME_EPS = 1e-9


class Phase(IntEnum):
    """Fixed order of work inside one tick (see DESIGN.md, "The tick")."""

    SENSE = 10
    TALK = 20
    DECIDE = 30
    TRACK = 40
    GUARD = 50
    MOVE = 60
    RECORD = 70


@dataclass
class TickContext:
    """What a system may look at this tick."""

    step: int
    t: float
    dt: float
    world: World
    index: SpatialIndex
    rng: dict[str, np.random.Generator]


class System(Protocol):
    """A unit of work run by the simulation loop."""

    name: str
    phase: Phase
    period: float  # seconds between runs; 0 means every tick

    def step(self, ctx: TickContext) -> None: ...

    def metrics(self) -> dict[str, object]: ...


@runtime_checkable
class Recordable(Protocol):
    """A system that writes its own topics (link graph, tracks, alerts, ...) to the MCAP log.

    The recorder (``skyhive.record.attach``) calls ``record_frame`` at the recording rate, after the clock has
    advanced, on every system that implements it; the system decides what to write (and may keep its own
    :class:`Rate` to write less often)."""

    def record_frame(self, mcap: McapRecorder, t: float) -> None: ...


class Rate:
    """A timer on simulation time: ``due(t)`` is True once each time the next deadline is reached.

    Two schedules, both exactly those the hand-written timers used (so runs stay bit-identical):

    * fixed (default): deadlines at ``start, start + p, start + 2p, ...`` (``next += p``); a tick that comes late
      does not shift the later deadlines;
    * ``from_last=True``: the next deadline is ``p`` after the tick that fired (``next = t + p``).

    >>> r = Rate.hz(2.0)
    >>> [t for t in (0.0, 0.1, 0.5, 0.9, 1.0) if r.due(t)]
    [0.0, 0.5, 1.0]
    """

    __slots__ = ("from_last", "next_t", "period_s")

    def __init__(self, period_s: float, start: float = 0.0, *, from_last: bool = False) -> None:
        self.period_s = period_s
        self.next_t = start
        self.from_last = from_last

    @classmethod
    def hz(cls, hz: float, start: float = 0.0, *, from_last: bool = False) -> Rate:
        """A rate of ``hz`` per second (period ``1 / hz``)."""
        return cls(1.0 / hz, start, from_last=from_last)

    def ready(self, t: float) -> bool:
        """Whether a deadline has been reached at ``t``, without consuming it."""
        return t + TIME_EPS >= self.next_t

    def due(self, t: float) -> bool:
        """Whether a deadline has been reached at ``t``; if so, schedule the next one."""
        if t + TIME_EPS < self.next_t:
            return False
        self.next_t = t + self.period_s if self.from_last else self.next_t + self.period_s
        return True


# -- ports ---------------------------------------------------------------------------------------------------------
@dataclass
class ControlMask:
    """Who commands each drone.  ``external[i]`` is True while a ground station outside the swarm (MAVLink) flies
    drone ``i``: the swarm's own autonomy leaves that drone alone.  One bool per drone, owned by the simulation."""

    external: NDArray[np.bool_]

    @classmethod
    def swarm(cls, n: int) -> ControlMask:
        """Every drone commanded by the swarm."""
        return cls(np.zeros(n, bool))


class HoldPort(Protocol):
    """Where a routeless drone holds when it is handed back to the swarm (implemented by the waypoint follower)."""

    def hold_at(self, drone: int, pos: F64) -> None: ...


class MessageKind(Protocol):
    """A registered message type of the mesh."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class MessageBatch(Protocol):
    """Messages of one kind delivered this tick, one row per (receiver, message)."""

    @property
    def receivers(self) -> I64: ...

    @property
    def senders(self) -> I64: ...

    @property
    def via(self) -> I64: ...

    @property
    def payload(self) -> NDArray[Any]: ...

    @property
    def hops(self) -> NDArray[np.int32]: ...

    @property
    def sent_t(self) -> F64: ...

    @property
    def latency_s(self) -> F64: ...

    def __len__(self) -> int: ...


class TrafficCounters(Protocol):
    """What the mesh counted for one message kind."""

    @property
    def sent(self) -> int: ...

    @property
    def transmissions(self) -> int: ...

    @property
    def bytes(self) -> int: ...


class MeshLimits(Protocol):
    @property
    def max_payload_bytes(self) -> int: ...


class Mesh(Protocol):
    """The radio mesh as senders and receivers see it (implemented by ``skyhive.comms.system.CommsSystem``).

    Nodes are numbered drones ``0..n_drones-1``, then ground stations, then manned vehicles.  Sends take arrays
    (one call for all senders); what arrives is read from ``inbox(kind)`` in a later tick."""

    @property
    def n_drones(self) -> int: ...

    @property
    def n_gs(self) -> int: ...

    @property
    def n_manned(self) -> int: ...

    @property
    def n_nodes(self) -> int: ...

    @property
    def gs_names(self) -> Sequence[str]: ...

    @property
    def manned_names(self) -> Sequence[str]: ...

    @property
    def gs_pos(self) -> F64: ...

    @property
    def max_range(self) -> F64: ...

    @property
    def t(self) -> float: ...

    @property
    def settings(self) -> MeshLimits: ...

    @property
    def kinds(self) -> Mapping[str, MessageKind]: ...

    @property
    def stats(self) -> Sequence[TrafficCounters]: ...

    def register_kind(self, name: str, size_bytes: int, shape: tuple[int, ...] = (),
                      dtype: DTypeLike = np.float64) -> MessageKind: ...

    def broadcast(self, sender_ids: Any, kind: str | MessageKind, payload: Any = None) -> None: ...

    def unicast(self, src: Any, dst: Any, kind: str | MessageKind, payload: Any = None, ttl: int = 1) -> None: ...

    def flood(self, src: Any, kind: str | MessageKind, payload: Any = None, ttl: int = 16) -> None: ...

    def inbox(self, kind: str | MessageKind) -> MessageBatch: ...


@dataclass
class Ports:
    """The named interfaces between concerns.  ``control`` and ``hold`` always exist; ``mesh`` and ``airspace``
    exist when their concern's builder provided them (builders run in ``SYSTEM_BUILDERS`` order, comms first)."""

    control: ControlMask
    hold: HoldPort
    mesh: Mesh | None = None
    airspace: object | None = None  # the run's airspace picture (``skyhive.airspace``), for tools and tests


@dataclass(frozen=True)
class BuildContext:
    """What a concern's builder gets: everything a system may keep, nothing it may not (not the Simulation)."""

    scenario: Scenario  # read your own sections
    world: World
    frame: LocalFrame
    log: EventLog
    dt: float
    fleet_slices: Mapping[str, slice]
    index: SpatialIndex
    ports: Ports
    rngs: Mapping[str, np.random.Generator] = field(repr=False)

    def rng(self, name: str) -> np.random.Generator:
        """The subsystem's own generator (seeded from the scenario seed and ``name``, whatever else exists)."""
        return self.rngs[name]


Builder = Callable[[BuildContext], Sequence[System]]
"""``build(ctx) -> list[System]``: a concern's systems for this scenario (empty when its sections are absent)."""
