"""Tasks as struct-of-arrays: what the swarm shares out.

A task is an index into parallel arrays (position, kind, value, time window,
service time, required capability).  Allocation kernels read these arrays
directly, so adding a task appends one element to each array and cancelling it
clears ``active`` -- ids are never reused, so a task id in a bundle or a
message stays meaningful for the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


class TaskKind(IntEnum):
    """Mission task kinds of issue #4 (the allocator treats them all as visit + service)."""

    INSPECT = 0
    SURVEY = 1
    SEARCH = 2
    LOITER = 3
    RELAY = 4
    FOLLOW = 5


# The scenario's task kinds (``TaskSpec.kind``) that the allocator sees as a ``TaskKind``; follow tasks get their
# allocatable slots separately.
TASK_KINDS: dict[str, TaskKind] = {"inspect": TaskKind.INSPECT, "loiter": TaskKind.LOITER, "relay": TaskKind.RELAY,
                                   "survey": TaskKind.SURVEY, "search": TaskKind.SEARCH}


@dataclass
class TaskSet:
    """M tasks; every array has length M (``pos`` is (M, 3), ENU metres).

    ``t_start``/``t_end`` bound the *arrival* time (s, mission clock); ``service``
    is how long the drone stays (-1: a hold to the end, set by the mission for follow/relay tasks after ``add``:
    a path may end with it but never continue after it); ``req_cap`` is a capability bitmask that a drone's
    mask must contain to bid.
    """

    pos: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    kind: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))
    value: F64 = field(default_factory=lambda: np.zeros(0))
    t_start: F64 = field(default_factory=lambda: np.zeros(0))
    t_end: F64 = field(default_factory=lambda: np.zeros(0))
    service: F64 = field(default_factory=lambda: np.zeros(0))
    req_cap: NDArray[np.uint32] = field(default_factory=lambda: np.zeros(0, np.uint32))
    active: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))

    def __len__(self) -> int:
        return int(self.value.shape[0])

    def add(
        self,
        pos: ArrayLike,
        value: ArrayLike = 1.0,
        kind: ArrayLike = TaskKind.INSPECT,
        t_start: ArrayLike = 0.0,
        t_end: ArrayLike = np.inf,
        service: ArrayLike = 0.0,
        req_cap: ArrayLike = 0,
    ) -> NDArray[np.int64]:
        """Append tasks (scalars broadcast); return their new ids.

        Raises ValueError naming the first bad field: non-finite position, value <= 0,
        negative service, or a window that closes before it opens.
        """
        p = np.atleast_2d(np.asarray(pos, dtype=np.float64))
        if p.shape[1] == 2:
            p = np.column_stack([p, np.zeros(len(p))])
        if p.ndim != 2 or p.shape[1] != 3:
            raise ValueError(f"pos: expected (k, 3) or (k, 2), got shape {p.shape}")
        k = p.shape[0]

        def col(a: ArrayLike, dtype: type, name: str) -> NDArray[Any]:
            out: NDArray[Any] = np.broadcast_to(np.asarray(a, dtype=dtype), (k,)).copy()
            return out

        v = col(value, np.float64, "value")
        ts = col(t_start, np.float64, "t_start")
        te = col(t_end, np.float64, "t_end")
        sv = col(service, np.float64, "service")
        kd = col(kind, np.int8, "kind")
        rc = col(req_cap, np.uint32, "req_cap")
        if not np.isfinite(p).all():
            raise ValueError(f"pos: task {int(np.argmin(np.isfinite(p).all(axis=1)))} has a non-finite coordinate")
        for name, arr, bad in (
            ("value", v, ~(np.isfinite(v) & (v > 0))),
            ("service", sv, ~(np.isfinite(sv) & (sv >= 0))),
            ("t_end", te, ~(te >= ts)),
            ("t_start", ts, ~np.isfinite(ts)),
        ):
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"{name}: task {i} of this batch is invalid ({arr[i]!r})")
        ids = np.arange(len(self), len(self) + k, dtype=np.int64)
        self.pos = np.vstack([self.pos, p])
        self.value = np.concatenate([self.value, v])
        self.t_start = np.concatenate([self.t_start, ts])
        self.t_end = np.concatenate([self.t_end, te])
        self.service = np.concatenate([self.service, sv])
        self.kind = np.concatenate([self.kind, kd.astype(np.int8)])
        self.req_cap = np.concatenate([self.req_cap, rc.astype(np.uint32)])
        self.active = np.concatenate([self.active, np.ones(k, bool)])
        return ids

    def cancel(self, ids: ArrayLike) -> None:
        """Mark tasks inactive; their ids stay reserved."""
        self.active[np.asarray(ids, dtype=np.int64)] = False

    @classmethod
    def random(
        cls,
        m: int,
        rng: np.random.Generator,
        extent: float,
        value: tuple[float, float] = (1.0, 10.0),
        alt: float = 50.0,
    ) -> TaskSet:
        """Uniform tasks in [0, extent]^2 at ``alt`` with uniform values (benchmarks, tests)."""
        ts = cls()
        xy = rng.uniform(0.0, extent, (m, 2))
        ts.add(np.column_stack([xy, np.full(m, alt)]), value=rng.uniform(value[0], value[1], m))
        return ts
