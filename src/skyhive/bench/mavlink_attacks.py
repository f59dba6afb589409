"""Telemetry a well-behaved ground station keeps while a hostile client attacks the same vehicle port.

For each attack a fresh ``skyhive serve`` (2 parked drones, speed x1, loopback)
runs; this process is the well-behaved ground station on vehicle 0's port (a
HEARTBEAT per second, counting GLOBAL_POSITION_INT arrivals and the longest gap
between two), and an attacker subprocess on its own sockets runs the attack for
the measured window.  The server reports the longest wall time between two
simulation ticks (``serve_max_step_gap_s``; one period is 0.1 s).  Goal per
attack: 10 Hz, no gap over 1 s, no tick gap over 0.2 s.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymavlink.dialects.v20 import common as mav

from skyhive.bench import BenchTable
from skyhive.bench.mavlink import GPI, SCENARIO, _frames, free_base, stop_serve

ATTACKER = r'''
import math, socket, sys, time
from pymavlink.dialects.v20 import common as mav
kind, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
enc = mav.MAVLink(None, 77, 1)
dest = ("127.0.0.1", port)
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(64 if kind == "spoof" else 4)]
for s in socks:
    s.setblocking(False)
hb = enc.heartbeat_encode(6, 8, 0, 0, 0).pack(enc)
unknown = bytes([0xFD, 0, 0, 0, 0, 7, 7, 0x39, 0x30, 0x00, 0x12, 0x34])
flood = enc.command_long_encode(99, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0).pack(enc)
no_hb = enc.command_long_encode(1, 1, 511, 0, 0, -1, 0, 0, 0, 0, 0).pack(enc)
def send(s, data):
    try:
        s.sendto(data, dest)
    except OSError:
        pass
def fence_items():
    out = []
    for k in range(4):
        for j in range(64):
            a = 2 * math.pi * j / 64
            lat = 47.3769 + 0.36 * math.sin(a) * (1 - 0.1 * k)
            lon = 8.5417 + 0.5 * math.cos(a) * (1 - 0.1 * k)
            out.append((int(lat * 1e7), int(lon * 1e7)))
    return out
end = time.time() + seconds
if kind == "fence":
    items = fence_items()
    s = socks[0]
    s.settimeout(0.5)
    dec = mav.MAVLink(None, 0, 0)
    uploads = 0
    while time.time() < end:
        send(s, enc.mission_count_encode(1, 1, len(items), 1).pack(enc))
        while time.time() < end:
            try:
                data = s.recv(65535)
            except (TimeoutError, OSError):
                break
            done = False
            for m in dec.parse_buffer(data) or []:
                if m.get_type() == "MISSION_REQUEST_INT" and m.mission_type == 1:
                    lat, lon = items[m.seq]
                    send(s, enc.mission_item_int_encode(1, 1, m.seq, 0, 5001, 0, 1, 64, 0, 0, 0, lat, lon, 0,
                                                        1).pack(enc))
                elif m.get_type() == "MISSION_ACK":
                    done = True
            if done:
                uploads += 1
                break
    print(uploads)
    sys.exit(0)
k = 0
while time.time() < end:
    if kind == "spoof":
        for s in socks:
            send(s, hb)
        time.sleep(0.02)
    elif kind == "unknown":
        for _ in range(200):
            send(socks[k % 4], unknown); k += 1
    elif kind == "flood":
        for _ in range(200):
            send(socks[k % 4], flood); k += 1
    elif kind == "no-heartbeat":
        for s in socks:
            send(s, no_hb)
        time.sleep(0.01)
'''
ATTACKS = [
    ("none (baseline)", "none"),
    ("64 source ports spoofing HEARTBEATs", "spoof"),
    ("unknown-id 12-byte frames, flood", "unknown"),
    ("COMMAND_LONG flood to an absent system id", "flood"),
    ("SET_MESSAGE_INTERVAL HEARTBEAT -1, 400/s", "no-heartbeat"),
    ("maximal fence uploads (256 items), back to back", "fence"),
]


def measure(kind: str, window_s: float, warmup_s: float = 2.0) -> dict[str, float]:
    base = free_base(2)
    enc = mav.MAVLink(None, 255, 190)
    hb = enc.heartbeat_encode(6, 8, 0, 0, 0).pack(enc)
    with tempfile.TemporaryDirectory(prefix="skyhive_bench_attack_") as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(SCENARIO.format(n=2))
        summary = Path(tmp) / "summary.json"
        src = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(src) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen([sys.executable, "-m", "skyhive", "serve", str(path), "--base-port", str(base),
                                 "--summary", str(summary)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, text=True)
        gcs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        gcs.connect(("127.0.0.1", base))
        t0 = time.monotonic()
        gcs.settimeout(0.05)
        attacker = None
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "serving" not in line:
                raise RuntimeError(f"skyhive serve did not start: {line}{proc.stdout.read()[-2000:]}")
            t0 = time.monotonic()
            next_beat, beats = t0, 0
            times: list[float] = []
            while time.monotonic() - t0 < warmup_s + window_s:
                now = time.monotonic()
                if now >= next_beat:
                    gcs.send(hb)
                    next_beat += 1.0
                if attacker is None and now - t0 >= warmup_s and kind != "none":
                    attacker = subprocess.Popen([sys.executable, "-c", ATTACKER, kind, str(base), str(window_s)],
                                                stdout=subprocess.PIPE, text=True, env=env)
                try:
                    data = gcs.recv(65535)
                except (TimeoutError, ConnectionRefusedError):
                    continue
                if time.monotonic() - t0 >= warmup_s:
                    ids = _frames(data)
                    if GPI in ids:
                        times.append(time.monotonic())
                    beats += ids.count(mav.MAVLINK_MSG_ID_HEARTBEAT)
            uploads = ""
            if attacker is not None:
                out, _ = attacker.communicate(timeout=30)
                uploads = out.strip()
        finally:
            gcs.close()
            stop_serve(proc)
        metrics = json.loads(summary.read_text()) if summary.exists() else {}
    edges = [t0 + warmup_s, *times, t0 + warmup_s + window_s]  # silence at either end of the window counts
    gaps = [b - a for a, b in itertools.pairwise(edges)]
    return {"hz": len(times) / window_s, "max_gap_s": max(gaps, default=window_s), "heartbeats": beats,
            "step_gap_s": float(metrics.get("serve_max_step_gap_s", float("nan"))),
            "fences": uploads, "over_budget": metrics.get("mavlink_over_budget", 0),
            "refused": metrics.get("mavlink_peers_refused", 0)}


def run(quick: bool) -> BenchTable:
    window = 3.0 if quick else 10.0
    load = os.getloadavg()[0]
    table = BenchTable(
        title=f"MAVLink attacks: a well-behaved ground station's telemetry during each ({window:g} s, load {load:.2f})",
        columns=["attack", "position Hz", "longest gap s", "HEARTBEATs", "longest tick gap s",
                 "dropped unparsed", "peers refused"])
    for name, kind in ATTACKS:
        r = measure(kind, window)
        label = name + (f" ({r['fences']} uploads answered)" if kind == "fence" and r["fences"] else "")
        table.rows.append([label, f"{r['hz']:.1f}", f"{r['max_gap_s']:.2f}", r["heartbeats"],
                           f"{r['step_gap_s']:.3f}", r["over_budget"], r["refused"]])
    table.notes.append("goal: 10 Hz, no gap over 1 s, tick gap at most 0.2 s (one 0.1 s period late)")
    return table
