"""MAVLink endpoint benchmark: vehicles one ``skyhive serve`` keeps at 10 Hz, and command round-trip time.

A ``skyhive serve`` subprocess exposes N parked drones, one UDP port each, at
speed x1.  This process plays N ground stations: one socket per port, a
HEARTBEAT per second so the vehicles keep sending, and it counts
GLOBAL_POSITION_INT frames per vehicle by walking the MAVLink 2 headers (cheap,
so the client steals little of the shared CPUs).  A vehicle count "keeps 10 Hz"
when the mean rate is at least 9.5 Hz and the 5th percentile at least 9 Hz.
Round trip: COMMAND_LONG(MAV_CMD_REQUEST_MESSAGE) to a random vehicle, time to
its COMMAND_ACK, while all N stream telemetry.  Server CPU from /proc.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.bench import BenchTable

SCENARIO = """schema_version: 1
name: bench-mavlink
origin: {{lat: 47.3769, lon: 8.5417, alt: 408}}
duration: 86400
dt: 0.1
fleets:
  - name: pad
    count: {n}
    launch:
      sites: [{{lat: 47.3769, lon: 8.5417}}]
      layout: grid
      spacing_m: 10
"""
GPI = mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT
ACK = mav.MAVLINK_MSG_ID_COMMAND_ACK


def _frames(data: bytes) -> list[int]:
    """Message ids of the MAVLink 2 frames in one datagram."""
    ids, k = [], 0
    while k + 10 <= len(data) and data[k] == 0xFD:
        ids.append(data[k + 7] | (data[k + 8] << 8) | (data[k + 9] << 16))
        k += 12 + data[k + 1] + (13 if data[k + 2] & 1 else 0)
    return ids


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_base(n: int) -> int:
    """A base port with ``n`` consecutive free UDP ports (other programs may share the machine)."""
    rng = np.random.default_rng()
    for _ in range(100):
        base = int(rng.integers(20000, 65000 - n))
        taken = []
        try:
            for k in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                taken.append(s)
                s.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
        finally:
            for s in taken:
                s.close()
    raise RuntimeError(f"no {n} consecutive free UDP ports")


def stop_serve(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C a ``skyhive serve`` (so it writes its summary); kill it if it does not exit within 30 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(n: int, window_s: float = 5.0, warmup_s: float = 3.0) -> dict[str, float]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64 <= hard or (hard == resource.RLIM_INFINITY and soft < n + 64):
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, hard))
    base = free_base(n)
    enc = mav.MAVLink(None, 255, 190)
    hb = enc.heartbeat_encode(6, 8, 0, 0, 0).pack(enc)
    with tempfile.TemporaryDirectory(prefix="skyhive_bench_mav_") as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(SCENARIO.format(n=n))
        src = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(src) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen([sys.executable, "-m", "skyhive", "serve", str(path), "--base-port", str(base)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        socks: list[socket.socket] = []
        sel = selectors.DefaultSelector()
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "serving" not in line:
                raise RuntimeError(f"skyhive serve did not start: {line}{proc.stdout.read()[-2000:]}")
            for k in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setblocking(False)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
                s.connect(("127.0.0.1", base + k))
                sel.register(s, selectors.EVENT_READ, k)
                socks.append(s)
            counts = np.zeros(n, np.int64)
            rtts: list[float] = []
            pending: dict[int, float] = {}
            rng = np.random.default_rng(0)
            t0 = time.monotonic()
            next_beat = t0
            next_cmd = t0 + warmup_s
            start_counts = None
            cpu0 = 0.0
            t_meas = 0.0
            while True:
                now = time.monotonic()
                if now >= next_beat:
                    for s in socks:
                        with contextlib.suppress(OSError):
                            s.send(hb)
                    next_beat += 1.0
                if start_counts is None and now - t0 >= warmup_s:
                    start_counts, cpu0, t_meas = counts.copy(), _cpu_s(proc.pid), now
                if start_counts is not None and now - t_meas >= window_s:
                    break
                if start_counts is not None and now >= next_cmd and not pending:
                    k = int(rng.integers(0, n))
                    sysid = 1 + k % 250
                    cmd = enc.command_long_encode(sysid, 1, mav.MAV_CMD_REQUEST_MESSAGE, 0,
                                                  mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION, 0, 0, 0, 0, 0, 0).pack(enc)
                    pending[k] = time.monotonic()
                    socks[k].send(cmd)
                    next_cmd = now + 0.05
                for key, _ in sel.select(0.01):
                    k = key.data
                    while True:
                        try:
                            data = socks[k].recv(65535)
                        except (BlockingIOError, ConnectionRefusedError):
                            break
                        ids = _frames(data)
                        counts[k] += ids.count(GPI)
                        if ACK in ids and k in pending:
                            rtts.append(time.monotonic() - pending.pop(k))
            elapsed = time.monotonic() - t_meas
            cpu = (_cpu_s(proc.pid) - cpu0) / elapsed
            assert start_counts is not None
            rate = (counts - start_counts) / elapsed
        finally:
            for s in socks:
                s.close()
            stop_serve(proc)
    r = np.asarray(rtts) * 1e3 if rtts else np.asarray([np.nan])
    return {"n": n, "mean_hz": float(rate.mean()), "p5_hz": float(np.percentile(rate, 5)), "cpu": cpu,
            "rtt_med_ms": float(np.median(r)), "rtt_p95_ms": float(np.percentile(r, 95)), "rtt_n": len(rtts)}


def run(quick: bool) -> BenchTable:
    sizes = [10, 50] if quick else [50, 100, 200, 400, 600, 800, 1000, 1500, 2000]
    table = BenchTable(
        title="MAVLink endpoints: vehicles one `skyhive serve` keeps at 10 Hz (one UDP port each), command RTT",
        columns=["vehicles", "GLOBAL_POSITION_INT mean Hz", "p5 Hz", "keeps 10 Hz", "serve CPU (cores)",
                 "cmd RTT median ms", "cmd RTT p95 ms", "RTT samples"])
    failures = 0
    for n in sizes:
        r = measure(n, window_s=3.0 if quick else 5.0)
        ok = r["mean_hz"] >= 9.5 and r["p5_hz"] >= 9.0
        table.rows.append([f"{n:,}", f"{r['mean_hz']:.2f}", f"{r['p5_hz']:.2f}", "yes" if ok else "no",
                           f"{r['cpu']:.2f}", f"{r['rtt_med_ms']:.1f}", f"{r['rtt_p95_ms']:.1f}", r["rtt_n"]])
        failures += not ok
        if failures >= 2:
            break
    table.notes += [
        "server: one process, speed x1, dt 0.1 s, parked drones; client: this process, one socket per vehicle "
        "on the same machine (it shares the CPUs with the server)",
        "RTT: COMMAND_LONG REQUEST_MESSAGE(AUTOPILOT_VERSION) -> COMMAND_ACK, one at a time, 50 ms apart",
    ]
    return table
