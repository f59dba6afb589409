"""Run benchmark suites from a checkout without the CLI (same suites and tables as ``skyhive bench``).

Usage: python benchmarks/run.py [SUITE ...] [--quick]      e.g.  python benchmarks/run.py core record
The suites live in ``skyhive.bench`` (one module per concern, registered in ``SUITES``).
"""

from __future__ import annotations

import importlib
import sys

from skyhive.bench import SUITES

if __name__ == "__main__":
    names = [a for a in sys.argv[1:] if not a.startswith("-")] or list(SUITES)
    for name in names:
        module, func = SUITES[name].split(":")
        table = getattr(importlib.import_module(module), func)("--quick" in sys.argv)
        print(f"## {table.title}\n")
        print("| " + " | ".join(table.columns) + " |")
        print("|" + "---|" * len(table.columns))
        for row in table.rows:
            print("| " + " | ".join(str(v) for v in row) + " |")
        for note in table.notes:
            print("-", note)
        print()
