"""The per-intruder record of a run (evaluation only; nothing in the picture reads it).

For each intruder: when a sensor first detected it, when a confirmed track first followed it, when the operator
first got an alert on it, what the picture called it (label and identity of the last track that followed it), how
many tracks and how many aircraft numbers it took (fragmentation), and how many times a track that followed it
moved on to another intruder (track identity swaps).  ``summary`` is the table printed under the run summary and
written to the summary JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class IntruderRecord:
    name: str
    first_detected_s: float | None = None
    first_tracked_s: float | None = None
    first_alerted_s: float | None = None
    identified_as: str = ""
    tracks: set[int] = field(default_factory=set)
    aircraft: set[int] = field(default_factory=set)

    def row(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {"intruder": self.name, "first_detected_s": r(self.first_detected_s),
                "first_tracked_s": r(self.first_tracked_s), "first_alerted_s": r(self.first_alerted_s),
                "identified_as": self.identified_as or "-", "tracks": len(self.tracks),
                "aircraft": len(self.aircraft)}


class IntruderLedger:
    """Per-intruder firsts, fragmentation and swaps (module docstring)."""

    def __init__(self, names: list[str]) -> None:
        self.rows = [IntruderRecord(n) for n in names]
        self.track_owner: dict[int, int] = {}  # track -> intruder it last followed
        self.swaps = 0

    def detected(self, t: float, intruders: list[int]) -> None:
        for i in intruders:
            rec = self.rows[i]
            if rec.first_detected_s is None:
                rec.first_detected_s = t

    def followed(self, tid: int, i: int) -> None:
        """A detection of intruder ``i`` updated track ``tid``; a track that moves between intruders is a swap."""
        prev = self.track_owner.get(tid)
        if prev is not None and prev != i:
            self.swaps += 1
        self.track_owner[tid] = i
        self.rows[i].tracks.add(tid)

    def picture(self, t: float, tracks: list[tuple[int, int, str]]) -> None:
        """The confirmed tracks now as (track, aircraft, "label identity")."""
        for tid, ac, what in tracks:
            i = self.track_owner.get(tid)
            if i is None:
                continue
            rec = self.rows[i]
            if rec.first_tracked_s is None:
                rec.first_tracked_s = t
            rec.aircraft.add(ac)
            rec.identified_as = what

    def alerted(self, t: float, tid: int) -> None:
        i = self.track_owner.get(tid)
        if i is not None and self.rows[i].first_alerted_s is None:
            self.rows[i].first_alerted_s = t

    def summary(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.rows]
