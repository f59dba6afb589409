"""A drone's decision may read only its own row and its inbox (DESIGN.md, issue #4).

Both tests fail if a kernel reads another drone's state: the first poisons every other row and demands a
bit-identical result for the drone under test; the second gives every drone an empty inbox and demands
that each plan equal the plan the drone computes when it is alone in the world.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from skyhive.autonomy.cbba import CBBA, KIND, CBBAConfig
from skyhive.autonomy.tasks import TaskSet
from skyhive.autonomy.transport import I32, Inbox, NullTransport, Payload, TransportStats

from .helpers import setup


@dataclass
class Replay:
    """Hands the same recorded inbox to whoever asks; swallows broadcasts."""

    box: Inbox
    stats: TransportStats

    def broadcast(self, kind: str, sender_ids: I32, payload: Payload, nbytes: int) -> None:
        return None

    def tick(self, t: float) -> None:
        return None

    def inbox(self, kind: str) -> Inbox:
        return self.box


def _poison(alg: CBBA, keep: int, rng: np.random.Generator) -> None:
    n, m = alg.y.shape
    other = np.arange(n) != keep
    alg.y[other] = rng.uniform(0, 50, (other.sum(), m)).astype(np.float32)
    alg.z[other] = rng.integers(-1, n, (other.sum(), m))
    alg.t[other] = rng.integers(-1, alg.round + 5, (other.sum(), m))
    alg.s[other] = rng.integers(-1, alg.round + 5, (other.sum(), n))
    alg.bundle[other] = rng.integers(0, m, alg.bundle[other].shape)
    alg.path[other] = rng.integers(0, m, alg.path[other].shape)
    alg.blen[other] = rng.integers(0, alg.bundle.shape[1] + 1, other.sum())
    alg.pos[other] = rng.uniform(-5000, 5000, (other.sum(), 3))
    alg.speed_arr[other] = rng.uniform(1, 30, other.sum())
    alg.cap_arr[other] = rng.integers(0, 8, other.sum()).astype(np.uint32)
    alg.last_sent[other] = rng.integers(-5, alg.round, other.sum())
    alg.alive[other] = rng.random(other.sum()) < 0.5


def test_poisoned_other_rows_do_not_change_a_drones_round() -> None:
    alg, tr = setup(30, 60, seed=4, max_bundle=3, range_m=700.0, loss=0.2, stale_rounds=6)
    for _ in range(4):  # mid-run, with bids in flight
        alg.step(tr)
    box = tr.inbox(KIND)
    assert len(box) > 0
    rng = np.random.default_rng(99)
    checked = 0
    for i in np.unique(box.receivers)[:8].tolist():
        clean, dirty = copy.deepcopy(alg), copy.deepcopy(alg)
        _poison(dirty, i, rng)
        assert not np.array_equal(dirty.y, clean.y)  # the poison is real
        clean.step(Replay(box, TransportStats()))
        dirty.step(Replay(box, TransportStats()))
        for name in ("y", "z", "t", "s", "bundle", "path", "blen", "last_change"):
            assert np.array_equal(getattr(clean, name)[i], getattr(dirty, name)[i]), (name, i)
        checked += 1
    assert checked == 8


def test_without_messages_each_plan_is_the_drones_own() -> None:
    alg, _ = setup(8, 30, seed=6, max_bundle=3)
    alg.run(NullTransport(8), 50)
    for i in range(8):
        alone = CBBA(alg.tasks, alg.pos[i : i + 1].copy(), config=CBBAConfig(max_bundle=3))
        alone.run(NullTransport(1), 50)
        assert alg.bundle[i].tolist() == alone.bundle[0].tolist()
        assert alg.path[i].tolist() == alone.path[0].tolist()


def test_nothing_received_means_overlapping_plans() -> None:
    # Sanity for the test above: alone, drones near each other pick the same best task (conflicts > 0).
    tasks = TaskSet()
    tasks.add([[0.0, 0, 50]], value=10.0)
    pos = np.array([[10.0, 0, 50], [-10.0, 0, 50]])
    alg = CBBA(tasks, pos, config=CBBAConfig(max_bundle=1))
    alg.run(NullTransport(2), 20)
    assert alg.owners()[1] == 1
