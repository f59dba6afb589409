"""The tick: systems that run in a fixed phase order on one clock.

Each subsystem (comms, autonomy, airspace sensing, ...) is a ``System``: it
declares its phase and period and gets a ``TickContext`` each time it is due.
The simulation owns the order; systems never call each other directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from skyhive.world.spatial import SpatialIndex
    from skyhive.world.world import World


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

# Optional: a system may also define ``record_frame(self, mcap: McapRecorder, t: float) -> None``; the recorder calls
# it at the recording rate so the system can write its own topics (link graph, tracks, alerts) to the MCAP log.
