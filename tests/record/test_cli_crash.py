"""`skyhive run --record` killed or interrupted mid-run leaves a readable log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skyhive.record import is_complete, read_messages

ROOT = Path(__file__).resolve().parents[2]


def start_run(log: Path, summary: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "skyhive", "run", "examples/zurich-2000.yaml", "--record", str(log),
         "--summary", str(summary), "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_frames(log: Path, proc: subprocess.Popen[str], min_bytes: int = 400_000) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if log.exists() and log.stat().st_size > min_bytes:
            return
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the log did not grow")


@pytest.mark.timeout(300)
def test_sigkill_mid_run_leaves_a_readable_prefix(tmp_path: Path) -> None:
    log = tmp_path / "run.mcap"
    proc = start_run(log, tmp_path / "s.json")
    wait_for_frames(log, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not is_complete(log)
    topics: dict[str, int] = {}
    last_t = 0
    for topic, log_time, message in read_messages(log):
        topics[topic] = topics.get(topic, 0) + 1
        last_t = max(last_t, log_time)
        assert message is not None
    assert topics.get("/drones/scene", 0) >= 2
    assert topics.get("/airspace/geofences", 0) >= 1
    assert last_t > 0


@pytest.mark.timeout(300)
def test_ctrl_c_closes_the_log_and_writes_the_summary(tmp_path: Path) -> None:
    log, summary = tmp_path / "run.mcap", tmp_path / "s.json"
    proc = start_run(log, summary)
    wait_for_frames(log, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert is_complete(log)
    assert summary.exists() and '"interrupted": true' in summary.read_text()
    assert sum(1 for topic, _, _ in read_messages(log) if topic == "/drones/scene") >= 2
