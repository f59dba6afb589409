"""Small instance builders for the autonomy tests."""

from __future__ import annotations

import numpy as np

from skyhive.autonomy.cbba import CBBA, CBBAConfig
from skyhive.autonomy.tasks import TaskSet
from skyhive.autonomy.transport import DiskGraphTransport


def instance(n: int, m: int, seed: int = 0, extent: float = 2000.0) -> tuple[TaskSet, np.ndarray]:
    rng = np.random.default_rng(seed)
    tasks = TaskSet.random(m, rng, extent)
    pos = np.column_stack([rng.uniform(0, extent, (n, 2)), np.full(n, 50.0)])
    return tasks, pos


def setup(n: int, m: int, *, seed: int = 0, extent: float = 2000.0, range_m: float = 800.0, loss: float = 0.0,
          **cfg: object) -> tuple[CBBA, DiskGraphTransport]:
    tasks, pos = instance(n, m, seed, extent)
    alg = CBBA(tasks, pos, config=CBBAConfig(**cfg))  # type: ignore[arg-type]
    tr = DiskGraphTransport(pos, range_m, loss, np.random.default_rng(seed + 100))
    return alg, tr


def components(tr: DiskGraphTransport) -> int:
    """Connected components of the radio graph (tests assert connectivity where they need it)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    links = tr.links()
    g = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(tr.n, tr.n))
    return int(connected_components(g)[0])
