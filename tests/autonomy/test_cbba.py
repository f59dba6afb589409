"""CBBA behaviour: optimum on known instances, equality with central greedy, loss, failures, partitions,
operator tasking, capabilities and windows."""

from __future__ import annotations

import numpy as np

from skyhive.autonomy import baseline as B
from skyhive.autonomy.cbba import CBBA, CBBAConfig
from skyhive.autonomy.tasks import TaskSet
from skyhive.autonomy.transport import DiskGraphTransport

from .helpers import components, setup


def test_known_optimum_single_assignment() -> None:
    # Each task sits 20 m from "its" drone and >= 1 km from the others: the optimum is the diagonal.
    pos = np.array([[0.0, 0, 50], [1000, 0, 50], [0, 1000, 50], [1000, 1000, 50]])
    tasks = TaskSet()
    perm = [2, 0, 3, 1]
    tasks.add(pos[perm] + np.array([20.0, 0, 0]), value=[5.0, 3.0, 8.0, 1.0])
    alg = CBBA(tasks, pos, config=CBBAConfig(max_bundle=1))
    tr = DiskGraphTransport(pos, 1100.0, 0.0, np.random.default_rng(0))  # diagonal pairs out of range
    alg.run(tr, 200)
    owner, conflicts = alg.owners()
    assert alg.converged() and conflicts == 0
    assert owner.tolist() == perm
    opt = B.optimal_single(tasks, pos)
    assert opt.owner.tolist() == perm
    assert np.isclose(alg.total_value(), opt.value, rtol=1e-9)


def test_single_assignment_equals_central_greedy_and_near_optimum() -> None:
    alg, tr = setup(25, 60, seed=3, max_bundle=1, range_m=700.0)
    assert components(tr) == 1
    alg.run(tr, 500)
    owner, conflicts = alg.owners()
    assert alg.converged() and conflicts == 0 and alg.agreement() == 1.0
    g = B.greedy_bundles(alg.tasks, alg.pos, 1)
    assert owner.tolist() == g.owner.tolist()  # CBBA reaches the sequential-greedy plan (Choi 2009, Thm. 1)
    opt = B.optimal_single(alg.tasks, alg.pos)
    assert alg.total_value() <= opt.value + 1e-9
    assert alg.total_value() >= 0.9 * opt.value


def test_bundles_conflict_free_and_bounded() -> None:
    alg, tr = setup(15, 45, seed=5, max_bundle=3, range_m=1200.0)
    assert components(tr) == 1
    alg.run(tr, 500)
    owner, conflicts = alg.owners()
    assert alg.converged() and conflicts == 0 and alg.agreement() == 1.0
    assert (owner >= 0).sum() == 45  # capacity 15 x 3 = 45: every task is taken
    g = B.greedy_bundles(alg.tasks, alg.pos, 3)
    ub = B.upper_bound(alg.tasks, alg.pos)
    v = alg.total_value()
    assert v <= ub + 1e-9
    assert abs(v - g.value) <= 0.05 * g.value


def test_packet_loss_still_converges_within_10pct() -> None:
    alg, tr = setup(40, 60, seed=7, max_bundle=1, range_m=700.0, loss=0.3)
    assert components(tr) == 1
    alg.run(tr, 800)
    _, conflicts = alg.owners()
    assert alg.converged() and conflicts == 0 and alg.agreement() == 1.0
    assert tr.stats.dropped > 0
    opt = B.optimal_single(alg.tasks, alg.pos)
    assert alg.total_value() >= 0.9 * opt.value
    met = alg.metrics()
    assert met["alloc_converged"] and met["alloc_conflicts"] == 0 and met["alloc_tasks_assigned"] == 40
    assert met["alloc_broadcasts"] == tr.stats.broadcasts
    # the last round's broadcasts were delivered by the final tick but not yet read by a round
    assert met["alloc_deliveries"] + len(tr.inbox("cbba")) == tr.stats.deliveries


def test_drone_failure_tasks_taken_by_others() -> None:
    alg, tr = setup(12, 24, seed=11, max_bundle=3, range_m=900.0, stale_rounds=15)
    alg.run(tr, 300)
    owner0, c0 = alg.owners()
    assert c0 == 0 and (owner0 >= 0).all()
    victim = int(np.bincount(owner0[owner0 >= 0], minlength=12).argmax())
    lost = np.flatnonzero(owner0 == victim)
    assert lost.size > 0
    alg.fail([victim])
    tr.alive[victim] = False
    alg.run(tr, 400)
    owner1, c1 = alg.owners()
    assert alg.converged() and c1 == 0 and alg.agreement() == 1.0
    assert (owner1[lost] >= 0).all() and (owner1 != victim).all()
    assert (owner1 >= 0).all()  # 11 x 3 = 33 >= 24: everything still done


def test_partition_keeps_working_then_heals_consistently() -> None:
    alg, tr = setup(16, 20, seed=13, max_bundle=3, range_m=3000.0, stale_rounds=12)
    tr.group[:] = (alg.pos[:, 0] > 1000.0).astype(np.int32)  # two halves that cannot hear each other
    assert 0 < tr.group.sum() < 16
    alg.run(tr, 300)
    # Each side, unaware of the other, plans every task itself: work continues on both sides.
    for g in (0, 1):
        side = np.flatnonzero(tr.group == g)
        claimed = np.unique(alg.bundle[side][alg.bundle[side] >= 0])
        assert claimed.size == 20
    _, conflicts = alg.owners()
    assert conflicts > 0  # the two sides overlap, as they must without communication
    tr.group[:] = 0  # heal
    alg.run(tr, 400)
    owner, conflicts = alg.owners()
    assert alg.converged() and conflicts == 0 and alg.agreement() == 1.0
    assert (owner >= 0).all()


def test_tasks_added_and_cancelled_mid_run() -> None:
    alg, tr = setup(10, 15, seed=17, max_bundle=3, range_m=900.0)
    alg.run(tr, 300)
    new = alg.tasks.add(np.array([[100.0, 100.0, 50.0], [1900.0, 1900.0, 50.0], [1000.0, 1000.0, 50.0]]),
                        value=20.0)
    alg.add_tasks(3)
    alg.run(tr, 300)
    owner, conflicts = alg.owners()
    assert conflicts == 0 and (owner[new] >= 0).all() and alg.agreement() == 1.0
    gone = int(new[0])
    alg.cancel_tasks([gone])
    alg.run(tr, 300)
    owner, conflicts = alg.owners()
    assert conflicts == 0 and owner[gone] == -1
    assert not (alg.bundle == gone).any()


def test_capability_and_time_window() -> None:
    pos = np.array([[0.0, 0, 50], [100, 0, 50], [200, 0, 50]])
    tasks = TaskSet()
    tasks.add([[10.0, 0, 50]], value=5.0, req_cap=0b10)  # only drone 2 has the sensor
    tasks.add([[50.0, 0, 50]], value=5.0, t_end=0.5)  # 5 s away for the nearest drone: impossible window
    tasks.add([[150.0, 0, 50]], value=5.0, t_start=100.0, service=10.0)  # wait for the window
    alg = CBBA(tasks, pos, cap=np.array([0b01, 0b01, 0b11], np.uint32), config=CBBAConfig(max_bundle=2))
    tr = DiskGraphTransport(pos, 500.0, 0.0, np.random.default_rng(0))
    alg.run(tr, 100)
    owner, conflicts = alg.owners()
    assert conflicts == 0
    assert owner[0] == 2 and owner[1] == -1 and owner[2] >= 0


def test_deterministic() -> None:
    runs = []
    for _ in range(2):
        alg, tr = setup(20, 40, seed=21, max_bundle=2, range_m=600.0, loss=0.2)
        alg.run(tr, 300)
        runs.append((alg.y.copy(), alg.z.copy(), alg.round, tr.stats.deliveries))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][2:] == runs[1][2:]


def test_low_battery_drone_hands_over_what_it_can_no_longer_fly() -> None:
    alg, tr = setup(10, 30, seed=19, max_bundle=4, range_m=1200.0)
    assert components(tr) == 1
    alg.run(tr, 300)
    owner0, c0 = alg.owners()
    assert c0 == 0
    weak = int(np.bincount(owner0[owner0 >= 0], minlength=10).argmax())
    held = np.flatnonzero(owner0 == weak)
    assert held.size >= 2
    # endurance just enough to fly to its nearest task and nothing much further
    d = np.linalg.norm(alg.tasks.pos - alg.pos[weak], axis=1)
    limit = float(d.min() / 10.0 + 5.0)
    alg.set_endurance([weak], limit)
    alg.run(tr, 300)
    owner1, c1 = alg.owners()
    assert alg.converged() and c1 == 0 and alg.agreement() == 1.0
    assert (owner1 == weak).sum() <= 1
    assert (owner1[held] >= 0).sum() >= held.size - 1 or (owner1 >= 0).sum() >= (owner0 >= 0).sum() - 1
    v = alg.path_values()
    assert v[weak] >= 0  # its remaining path fits the new endurance (else the score would be -1)


def test_endurance_limits_bids() -> None:
    pos = np.array([[0.0, 0, 50]])
    tasks = TaskSet()
    tasks.add([[100.0, 0, 50], [1000.0, 0, 50]], value=5.0)
    alg = CBBA(tasks, pos, endurance=50.0, config=CBBAConfig(max_bundle=2))  # 10 m/s: 100 m ok, 1 km not
    alg.run(DiskGraphTransport(pos, 10.0, 0.0, np.random.default_rng(0)), 50)
    assert alg.owners()[0].tolist() == [0, -1]


def test_bad_construction_is_a_clear_error() -> None:
    import pytest

    tasks = TaskSet()
    tasks.add([[0.0, 0, 50]])
    with pytest.raises(ValueError, match="pos"):
        CBBA(tasks, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="cap"):
        CBBA(tasks, np.zeros((3, 3)), cap=np.zeros(2, np.uint32))
    with pytest.raises(ValueError, match="speed"):
        CBBA(tasks, np.zeros((3, 3)), speed=0.0)
    with pytest.raises(ValueError, match="endurance"):
        CBBA(tasks, np.zeros((3, 3)), endurance=-1.0)
    with pytest.raises(ValueError, match="max_bundle"):
        CBBAConfig(max_bundle=0)
