"""A sweep row is the summary of `skyhive run`; resume; Ctrl-C; error rows; a worker that dies; sweep files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import skyhive.sim
from skyhive.cli import app
from skyhive.experiments import SweepError, sweep
from skyhive.experiments.check import apply_values
from skyhive.experiments.engines import run_rows
from skyhive.experiments.grid import tasks_of
from skyhive.experiments.runner import BOOKKEEPING, TIMING_FIELDS, RunSettings, flatten_summary
from tests.experiments.helpers import dies_on_seed_1, small_scenario, write_scenario

ROOT = Path(__file__).resolve().parents[2]


def _same(a: Any, b: Any) -> bool:
    """Equal, and for floats bit for bit."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and float(a).hex() == float(b).hex()
    return bool(a == b) and type(a) is type(b)


def test_a_row_is_the_summary_of_skyhive_run_with_the_same_values_and_seed(tmp_path: Path) -> None:
    doc = small_scenario()
    table = sweep(doc, vary={"wind.speed_mps": [2, 6.5], "fleets.alpha.count": [3]}, seeds=[0, 11], until=15,
                  jobs=2, out=tmp_path / "out")
    rows = table.to_pylist()
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert len({r["distance_flown_km"] for r in rows}) == 4  # the values and seeds change the runs
    runner = CliRunner()
    for row in rows:
        values = {"wind.speed_mps": row["wind.speed_mps"], "fleets.alpha.count": row["fleets.alpha.count"]}
        scenario = write_scenario(apply_values(doc, values), tmp_path / f"{row['run_id']}.yaml")
        summary_path = tmp_path / f"{row['run_id']}.summary.json"
        result = runner.invoke(app, ["run", str(scenario), "--seed", str(row["seed"]), "--until", "15",
                                     "--summary", str(summary_path), "--no-progress"])
        assert result.exit_code == 0, result.output
        summary = flatten_summary(json.loads(summary_path.read_text()))
        expected = {k: v for k, v in summary.items() if k not in (*TIMING_FIELDS, "interrupted")}
        assert len(expected) > 20
        got = {k: row[k] for k in expected}
        different = {k: (got[k], v) for k, v in expected.items() if not _same(got[k], v)}
        assert not different
        extra = set(row) - set(summary) - set(BOOKKEEPING) - set(values)
        assert not extra  # nothing in the row that the summary lacks


def test_a_search_and_rescue_row_is_the_summary_of_skyhive_run(tmp_path: Path) -> None:
    """With missions, CBBA over the mesh and numba's parallel kernels (the sweep runs them on one thread)."""
    example = ROOT / "examples" / "sar-small.yaml"
    [row] = sweep(example, vary=["fleets.rescue.radio.gilbert_elliott.loss_good=0.2"], seeds=4, until=40,
                  jobs=1).to_pylist()
    doc = yaml.safe_load(example.read_text())
    doc["fleets"][0]["radio"]["gilbert_elliott"]["loss_good"] = 0.2
    scenario = write_scenario(doc, tmp_path / "sar.yaml")
    result = CliRunner().invoke(app, ["run", str(scenario), "--seed", "4", "--until", "40", "--summary",
                                      str(tmp_path / "sar.json"), "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = flatten_summary(json.loads((tmp_path / "sar.json").read_text()))
    assert summary["mission_alloc_broadcasts"] > 0 and any(k.startswith("comms_cbba/") for k in summary)
    different = {k: (row[k], v) for k, v in summary.items()
                 if k not in (*TIMING_FIELDS, "interrupted") and not _same(row[k], v)}
    assert not different


def test_resume_after_an_interruption_runs_only_what_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args: dict[str, Any] = {"vary": {"wind.speed_mps": "0:4:2"}, "seeds": "0-1", "until": 3, "jobs": 1, "out": out}
    seen: list[dict[str, Any]] = []

    def stop_after_two(done: int, total: int, row: dict[str, Any] | None) -> None:
        if row is not None:
            seen.append(row)
            if len(seen) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(small_scenario(), progress=stop_after_two, **args)
    first = pq.read_table(out / "results.parquet").to_pylist()  # readable, with the runs done
    assert [r["run_id"] for r in first] == [r["run_id"] for r in seen]

    calls: list[tuple[int, int, dict[str, Any] | None]] = []
    table = sweep(small_scenario(), progress=lambda d, t, r: calls.append((d, t, r)), **args)
    assert calls[0] == (2, 6, None)  # two done before, six in the sweep
    ran = [r for _, _, r in calls if r is not None]
    assert len(ran) == 4 and not {r["run_id"] for r in ran} & {r["run_id"] for r in first}
    final = table.to_pylist()
    assert len(final) == 6 and len({r["run_id"] for r in final}) == 6
    assert sweep(small_scenario(), progress=lambda d, t, r: calls.append((d, t, r)), **args).num_rows == 6
    assert calls[-1] == (6, 6, None)  # a third call runs nothing


def test_the_folder_of_another_sweep_is_not_mixed_in(tmp_path: Path) -> None:
    sweep(small_scenario(), vary={"wind.speed_mps": [1]}, seeds=0, until=1, jobs=1, out=tmp_path)
    with pytest.raises(SweepError, match="holds another sweep"):
        sweep(small_scenario(), vary={"wind.speed_mps": [1]}, seeds=0, until=2, jobs=1, out=tmp_path)


def test_a_run_that_raises_is_an_error_row_and_the_sweep_goes_on(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real_step = skyhive.sim.Simulation.step

    def step(self: skyhive.sim.Simulation) -> None:
        if self.seed == 1 and self.t >= 1.0:
            raise RuntimeError("battery model diverged")
        real_step(self)

    monkeypatch.setattr(skyhive.sim.Simulation, "step", step)
    rows = sweep(small_scenario(), seeds="0-2", until=2, jobs=1, out=tmp_path).to_pylist()
    by_seed = {r["seed"]: r for r in rows}
    assert [by_seed[s]["status"] for s in (0, 1, 2)] == ["ok", "error", "ok"]
    assert by_seed[1]["error"].startswith("RuntimeError: battery model diverged (at test_sweep.py:")
    assert by_seed[1]["steps"] is None and by_seed[0]["steps"] == 20
    # a re-run keeps the error row; --retry-errors runs it again (still failing here)
    assert sweep(small_scenario(), seeds="0-2", until=2, jobs=1, out=tmp_path).num_rows == 3
    again: list[Any] = []
    sweep(small_scenario(), seeds="0-2", until=2, jobs=1, out=tmp_path, retry_errors=True,
          progress=lambda d, t, r: again.append(r))
    assert [r["seed"] for r in again if r is not None] == [1]


def test_a_worker_process_that_dies_fails_only_its_own_run() -> None:
    settings = RunSettings(small_scenario(), str(ROOT), until=1.0, numba_threads=1)
    rows = list(run_rows("local", settings, tasks_of([], [0, 1, 2, 3]), jobs=2, runner=dies_on_seed_1))
    by_seed = {r["seed"]: r for r in rows}
    assert sorted(by_seed) == [0, 1, 2, 3] and len(rows) == 4
    assert by_seed[1]["status"] == "error" and "worker process died" in by_seed[1]["error"]
    assert all(by_seed[s]["status"] == "ok" for s in (0, 2, 3))


def test_ctrl_c_leaves_a_readable_table_and_the_same_command_goes_on(tmp_path: Path) -> None:
    scenario = write_scenario(small_scenario(), tmp_path / "s.yaml")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "skyhive", "sweep", str(scenario), "--vary", "wind.speed_mps=0:19:1",
           "--seeds", "0-1", "--until", "5", "--jobs", "2", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    journal = out / "runs.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    done = pq.read_table(out / "results.parquet").to_pylist()
    assert 2 <= len(done) < 40 and {r["status"] for r in done} == {"ok"}
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} already in" in " ".join(again.stdout.split())
    final = {r["run_id"]: r for r in pq.read_table(out / "results.parquet").to_pylist()}
    assert len(final) == 40
    assert all(final[r["run_id"]]["distance_flown_km"] == r["distance_flown_km"] for r in done)


def test_a_sweep_file_and_the_report_from_the_command_line(tmp_path: Path) -> None:
    write_scenario(small_scenario(), tmp_path / "s.yaml")
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({
        "scenario": "s.yaml", "vary": {"wind.speed_mps": "0:4:4", "fleets.alpha.count": [2, 3]},
        "seeds": "0-1", "until": 2, "jobs": 1}))
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", "--file", str(tmp_path / "sweep.yaml"), "--out", str(out), "--report"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert sorted((r["wind.speed_mps"], r["fleets.alpha.count"], r["seed"]) for r in rows) == [
        (w, c, s) for w in (0, 4) for c in (2, 3) for s in (0, 1)]
    assert (out / "report" / "index.html").exists()
    (tmp_path / "bad.yaml").write_text("scenario: s.yaml\nvary: {wind.speed_mps: [1]}\nseedz: 3\njobs: 0\n")
    bad = runner.invoke(app, ["sweep", "--file", str(tmp_path / "bad.yaml"), "--out", str(out)])
    assert bad.exit_code == 2
    assert "seedz" in bad.output and "unknown field" in bad.output and "jobs" in bad.output


def test_per_run_summary_json_and_mcap_log(tmp_path: Path) -> None:
    from mcap.reader import make_reader

    [row] = sweep(small_scenario(), seeds=2, until=2, jobs=1, out=tmp_path, summaries=True,
                  record=True).to_pylist()
    summary = flatten_summary(json.loads((tmp_path / "runs" / f"{row['run_id']}.summary.json").read_text()))
    assert all(_same(row[k], v) for k, v in summary.items())
    with (tmp_path / "runs" / f"{row['run_id']}.mcap").open("rb") as f:
        summary_section = make_reader(f).get_summary()
    assert summary_section is not None and summary_section.statistics is not None
    assert summary_section.statistics.message_count > 0
