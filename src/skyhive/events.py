"""The run's event log: what happened, when, to whom — for the summary and the MCAP log."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

LEVELS = ("debug", "info", "warning", "error")


@dataclass
class Event:
    t: float
    level: str
    source: str
    text: str
    drones: NDArray[np.int64] | None = None


@dataclass
class EventLog:
    """Append-only; consumers (the recorder) keep their own read position."""

    events: list[Event] = field(default_factory=list)

    def add(self, t: float, level: str, source: str, text: str, drones: NDArray[np.int64] | None = None) -> None:
        assert level in LEVELS, level
        self.events.append(Event(t, level, source, text, drones))

    def since(self, k: int) -> list[Event]:
        return self.events[k:]

    def __len__(self) -> int:
        return len(self.events)
