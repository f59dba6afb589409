"""The log stays readable when the writer dies: SIGKILL (truncated, streamed) and Ctrl-C (closed, indexed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mcap.reader import make_reader

from skyhive.record import is_complete, read_messages, readable_prefix

CHILD = Path(__file__).with_name("crash_child.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _start(path: Path, mode: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen([sys.executable, str(CHILD), str(path), mode], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 120_000):
        time.sleep(0.02)
    assert path.stat().st_size >= 120_000, "child did not write enough"
    return proc


def test_sigkill_leaves_a_readable_prefix(tmp_path: Path) -> None:
    path = tmp_path / "killed.mcap"
    proc = _start(path, "nocatch")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert not is_complete(path)
    assert readable_prefix(path) <= path.stat().st_size
    counts: dict[str, int] = {}
    last_t: dict[str, int] = {}
    for topic, ns, obj in read_messages(path):
        counts[topic] = counts.get(topic, 0) + 1
        assert ns >= last_t.get(topic, 0)
        last_t[topic] = ns
        if topic == "/drones/scene":
            assert len(obj["entities"][0]["spheres"]) == 500
        elif topic == "/events":
            assert obj["message"].startswith("frame at")
    assert counts.get("/airspace/geofences") == 1
    assert counts.get("/drones/scene", 0) > 0
    assert counts.get("/drones/geo", 0) > 0
    assert counts.get("/events", 0) > 0


def test_sigint_closes_the_file_with_its_summary(tmp_path: Path) -> None:
    path = tmp_path / "interrupted.mcap"
    proc = _start(path, "catch")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "closed" in out
    assert is_complete(path)
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None and summary.statistics is not None
    by_topic = {ch.topic: summary.statistics.channel_message_counts.get(cid, 0)
                for cid, ch in summary.channels.items()}
    assert by_topic["/drones/scene"] > 0
    assert by_topic["/events"] in (by_topic["/drones/scene"], by_topic["/drones/scene"] - 1)
    n = sum(1 for _ in read_messages(path))
    assert n == summary.statistics.message_count
