"""``skyhive serve`` options: the drone subset, the port plan, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skyhive.mavlink.serve import parse_drones
from tests.conftest import run_cli
from tests.mavlink.conftest import SCENARIO


def test_parse_drones() -> None:
    assert parse_drones(None, 4).tolist() == [0, 1, 2, 3]
    assert parse_drones("all", 3).tolist() == [0, 1, 2]
    assert parse_drones("0-2, 5,7-8", 10).tolist() == [0, 1, 2, 5, 7, 8]
    assert parse_drones("3,1,3", 5).tolist() == [1, 3]
    for bad, msg in (("0-10", "outside 0-9"), ("x", "not an index"), ("5-2", "outside"), (",", "no drone")):
        with pytest.raises(ValueError, match=msg):
            parse_drones(bad, 10)
    assert isinstance(parse_drones("1", 2), np.ndarray)


@pytest.mark.parametrize(("args", "message"), [
    (["--drones", "0-99"], "outside 0-2"),
    (["--base-port", "65534"], "run past 65535"),
    (["--key-file", "/nonexistent/keys.txt"], "cannot read key file"),
    (["--push", "14550"], "is not HOST:PORT"),
])
def test_bad_options_are_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.format(count=3, route=""))
    r = run_cli("serve", str(scenario), "--until", "1", *args, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr.replace("\n", " ")
    assert "Traceback" not in r.stderr + r.stdout


def test_serve_exposes_a_subset_and_stops_at_until(tmp_path: Path) -> None:
    from tests.mavlink.conftest import free_ports

    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.format(count=5, route=""))
    base = free_ports(2)
    r = run_cli("serve", str(scenario), "--drones", "1,3", "--base-port", str(base), "--until", "2", "--speed", "4",
                "--summary", str(tmp_path / "sum.json"), timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"serving 2 vehicle(s) of 'mavlink-test' on udp://127.0.0.1:{base}-{base + 1}" in r.stdout
    import json

    summary = json.loads((tmp_path / "sum.json").read_text())
    assert summary["mavlink_vehicles"] == 2 and summary["mavlink_links"] == 2
    assert summary["sim_time_s"] == pytest.approx(2.0)


def test_push_sends_telemetry_unasked(serve: Any) -> None:
    """--push HOST:PORT: telemetry goes to a ground station that never spoke first (QGroundControl on 14550)."""
    import socket
    import time

    from pymavlink.dialects.v20 import common as mav

    gcs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gcs.bind(("127.0.0.1", 0))
    gcs.settimeout(0.5)
    server = serve(2, "--push", f"127.0.0.1:{gcs.getsockname()[1]}")
    seen: dict[int, int] = {}
    parser = mav.MAVLink(None, 0, 0)
    deadline = time.time() + 10
    while time.time() < deadline and len(seen) < 2:
        try:
            data, addr = gcs.recvfrom(65535)
        except TimeoutError:
            continue
        for m in parser.parse_buffer(data) or []:
            if m.get_type() == "HEARTBEAT":
                seen[m.get_srcSystem()] = addr[1]
    gcs.close()
    server.stop()
    assert seen == {1: server.base, 2: server.base + 1}  # each vehicle from its own port, so replies find it
