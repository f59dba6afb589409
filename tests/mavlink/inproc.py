"""An in-process ``skyhive serve`` polled by hand, and pymavlink clients on their own UDP sockets (loopback)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.server import MavlinkServer, ServeOptions
from skyhive.scenario.load import load_scenario
from skyhive.sim import Simulation
from tests.mavlink.conftest import ROUTE, SCENARIO, free_ports


class Client:
    """A ground station on its own socket; optionally signing with ``key`` (link id ``link_id``)."""

    def __init__(self, served: Served, port_k: int = 0, key: bytes | None = None, link_id: int = 0,
                 sysid: int = 255) -> None:
        self.served = served
        self.port = served.base + port_k
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)  # long pumps between reads
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.enc = mav.MAVLink(None, sysid, 190)
        self.dec = mav.MAVLink(None, 0, 0)
        self.dec.robust_parsing = True
        if key is not None:
            for side in (self.enc, self.dec):
                side.signing.secret_key = key
                side.signing.link_id = link_id
                side.signing.timestamp = int((time.time() - 1_420_070_400) * 100_000)
            self.enc.signing.sign_outgoing = True
        self.got: list[Any] = []

    def send(self, msg: Any) -> bytes:
        data = bytes(msg.pack(self.enc))
        self.enc.seq = (self.enc.seq + 1) & 0xFF
        self.sock.sendto(data, ("127.0.0.1", self.port))
        return data

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", self.port))

    def beat(self) -> None:
        self.send(self.enc.heartbeat_encode(6, 8, 0, 0, 0))

    def command(self, target: int, cmd: int, *p: float) -> None:
        params = [*p, *[0.0] * (7 - len(p))]
        self.send(self.enc.command_long_encode(target, 1, cmd, 0, *params))

    def read(self) -> list[Any]:
        """Everything that arrived since the last read (also kept in ``got``)."""
        out: list[Any] = []
        while True:
            try:
                data, _ = self.sock.recvfrom(65535)
            except (BlockingIOError, TimeoutError):
                break
            for m in self.dec.parse_buffer(data) or []:
                if m.get_type() != "BAD_DATA":
                    out.append(m)
        self.got += out
        return out

    def of(self, kind: str, msgs: list[Any] | None = None) -> list[Any]:
        return [m for m in (self.got if msgs is None else msgs) if m.get_type() == kind]

    def close(self) -> None:
        self.sock.close()


class Served:
    """Vehicles on ``ports`` ports of an in-process server; ``pump`` advances the simulation and the sockets."""

    def __init__(self, tmp: Path, count: int = 2, route: bool = False, **opts: Any) -> None:
        path = tmp / "s.yaml"
        path.write_text(SCENARIO.format(count=count, route=ROUTE if route else ""))
        self.sim = Simulation(load_scenario(path), base_dir=tmp)
        per = int(opts.get("per_port", 1))
        self.base = free_ports((count + per - 1) // per)
        self.server = MavlinkServer(self.sim, np.arange(count), ServeOptions(base_port=self.base, **opts),
                                    time.monotonic)
        self.clients: list[Client] = []

    def client(self, port_k: int = 0, **kw: Any) -> Client:
        c = Client(self, port_k, **kw)
        self.clients.append(c)
        return c

    def pump(self, seconds: float = 0.1, poll_s: float = 0.0) -> None:
        """Run ``seconds`` of simulated time: poll, tick, and a telemetry frame every 0.1 s."""
        steps = max(1, round(seconds / self.sim.dt))
        for k in range(steps):
            time.sleep(0.001)  # let datagrams sent just now reach the sockets
            self.server.poll(poll_s)
            self.sim.step()
            self.server.after_step()
            if k % max(1, round(0.1 / self.sim.dt)) == 0:
                self.server.telemetry()
        self.server.poll(0.0)

    def run_real_time(self, seconds: float) -> None:
        """The serve loop at speed x1 for ``seconds`` of wall time (for a background thread)."""
        t0 = time.monotonic()
        next_frame = t0
        sim_t0 = self.sim.t
        while (now := time.monotonic()) < t0 + seconds:
            while self.sim.t - sim_t0 + self.sim.dt <= now - t0:
                self.sim.step()
                self.server.after_step()
            if now >= next_frame:
                self.server.telemetry()
                next_frame += 0.1
            self.server.poll(max(0.0, min(next_frame, t0 + self.sim.t - sim_t0 + self.sim.dt) - time.monotonic()))

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.server.close()
