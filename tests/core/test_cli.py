"""The command line as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_run_writes_summary(tmp_path: Path) -> None:
    out = tmp_path / "new" / "s.json"  # folders that do not exist yet are created (as `make demo` needs)
    log = tmp_path / "new" / "logs" / "run.mcap"
    proc = run_cli("run", "examples/quickstart.yaml", "--until", "5", "--seed", "3", "--summary", str(out),
                   "--record", str(log))
    assert proc.returncode == 0, proc.stderr
    assert log.stat().st_size > 0
    summary = json.loads(out.read_text())
    assert summary["sim_time_s"] == 5.0 and summary["seed"] == 3 and summary["drones"] == 50
    for key in ("loss_of_separation_events", "min_separation_m", "geofence_breach_events", "well_clear_violations",
                "drones_lost", "battery_used_wh", "distance_flown_km"):
        assert key in summary
    assert "run summary" in proc.stdout


def test_help_explains_options() -> None:
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    for option in ("--seed", "--until", "--record", "--summary"):
        assert option in proc.stdout


def test_bench_quick_core() -> None:
    proc = run_cli("bench", "core", "--quick")
    assert proc.returncode == 0, proc.stderr
    assert "steps/s" in proc.stdout and "2,000" in proc.stdout


def test_unknown_bench_suite_is_an_error() -> None:
    proc = run_cli("bench", "nope")
    assert proc.returncode == 2 and "unknown suite" in proc.stderr
