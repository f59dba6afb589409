"""Cost of recording drone frames to MCAP (same suite as ``skyhive bench record``).

Usage: python benchmarks/bench_record.py [--quick]
"""

from __future__ import annotations

import sys

from skyhive.bench.record import run

if __name__ == "__main__":
    table = run("--quick" in sys.argv)
    print(table.title)
    print(" | ".join(table.columns))
    for row in table.rows:
        print(" | ".join(str(v) for v in row))
    for note in table.notes:
        print("-", note)
