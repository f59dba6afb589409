"""Every combination is checked before any run: bad paths and values, all problems at once, with field paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from skyhive.experiments import SweepError, sweep
from tests.conftest import run_cli
from tests.experiments.helpers import small_scenario, write_scenario


def test_every_problem_at_once_and_nothing_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(SweepError) as info:
        sweep(small_scenario(), vary=["fleets.alpha.count=2,0", "fleets.beta.count=3", "wind.sped_mps=1",
                                      "wind.speed_mps=5,99", "seed=1,2", "fleets.0.route.on_complete=land,fly"],
              seeds="0-1", out=out)
    problems = {(p.path, p.message) for p in info.value.problems}
    assert ("fleets.0.count", "with fleets.alpha.count=0: Input should be greater than 0") in problems
    assert any(p == "fleets.beta" and "no item named 'beta'" in m for p, m in problems)
    assert any(p == "wind.sped_mps" and "unknown field" in m for p, m in problems)
    assert any(p == "wind.speed_mps" and m.startswith("with wind.speed_mps=99:") for p, m in problems)
    assert any(p == "seed" and "--seeds" in m for p, m in problems)
    assert any(p == "fleets.0.route.on_complete" and "'fly'" in m for p, m in problems)
    assert len(problems) == 6
    assert not (out / "runs.jsonl").exists() and not (out / "results.parquet").exists()


def test_a_problem_only_some_combinations_have_is_named_with_the_combination() -> None:
    # dt=0.5 is fine with duration 20, duration=0.3 is fine with dt 0.1; together dt > duration.
    with pytest.raises(SweepError) as info:
        sweep(small_scenario(), vary={"dt": [0.1, 0.5], "duration": [0.3, 20]}, seeds=0)
    [problem] = info.value.problems
    assert problem.path == "dt"
    assert problem.message.startswith("with dt=0.5, duration=0.3: dt (0.5) is longer than duration (0.3)")


def test_bad_seeds_until_and_engine_are_reported_together() -> None:
    with pytest.raises(SweepError) as info:
        sweep(small_scenario(), vary=["wind.speed_mps=1"], seeds="9-1", until=-1, engine="spark")
    assert {p.path for p in info.value.problems} == {"--seeds", "--until", "--engine"}


def test_cli_rejects_bad_vary_with_a_table_not_a_traceback(tmp_path: Path) -> None:
    scenario = write_scenario(small_scenario(), tmp_path / "s.yaml")
    out = tmp_path / "out"
    result = run_cli("sweep", str(scenario), "--vary", "fleets.alpha.count=2,-1", "--vary", "wnd.speed_mps=1",
                     "--vary", "nonsense", "--seeds", "0-1", "--out", str(out))
    assert result.returncode == 2, result.stderr
    text = " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert "fleets.0.count" in text and "fleets.alpha.count=-1" in text
    assert "wnd.speed_mps" in text and "unknown field" in text
    assert "--vary" in text and "PATH=V1" in text
    assert not out.exists() or not any(out.iterdir())
