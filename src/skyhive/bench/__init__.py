"""Benchmarks behind ``skyhive bench``: each concern registers a suite.

A suite is a function ``run(quick: bool) -> BenchTable``.  ``quick`` runs a
reduced size (for smoke tests); the full run produces the figures written to
BENCHMARKS.md.  An interface: may import anything but ``cli``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BenchTable:
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Suite = Callable[[bool], BenchTable]
SUITES: dict[str, str] = {
    # name -> "module:function"; imported lazily so optional dependencies stay optional
    "core": "skyhive.bench.core:run",
    "record": "skyhive.bench.record:run",
    "comms": "skyhive.bench.comms:run",
    "mavlink": "skyhive.bench.mavlink:run",
    "mavlink-attacks": "skyhive.bench.mavlink_attacks:run",
    "allocation": "skyhive.bench.allocation:run",
    "tracking": "skyhive.bench.tracking:run",
    "sar": "skyhive.bench.sar:run",
    "sar-allocation": "skyhive.bench.sar_allocation:run",
    "safety": "skyhive.bench.safety:run",
    "external": "skyhive.bench.external:run",
    "sweep": "skyhive.bench.sweep:run",
    "console": "skyhive.bench.console:run",
}
