"""``skyhive bench safety``: the traffic suite (``bench/traffic.py``) at full size.

Each case: drones, losses of separation, minimum separation, share of routes completed, completion time
over the same fleets flown alone (goal <= 1.5), milliseconds of wall time per tick (the whole tick, not only
the safety layer).
"""

from __future__ import annotations

from skyhive.bench import BenchTable
from skyhive.bench.traffic import CASES, run_case


def run(quick: bool) -> BenchTable:
    table = BenchTable(
        title="safety: traffic at one altitude (separation 10 m, dt = 0.1 s)",
        columns=["case", "drones", "LoS", "min sep m", "routes done", "time / alone", "ms/tick"],
    )
    for name in CASES:
        r = run_case(name, quick)
        table.rows.append([name, f"{r.drones:,}", r.loss_of_separation_events,
                           "-" if r.min_separation_m is None else f"{r.min_separation_m:.1f}",
                           f"{100 * r.routes_completed_frac:.0f} %",
                           "-" if r.slowdown is None else f"{r.slowdown:.2f}", f"{r.ms_per_tick:.1f}"])
    table.notes.append("goal in every case: 0 losses of separation, every route completed, <= 1.5 x the time alone")
    return table
