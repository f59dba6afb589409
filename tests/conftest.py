"""Shared fixtures: small scenario dicts built in code, so each test states what it changes."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from skyhive.geo.frames import LocalFrame

ORIGIN = {"lat": 47.0, "lon": 8.0, "alt": 400.0}
FRAME = LocalFrame(ORIGIN["lat"], ORIGIN["lon"], ORIGIN["alt"])


def ll(x: float, y: float, z: float = 0.0) -> dict[str, float]:
    """A scenario point at local (x east, y north, z up) metres."""
    lat, lon, _ = FRAME.geodetic(np.array([x, y, z]))
    return {"lat": float(lat), "lon": float(lon), "alt_m": float(z)}


def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A closed [lon, lat] rectangle ring from local corners."""
    pts = [ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)]
    return [[p["lon"], p["lat"]] for p in pts]


BASE: dict[str, Any] = {
    "schema_version": 1,
    "name": "test",
    "origin": ORIGIN,
    "duration": 60.0,
    "dt": 0.1,
    "seed": 1,
    "fleets": [{"name": "a", "count": 1, "launch": {"sites": [ll(0, 0)]}}],
}


@pytest.fixture
def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def run_cli(*args: str, timeout: float = 300.0, **kwargs: Any) -> Any:
    """Run ``python -m skyhive ...`` in a subprocess against this checkout's sources."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([sys.executable, "-m", "skyhive", *args], capture_output=True, text=True, cwd=root,
                          env=env, timeout=timeout, **kwargs)
