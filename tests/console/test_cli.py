"""`skyhive console` argument errors: a clear message and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from skyhive.cli import app
from tests.console.conftest import SCENARIO


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["console", *args])
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def test_needs_exactly_one_source(tmp_path: Path) -> None:
    code, out = run()
    assert code == 2 and "SCENARIO" in out
    code, out = run(str(SCENARIO), "--replay", str(tmp_path / "x.mcap"))
    assert code == 2 and "one of them" in out


def test_bad_replay_file_and_short_token(tmp_path: Path) -> None:
    code, out = run("--replay", str(tmp_path / "missing.mcap"), "--no-open")
    assert code == 2 and "no such file" in out
    not_mcap = tmp_path / "x.mcap"
    not_mcap.write_text("hello")
    code, out = run("--replay", str(not_mcap), "--no-open")
    assert code == 2 and "x.mcap" in out and "Traceback" not in out
    code, out = run(str(SCENARIO), "--host", "0.0.0.0", "--token", "short", "--no-open")
    assert code == 2 and "16 characters" in out
