"""Robustness: hostile and out-of-order traffic at one endpoint never crashes the server, is counted, and the
other vehicles keep serving.  In process (the server polled by hand) so thousands of packets take seconds."""

from __future__ import annotations

import math
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.server import MavlinkServer, ServeOptions
from skyhive.scenario.load import load_scenario
from skyhive.sim import Simulation
from tests.mavlink.conftest import SCENARIO, free_ports


class Bench:
    """Two exposed vehicles on two ports, and a client socket."""

    def __init__(self, tmp: Path) -> None:
        path = tmp / "s.yaml"
        path.write_text(SCENARIO.format(count=2, route=""))
        self.sim = Simulation(load_scenario(path), base_dir=tmp)
        self.base = free_ports(2)
        self.server = MavlinkServer(self.sim, np.arange(2), ServeOptions(base_port=self.base), time.monotonic)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.0)
        self.enc = mav.MAVLink(None, 255, 190)

    def send(self, port_k: int, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", self.base + port_k))

    def pump(self, steps: int = 1) -> None:
        for _ in range(steps):
            self.server.poll(0.0)
            self.sim.step()
            self.server.after_step()
        self.server.telemetry()

    def replies(self) -> list[Any]:
        dec = mav.MAVLink(None, 0, 0)
        out: list[Any] = []
        while True:
            try:
                data, _ = self.sock.recvfrom(65535)
            except (BlockingIOError, TimeoutError):
                return out
            out += dec.parse_buffer(data) or []

    def close(self) -> None:
        self.server.close()
        self.sock.close()


@pytest.fixture
def bench(tmp_path: Path) -> Any:
    b = Bench(tmp_path)
    yield b
    b.close()


def _valid_packets(enc: Any, rng: np.random.Generator) -> list[bytes]:
    """A spread of real protocol messages with wild values, out of any sensible order."""
    def f() -> float:
        return float(rng.choice([0.0, -1.0, 1.0, 1e30, -1e30, math.nan, math.inf, rng.normal() * 1e4]))

    def i(bits: int) -> int:
        return int(rng.integers(0, 2**bits))

    msgs = [
        enc.command_long_encode(1, 1, int(rng.choice([16, 20, 21, 22, 176, 178, 179, 192, 300, 400, 410, 511, 512,
                                                      520, 224, i(16)])), 0, f(), f(), f(), f(), f(), f(), f()),
        enc.command_int_encode(1, 1, i(8), int(rng.choice([22, 192, 176])), 0, 0, f(), f(), f(), f(),
                               i(31) - 2**30, i(31) - 2**30, f()),
        enc.set_mode_encode(1, i(8), i(32)),
        enc.param_set_encode(1, 1, bytes(rng.integers(32, 127, i(4)).astype(np.uint8)), f(), i(4)),
        enc.param_set_encode(1, 1, b"MPC_XY_CRUISE", f(), 9),
        enc.param_set_encode(1, 1, b"MAV_SYS_ID", f(), 6),
        enc.param_request_read_encode(1, 1, b"NOPE", int(rng.integers(-5, 50))),
        enc.param_request_list_encode(1, 1),
        enc.mission_count_encode(1, 1, i(16), i(8)),
        enc.mission_item_int_encode(1, 1, i(16), i(8), i(16), i(8), i(8), f(), f(), f(), f(), i(31), i(31), f(),
                                    int(rng.integers(0, 4))),
        enc.mission_item_encode(1, 1, i(16), i(8), i(16), i(8), i(8), f(), f(), f(), f(), f(), f(), f(), 0),
        enc.mission_request_int_encode(1, 1, i(16), i(8)),
        enc.mission_request_encode(1, 1, i(16), 0),
        enc.mission_request_list_encode(1, 1, i(8)),
        enc.mission_set_current_encode(1, 1, i(16)),
        enc.mission_clear_all_encode(1, 1, i(8)),
        enc.mission_ack_encode(1, 1, i(8), i(8)),
        enc.file_transfer_protocol_encode(0, 1, 1, list(rng.integers(0, 256, 251))),
    ]
    return [m.pack(enc) for m in msgs]


def test_fuzz_never_crashes_counts_drops_and_keeps_serving(bench: Bench) -> None:
    rng = np.random.default_rng(20261130)
    sent_bad = 0
    for round_ in range(60):
        good = _valid_packets(bench.enc, rng)
        for pkt in good:
            bench.send(0, pkt)
        # mission upload that starts and is then abandoned or interleaved with other items
        if round_ % 10 == 0:
            bench.send(0, bench.enc.mission_count_encode(1, 1, 3, 0).pack(bench.enc))
        for _ in range(20):
            kind = rng.integers(0, 4)
            pkt = good[int(rng.integers(0, len(good)))]
            if kind == 0:
                data = rng.integers(0, 256, int(rng.integers(0, 300))).astype(np.uint8).tobytes()
            elif kind == 1:
                data = pkt[: int(rng.integers(1, len(pkt)))]  # truncated
            elif kind == 2:
                b = bytearray(pkt)
                b[int(rng.integers(1, len(b)))] ^= int(rng.integers(1, 256))  # corrupted: bad CRC or header
                data = bytes(b)
            else:
                data = pkt + rng.integers(0, 256, int(rng.integers(1, 40))).astype(np.uint8).tobytes()  # trailing junk
            bench.send(0, data)
            sent_bad += 1
        bench.pump(3)
    bench.replies()
    m = bench.server.metrics()
    assert m["mavlink_handler_errors"] == 0, bench.server.error_samples
    assert m["mavlink_dropped_messages"] + m["mavlink_dropped_bytes"] > sent_bad // 4
    assert m["mavlink_protocol_drops"] > 0

    # vehicle 2 (the other port) serves normally, and so does the fuzzed vehicle once traffic is sane again
    for k, sysid in ((1, 2), (0, 1)):
        bench.send(k, bench.enc.command_long_encode(sysid, 1, 512, 0, mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION,
                                                    0, 0, 0, 0, 0, 0).pack(bench.enc))
        bench.pump(1)
        time.sleep(0.05)
        got = [r for r in bench.replies() if r.get_srcSystem() == sysid]
        assert any(r.get_type() == "AUTOPILOT_VERSION" for r in got)
        assert any(r.get_type() == "COMMAND_ACK" and r.result == 0 for r in got)
        assert any(r.get_type() == "GLOBAL_POSITION_INT" for r in got) or k == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=400))
def test_hypothesis_datagrams(bench: Bench, data: bytes) -> None:
    """Any datagram at all, prefixed or not with a MAVLink 2 start byte, is absorbed."""
    for payload in (data, b"\xfd" + data, b"\xfe" + data):
        bench.send(0, payload)
    bench.pump(1)
    assert bench.server.metrics()["mavlink_handler_errors"] == 0, bench.server.error_samples
