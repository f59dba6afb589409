"""The report: mean and 95 % t-interval over seeds, one plot per metric, tables, error rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from skyhive.experiments.report import ReportError, write_report
from skyhive.experiments.stats import estimate
from skyhive.experiments.table import ResultsDir


def test_estimate_is_the_student_t_interval() -> None:
    e = estimate([1.0, 2.0, 3.0])
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2) from the table, s = 1
    assert e.n == 3 and e.mean == 2.0 and e.std == 1.0
    assert e.low == pytest.approx(2.0 - half, abs=1e-3) and e.high == pytest.approx(2.0 + half, abs=1e-3)
    e20 = estimate([float(k % 2) for k in range(20)])  # t(0.975, 19) = 2.093
    assert e20.high - e20.mean == pytest.approx(2.093 * e20.std / math.sqrt(20), rel=1e-3)
    one = estimate([5.0, None, math.nan])  # type: ignore[list-item]
    assert one.n == 1 and one.mean == 5.0 and math.isnan(one.low)
    assert estimate([]).n == 0


def _folder(tmp_path: Path) -> Path:
    results = ResultsDir(tmp_path)
    results.first = ["speed", "mode"]
    results.write_spec({"scenario": "made-up.yaml", "paths": ["speed", "mode"], "until": None})
    for speed in (1, 2):
        for mode in ("a", "b"):
            for seed in range(3):
                results.add({"run_id": f"{speed}{mode}{seed}", "speed": speed, "mode": mode, "seed": seed,
                             "status": "ok", "error": None, "run_wall_s": 0.1, "worker": "w",
                             "found": 10 * speed + (mode == "b") + seed, "drones": 8, "nested.part": seed,
                             "time_all_s": None if seed == 0 else 100.0 * speed})
    results.add({"run_id": "bad", "speed": 2, "mode": "a", "seed": 9, "status": "error",
                 "error": "RuntimeError: boom", "run_wall_s": 0.1, "worker": "w"})
    results.close()
    return tmp_path


def test_report_has_a_plot_and_a_table_per_varying_metric(tmp_path: Path) -> None:
    page = write_report(_folder(tmp_path))
    out = page.parent
    text = page.read_text()
    assert 'id="found"' in text and 'id="time_all_s"' in text
    assert 'id="drones"' not in text  # the same in every run: nothing to plot
    assert 'id="nested.part"' not in text  # nested metrics only with all_metrics
    assert (out / "found.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    # speed=1, mode=b: found = 11, 12, 13 -> mean 12, CI 12 +/- 4.303 / sqrt(3)
    assert "| 1 | b | 3 | 12 | 9.516 … 14.48 | 1 |" in md
    # time_all_s is null for seed 0: n = 2 for each combination
    assert "| 2 | a | 2 | 200 | 200 … 200 | 0 |" in md
    assert "RuntimeError: boom" in text and "Runs with an error (1)" in md
    assert "13 runs (12 ok, 1 error)" in text
    page = write_report(tmp_path, all_metrics=True)
    assert 'id="nested.part"' in page.read_text()


def test_report_of_a_folder_without_a_sweep_says_so(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"no results\.parquet"):
        write_report(tmp_path)
    with pytest.raises(ReportError, match="no column 'nope'"):
        write_report(_folder(tmp_path), metrics=["nope"])
