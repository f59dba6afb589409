"""A drone failed out of CBBA (taken over by a ground station, an external vehicle's lost link) and later revived
bids again and wins tasks; the allocation stays conflict-free."""

from __future__ import annotations

import numpy as np

from .helpers import setup


def test_revived_drone_rejoins_and_wins_tasks() -> None:
    alg, tr = setup(6, 12, seed=3, max_bundle=3, range_m=5000.0, stale_rounds=15)
    alg.run(tr, 200)
    victim = 2
    alg.fail([victim])
    tr.alive[victim] = False
    alg.run(tr, 300)
    owner, conflicts = alg.owners()
    assert conflicts == 0 and (owner != victim).all() and (owner >= 0).all()
    alg.revive([victim])
    tr.alive[victim] = True
    alg.run(tr, 400)
    owner, conflicts = alg.owners()
    assert alg.converged() and conflicts == 0 and alg.agreement() == 1.0
    assert np.count_nonzero(owner == victim) > 0  # it bids again and wins the tasks it is best placed for
    assert (owner >= 0).all()
