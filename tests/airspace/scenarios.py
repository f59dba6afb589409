"""Scenario dicts for the airspace tests, built in code from local coordinates."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import BASE, ll, ring


def watch_scenario(duration: float = 120.0) -> dict[str, Any]:
    """A radar and a Remote ID receiver protect a 400 m x 400 m zone; three intruders; a swarm flies through it."""
    sc = copy.deepcopy(BASE)
    sc["duration"] = duration
    sc["fleets"] = [{
        "name": "survey", "count": 4, "launch": {"sites": [ll(1200, -600)], "spacing_m": 20.0},
        "route": {"waypoints": [ll(1200, -600, 60), ll(1200, 600, 60)], "speed_mps": 8.0},
    }]
    sc["protected_zones"] = [{"name": "runway", "polygon": ring(1000, -200, 1400, 200), "floor_m": 0.0,
                              "ceiling_m": 150.0, "warn_time_s": 60.0}]
    sc["sensors"] = [
        {"type": "radar", "name": "r1", "position": ll(0, 0, 5), "range_m": 3000.0, "false_alarms_per_scan": 5.0},
        {"type": "remote_id", "name": "rid1", "position": ll(0, 0, 2), "range_m": 2500.0},
    ]
    sc["intruders"] = [
        {"name": "bandit", "behaviour": "approach", "zone": "runway", "start": ll(200, 0, 60), "speed_mps": 10.0},
        {"name": "coop", "behaviour": "loiter", "start": ll(-800, 500, 80), "speed_mps": 8.0,
         "remote_id": {"uas_id": "COOP1", "operator_id": "OP-7"}},
        {"name": "liar", "behaviour": "hover", "start": ll(-500, -600, 50),
         "remote_id": {"uas_id": "FAKE1", "claimed_offset_m": [400.0, 0.0, 0.0]}},
    ]
    return sc
