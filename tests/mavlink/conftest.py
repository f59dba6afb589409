"""Start ``skyhive serve`` as a subprocess on free UDP ports, and stop it cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """schema_version: 1
name: mavlink-test
origin: {{lat: 47.3769, lon: 8.5417, alt: 408}}
duration: 3600
dt: 0.1
seed: 3
fleets:
  - name: pad
    count: {count}
    launch:
      sites: [{{lat: 47.3769, lon: 8.5417}}]
      layout: line
      spacing_m: 15
{route}"""
ROUTE = """    route:
      waypoints:
        - {lat: 47.3769, lon: 8.5417, alt_m: 20}
        - {lat: 47.3800, lon: 8.5417, alt_m: 20}
"""


def free_ports(n: int) -> int:
    """A base port with ``n`` consecutive free UDP ports on loopback."""
    for _ in range(200):
        base = 20000 + (os.getpid() * 7919 + int(time.time() * 1000)) % 40000
        socks = []
        try:
            for k in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            time.sleep(0.01)
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP ports")


class Served:
    """A running ``skyhive serve``; ``stop()`` returns its summary counters."""

    def __init__(self, tmp: Path, count: int = 2, args: tuple[str, ...] = (), ports: int | None = None,
                 route: bool = False) -> None:
        self.scenario = tmp / "scenario.yaml"
        self.scenario.write_text(SCENARIO.format(count=count, route=ROUTE if route else ""))
        self.summary = tmp / "summary.json"
        self.base = free_ports(ports or count)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.log = (tmp / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "skyhive", "serve", str(self.scenario), "--base-port", str(self.base),
             "--summary", str(self.summary), *args], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.tmp = tmp
        deadline = time.time() + 60
        while time.time() < deadline:  # the banner is printed once the ports are bound
            if "serving" in (tmp / "serve.log").read_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError("skyhive serve exited: " + (tmp / "serve.log").read_text())
            time.sleep(0.1)
        raise RuntimeError("skyhive serve did not start")

    def stop(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        assert self.proc.returncode == 0, (self.tmp / "serve.log").read_text()
        return dict(json.loads(self.summary.read_text()))

    def output(self) -> str:
        return (self.tmp / "serve.log").read_text()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(count: int = 2, *args: str, ports: int | None = None, route: bool = False) -> Served:
        s = Served(tmp_path, count, args, ports, route)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


class Gcs:
    """A minimal pymavlink ground station on one vehicle port."""

    def __init__(self, port: int, sysid: int = 1, key: bytes | None = None, wait: bool = True,
                 **kwargs: Any) -> None:
        from pymavlink import mavutil

        self.conn = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=255, source_component=190,
                                               **kwargs)
        if key is not None:  # sign from the first packet: a signed link admits only signed ground stations
            self.conn.setup_signing(key, sign_outgoing=True)
        self.target = sysid
        self.beat()
        if wait:
            assert self.conn.wait_heartbeat(timeout=20) is not None, "no HEARTBEAT from the vehicle"

    def beat(self) -> None:
        self.conn.mav.heartbeat_send(6, 8, 0, 0, 0)

    def recv(self, kind: str, timeout: float = 5.0, cond: Any = None) -> Any:
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.conn.recv_match(type=kind, blocking=True, timeout=0.5)
            if m is not None and m.get_srcSystem() == self.target and (cond is None or cond(m)):
                return m
            self.beat()
        return None

    def drain(self) -> None:
        """Drop what queued up while the test slept, so the next read is current."""
        while self.conn.recv_match(blocking=False) is not None:
            pass

    def command(self, cmd: int, *params: float, timeout: float = 5.0) -> int | None:
        p = [*params, *[0.0] * (7 - len(params))]
        self.conn.mav.command_long_send(self.target, 1, cmd, 0, *p)
        ack = self.recv("COMMAND_ACK", timeout, lambda m: m.command == cmd)
        return None if ack is None else int(ack.result)

    def mode(self, main: int, sub: int = 0) -> int | None:
        return self.command(176, 1, main, sub)  # MAV_CMD_DO_SET_MODE, custom mode enabled

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def gcs() -> Iterator[Any]:
    opened: list[Gcs] = []

    def connect(port: int, sysid: int = 1, **kwargs: Any) -> Gcs:
        g = Gcs(port, sysid, **kwargs)
        opened.append(g)
        return g

    yield connect
    for g in opened:
        g.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Any]:
    """In-process vehicles (``tests.mavlink.inproc.Served``), closed after the test."""
    from tests.mavlink.inproc import Served

    made: list[Served] = []

    def make(count: int = 2, **kw: Any) -> Served:
        s = Served(tmp_path, count, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
