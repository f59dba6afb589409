"""Property: random encounters of 2-50 drones at one altitude, each commanded straight across the area at
its own heading and speed (within limits), never lose separation — whatever the commands, the safety layer
alone keeps them apart.  Also: a drone's command depends only on its own state and its neighbours' (the
drones within the look radius), never on far-away drones."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyhive import Simulation
from skyhive.scenario import scenario_from_dict
from skyhive.systems import Phase, TickContext
from tests.conftest import BASE, ll


class ConstantIntents:
    """Commands every drone at a fixed velocity once it is up (a careless source of commands)."""

    name = "constant_intents"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, velocities: np.ndarray) -> None:
        self.velocities = velocities

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        up = d.pos[:, 2] > 45.0
        d.intent_vel[up] = self.velocities[up]
        d.intent_vel[~up] = (0.0, 0.0, 3.0)

    def metrics(self) -> dict[str, object]:
        return {}


def encounter(n: int, seed: int, speed_frac: float) -> tuple[dict[str, Any], np.ndarray]:
    rng = np.random.default_rng(seed)
    radius = max(120.0, 15.0 * n / math.pi)
    angles = np.sort(rng.uniform(0.0, 2 * math.pi, n))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * math.pi]))
    angles = np.cumsum(np.maximum(gaps, 15.0 / radius))[:n]  # pads at least 15 m apart around the ring
    angles *= 2 * math.pi / max(angles[-1] + 15.0 / radius, 2 * math.pi)
    start = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
    heading = angles + math.pi + rng.uniform(-0.5, 0.5, n)  # roughly through the middle
    speed = 15.0 * speed_frac * rng.uniform(0.5, 1.0, n)
    vel = np.column_stack([speed * np.cos(heading), speed * np.sin(heading), np.zeros(n)])
    data = copy.deepcopy(BASE)
    data["duration"] = 60.0
    data["fleets"] = [{"name": f"d{k}", "count": 1, "launch": {"sites": [ll(*start[k])]}} for k in range(n)]
    return data, vel


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 50), seed=st.integers(0, 2**31), speed_frac=st.floats(0.3, 1.0))
def test_random_encounters_never_lose_separation(n: int, seed: int, speed_frac: float) -> None:
    data, vel = encounter(n, seed, speed_frac)
    sim = Simulation(scenario_from_dict(data))
    sim.add_system(ConstantIntents(vel))
    sim.run()
    m = sim.metrics
    assert m["loss_of_separation_events"] == 0, (n, seed, speed_frac, m["min_separation_m"])


def test_command_depends_only_on_neighbours() -> None:
    """Moving drones far outside a drone's look radius changes nothing in its command."""
    data, vel = encounter(12, 7, 0.9)
    data["fleets"].append({"name": "far", "count": 4, "launch": {"sites": [ll(5000, 5000)]}})
    vel = np.vstack([vel, np.zeros((4, 3))])
    runs = []
    for far_x in (5000.0, 7000.0):
        sim = Simulation(scenario_from_dict(data))
        sim.world.drones.pos[-4:, 0] = far_x
        sim.add_system(ConstantIntents(vel))
        sim.run(until=30.0)
        runs.append(sim.world.drones.cmd_vel[:12].copy())
    assert np.array_equal(runs[0], runs[1])
