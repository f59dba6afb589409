"""The distributed engines give the same rows as the local one.

Dask runs in CI on a LocalCluster that the test starts (loopback only).  Ray is heavier (about 15-20 s to start
a local instance on the 2-core CI machine, and a large wheel in the test extra), so its test is opt-in:
``SKYHIVE_TEST_RAY=1 pytest tests/experiments/test_engines.py`` with ``pip install 'skyhive[ray]'``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from skyhive.experiments import sweep
from skyhive.experiments.runner import TIMING_FIELDS
from tests.experiments.helpers import small_scenario

MACHINE_COLUMNS = {*TIMING_FIELDS, "run_wall_s", "run_cpu_s", "worker"}
GRID: dict[str, Any] = {"vary": {"wind.speed_mps": [1, 7], "fleets.alpha.count": [2, 4]}, "seeds": "3-4",
                        "until": 4}


def _rows(table: Any) -> dict[str, dict[str, Any]]:
    return {r["run_id"]: {k: v for k, v in r.items() if k not in MACHINE_COLUMNS} for r in table.to_pylist()}


@pytest.fixture(scope="module")
def local_rows() -> dict[str, dict[str, Any]]:
    return _rows(sweep(small_scenario(), jobs=1, **GRID))


def test_dask_local_cluster_gives_the_same_rows_as_the_local_engine(local_rows: dict[str, Any]) -> None:
    pytest.importorskip("distributed")
    table = sweep(small_scenario(), engine="dask", jobs=2, **GRID)
    rows = table.to_pylist()
    assert len({r["worker"] for r in rows}) >= 1 and all(r["worker"] for r in rows)
    assert {r["status"] for r in rows} == {"ok"}
    assert _rows(table) == local_rows


@pytest.mark.skipif(os.environ.get("SKYHIVE_TEST_RAY") != "1", reason="opt-in: SKYHIVE_TEST_RAY=1 (Ray is heavy)")
def test_ray_local_instance_gives_the_same_rows_as_the_local_engine(local_rows: dict[str, Any]) -> None:
    pytest.importorskip("ray")
    table = sweep(small_scenario(), engine="ray", jobs=2, **GRID)
    assert {r["status"] for r in table.to_pylist()} == {"ok"}
    assert _rows(table) == local_rows
