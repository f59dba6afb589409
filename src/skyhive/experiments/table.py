"""The results of a sweep on disk: ``runs.jsonl`` (one JSON line per finished run, appended and flushed as each
run ends: the journal that resume reads) and ``results.parquet`` (the table, rewritten atomically every few
seconds, at the end, and on Ctrl-C), plus ``sweep.json`` (what the sweep is: scenario, paths, seeds).

Column types are chosen from all rows: booleans, 64-bit integers, 64-bit floats (when a column mixes integers and
floats) or strings; a missing value is null.  Floats go through JSON text and back without loss, so a row equals
the run's summary JSON value for value.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skyhive.experiments.runner import BOOKKEEPING

JOURNAL = "runs.jsonl"
RESULTS = "results.parquet"
SPEC = "sweep.json"


def _arrow_type(values: list[Any]) -> Any:
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if not present:
        return pa.null()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def _cell(value: Any, kind: Any) -> Any:
    import pyarrow as pa

    if value is None:
        return None
    if kind == pa.float64():
        return float(value)
    if kind == pa.string() and not isinstance(value, str):
        return json.dumps(value)
    return value


def rows_to_table(rows: list[dict[str, Any]], first: Iterable[str] = ()) -> Any:
    """A pyarrow Table of the rows: ``first`` columns, then the bookkeeping, then the metrics in order seen."""
    import pyarrow as pa

    order: dict[str, None] = dict.fromkeys([*first, *BOOKKEEPING])
    for row in rows:
        order.update(dict.fromkeys(row))
    columns = {}
    for name in order:
        values = [row.get(name) for row in rows]
        kind = _arrow_type(values)
        columns[name] = pa.array([_cell(v, kind) for v in values], type=kind)
    return pa.table(columns)


class ResultsDir:
    """The output folder of one sweep: journal, table and spec."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        self.first: list[str] = []
        self._journal: Any = None
        self._written_at = 0.0
        self._write_cost = 0.0
        self._dirty = False

    # -- spec ----------------------------------------------------------------------------------------------------
    def read_spec(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / SPEC).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_spec(self, spec: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (SPEC + ".tmp")
        tmp.write_text(json.dumps(spec, indent=2, default=str) + "\n")
        os.replace(tmp, self.path / SPEC)

    # -- rows ----------------------------------------------------------------------------------------------------
    def load(self) -> dict[str, dict[str, Any]]:
        """The rows already finished (from the journal; a torn last line from a killed sweep is skipped)."""
        self.rows = {}
        try:
            with (self.path / JOURNAL).open(encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(row, dict) and "run_id" in row:
                        self.rows[row["run_id"]] = row
        except FileNotFoundError:
            pass
        return self.rows

    def add(self, row: dict[str, Any]) -> None:
        """Record one finished run: append it to the journal now; the table follows within a few seconds."""
        if self._journal is None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._journal = (self.path / JOURNAL).open("a", encoding="utf-8")
        self._journal.write(json.dumps(row, allow_nan=False) + "\n")
        self._journal.flush()
        self.rows[row["run_id"]] = row
        self._dirty = True
        # every 5 s, or less often when the table is big enough that writing it costs more than 10 % of the time
        if time.monotonic() - self._written_at > max(5.0, 10.0 * self._write_cost):
            self.write_table()

    def table(self) -> Any:
        return rows_to_table(list(self.rows.values()), self.first)

    def write_table(self) -> Path:
        """Rewrite results.parquet from every row so far (atomically: a reader never sees half a file)."""
        import pyarrow.parquet as pq

        start = time.monotonic()
        self.path.mkdir(parents=True, exist_ok=True)
        out = self.path / RESULTS
        tmp = self.path / (RESULTS + ".tmp")
        pq.write_table(self.table(), tmp)
        os.replace(tmp, out)
        self._written_at = time.monotonic()
        self._write_cost = self._written_at - start
        self._dirty = False
        return out

    def close(self) -> None:
        if self._dirty or not (self.path / RESULTS).exists():
            self.write_table()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
