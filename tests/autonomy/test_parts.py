"""Task model, transport and centralized baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from skyhive.autonomy import baseline as B
from skyhive.autonomy.tasks import TaskSet
from skyhive.autonomy.transport import DiskGraphTransport


def test_task_validation_names_the_field() -> None:
    ts = TaskSet()
    with pytest.raises(ValueError, match="value"):
        ts.add([[0.0, 0, 0]], value=-1.0)
    with pytest.raises(ValueError, match="t_end"):
        ts.add([[0.0, 0, 0]], t_start=10.0, t_end=5.0)
    with pytest.raises(ValueError, match="pos"):
        ts.add([[np.nan, 0, 0]])
    assert len(ts) == 0
    ids = ts.add([[0.0, 0], [1.0, 1]], value=[1.0, 2.0])
    assert ids.tolist() == [0, 1] and ts.pos.shape == (2, 3)
    ts.cancel([0])
    assert ts.active.tolist() == [False, True]


def test_disk_graph_range_loss_dead_and_groups() -> None:
    pos = np.array([[0.0, 0, 0], [90, 0, 0], [200, 0, 0], [0, 50, 0]])
    tr = DiskGraphTransport(pos, 100.0, 0.0, np.random.default_rng(0))
    tr.broadcast("k", np.array([0], np.int32), {"v": np.array([[7]])}, nbytes=8)
    tr.tick(1.0)
    box = tr.inbox("k")
    assert sorted(box.receivers.tolist()) == [1, 3] and set(box.senders.tolist()) == {0}
    assert (box.payload["v"][box.rows] == 7).all()
    assert len(tr.inbox("other")) == 0
    tr.tick(2.0)
    assert len(tr.inbox("k")) == 0  # delivered once, one tick after sending
    tr.alive[3] = False
    tr.group[1] = 1
    tr.broadcast("k", np.array([0], np.int32), {"v": np.array([[7]])}, nbytes=8)
    tr.tick(3.0)
    assert len(tr.inbox("k")) == 0


def test_disk_graph_loss_rate() -> None:
    rng = np.random.default_rng(1)
    pos = rng.uniform(0, 100, (200, 3))
    tr = DiskGraphTransport(pos, 1000.0, 0.3, np.random.default_rng(2))
    tr.broadcast("k", np.arange(200, dtype=np.int32), {"v": np.zeros((200, 1))}, nbytes=1)
    tr.tick(1.0)
    frac = tr.stats.dropped / (tr.stats.dropped + tr.stats.deliveries)
    assert abs(frac - 0.3) < 0.01


def test_optimal_single_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    tasks = TaskSet.random(5, rng, 3000.0)
    pos = np.column_stack([rng.uniform(0, 3000, (4, 2)), np.full(4, 50.0)])
    b = B.benefit_matrix(tasks, pos)
    best = max(sum(b[i, p[i]] for i in range(4)) for p in itertools.permutations(range(5), 4))
    assert np.isclose(B.optimal_single(tasks, pos).value, best)
    g = B.greedy_bundles(tasks, pos, 1)
    assert g.value <= best + 1e-9 and g.value >= 0.5 * best  # greedy is feasible, and 1/2-optimal
    assert B.upper_bound(tasks, pos) >= best
