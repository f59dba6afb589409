"""A small scenario whose runs depend on the seed (gusts, random failures), and a runner that kills its worker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from skyhive.experiments.grid import Task
from skyhive.experiments.runner import RunSettings, run_task
from tests.conftest import ll, ring


def small_scenario() -> dict[str, Any]:
    """4 drones fly out and back in gusty wind with random failures: 20 s of flight, seed-dependent results."""
    return {
        "schema_version": 1,
        "name": "sweep-test",
        "origin": {"lat": 47.0, "lon": 8.0, "alt": 400.0},
        "duration": 20.0,
        "dt": 0.1,
        "seed": 5,
        "wind": {"speed_mps": 3.0, "from_deg": 270.0, "gusts": {"sigma_mps": 2.0, "length_scale_m": 100.0}},
        "airspace": {"geofences": [{"name": "ops", "kind": "keep_in", "polygon": ring(-400, -400, 400, 400)}]},
        "fleets": [{"name": "alpha", "count": 4, "launch": {"sites": [ll(0, 0)], "spacing_m": 12.0},
                    "route": {"waypoints": [{**ll(150, 100), "alt_m": 30.0}, {**ll(0, 0), "alt_m": 30.0}],
                              "on_complete": "land"}}],
        "events": [{"type": "random_failures", "rate_per_hour": 400.0}],
    }


def write_scenario(doc: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def dies_on_seed_1(settings: RunSettings, task: Task) -> dict[str, Any]:
    """Like run_task, but the worker process exits hard (no exception, no row) when the seed is 1."""
    if task.seed == 1:
        os._exit(3)
    return run_task(settings, task)
