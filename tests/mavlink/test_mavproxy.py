"""Interop: MAVProxy, driven headless through its command line on stdin.

MAVProxy 1.8.75's ``mode NAME`` passes PX4's (base, main, sub) tuple where a float
is expected and fails for every PX4 vehicle, so modes are changed here with
``long DO_SET_MODE 1 <main> <sub>``, the same MAVLink command ``mode`` would send.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from skyhive.mavlink.params import PARAMS


def mavproxy_script() -> str | None:
    """mavproxy.py next to this interpreter (a venv that is not activated), else on PATH."""
    beside = Path(sys.executable).parent / "mavproxy.py"
    return str(beside) if beside.exists() else shutil.which("mavproxy.py")


pytestmark = pytest.mark.skipif(mavproxy_script() is None,
                                reason="MAVProxy (pip install MAVProxy) is not installed")


class MavProxy:
    def __init__(self, port: int, tmp: Path) -> None:
        self.out = tmp / "mavproxy.out"
        self.proc = subprocess.Popen(
            [sys.executable, str(mavproxy_script()), "--master", f"udpout:127.0.0.1:{port}", "--source-system", "255",
             "--nodtr"],
            stdin=subprocess.PIPE, stdout=self.out.open("w"), stderr=subprocess.STDOUT, text=True, cwd=tmp)
        self.mark = 0

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.mark = len(self.text())
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, needle: str, timeout: float = 20.0, since_mark: bool = True) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.text()[self.mark if since_mark else 0:]
            if needle in text:
                return text
            time.sleep(0.2)
        raise AssertionError(f"MAVProxy never printed {needle!r}; output:\n{self.text()[-3000:]}")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def mavproxy(tmp_path: Path) -> Any:
    started: list[MavProxy] = []

    def start(port: int) -> MavProxy:
        m = MavProxy(port, tmp_path)
        started.append(m)
        return m

    yield start
    for m in started:
        m.close()


WPL = """QGC WPL 110
0\t1\t3\t22\t0\t0\t0\t0\t0\t0\t10\t1
1\t0\t3\t16\t0\t0\t0\t0\t47.3771\t8.5417\t10\t1
2\t0\t3\t16\t0\t0\t0\t0\t47.3772\t8.5417\t10\t1
"""


def test_mavproxy_modes_params_missions(serve: Any, mavproxy: Any, tmp_path: Path) -> None:
    server = serve(1, "--speed", "4")
    mp = mavproxy(server.base)
    mp.expect(f"Received {len(PARAMS)} parameters", 40, since_mark=False)  # fetched on connect
    mp.send("param show MPC_XY_CRUISE")
    assert "MPC_XY_CRUISE    5.0" in mp.expect("MPC_XY_CRUISE")
    mp.send("param set MPC_XY_CRUISE 6.5")
    time.sleep(1.0)
    mp.send("param fetch")  # read everything back from the vehicle
    mp.expect(f"Received {len(PARAMS)} parameters")
    mp.send("param show MPC_XY_CRUISE")
    assert "MPC_XY_CRUISE    6.5" in mp.expect("MPC_XY_CRUISE")
    mp.send("long DO_SET_MODE 1 4 3")  # AUTO_LOITER
    mp.expect("DO_SET_MODE: ACCEPTED")
    mp.send("long DO_SET_MODE 1 1 0")  # MANUAL: refused, there are no sticks
    mp.expect("DO_SET_MODE: DENIED")
    (tmp_path / "mission.txt").write_text(WPL)
    mp.send(f"wp load {tmp_path / 'mission.txt'}")
    mp.expect("Sent all 3 waypoints", 20)
    mp.send("wp list")
    mp.expect("Requesting 3 waypoints", 20)
    mp.expect("16 3 47.3772000000 8.5417000000 10.000000", 20)  # item 2 downloaded back as uploaded
    mp.send("arm throttle")
    mp.expect("COMPONENT_ARM_DISARM: ACCEPTED")
    mp.send("long DO_SET_MODE 1 4 4")  # AUTO_MISSION: take off and fly the uploaded mission
    mp.expect("DO_SET_MODE: ACCEPTED")
    mp.expect("Mode MISSION")
    mp.expect("waypoint 2", 40)
    mp.expect("Mode LOITER", 40)  # mission done: PX4 holds
    mp.send("long DO_SET_MODE 1 4 5")  # AUTO_RTL
    mp.expect("DO_SET_MODE: ACCEPTED")
    mp.expect("Mode RTL", 10)
    mp.close()
    summary = server.stop()
    assert summary["mavlink_mission_uploads"] == 1
    assert summary["mavlink_handler_errors"] == 0
