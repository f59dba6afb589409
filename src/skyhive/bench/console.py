"""Console stream benchmark: updates/s, bytes per update and server CPU at 2,000 and 10,000 drones, and the
page's drawing rate in headless Chromium.

The server is ``skyhive console`` in a child process (the core benchmark's crossing scenario, real time), so its
CPU time (simulation + encoding + sending, from ``/proc``) is measured apart from the clients.  One WebSocket
client reads everything for a window and counts frames and bytes; then Debian's Chromium (through Playwright,
when both are installed) opens the page and reports its drawing rate (requestAnimationFrame redraws/s) and the
updates it received per second.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from skyhive.bench import BenchTable
from skyhive.bench.core import crossing_scenario

WINDOW_S = 10.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_health(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 240.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the console server exited with {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).json()["t"] > 0.5:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError("the console server did not start")


def _stream(port: int, window_s: float) -> dict[str, float]:
    from websockets.sync.client import connect

    frames = nbytes = 0
    frame_bytes: list[int] = []
    with connect(f"ws://127.0.0.1:{port}/ws", max_size=1 << 26) as ws:
        t_end = time.monotonic() + 2.0  # settle
        while time.monotonic() < t_end:
            ws.recv(timeout=10)
        start = time.monotonic()
        while (now := time.monotonic()) - start < window_s:
            msg = ws.recv(timeout=10)
            nbytes += len(msg)
            if isinstance(msg, bytes):
                (n,) = struct.unpack_from("<I", msg, 4)
                if json.loads(msg[8:8 + n]).get("type") == "frame":
                    frames += 1
                    frame_bytes.append(len(msg))
        elapsed = now - start
    return {"updates_s": frames / elapsed, "kb_update": sum(frame_bytes) / max(len(frame_bytes), 1) / 1000.0,
            "kb_max": max(frame_bytes, default=0) / 1000.0, "kbs": nbytes / elapsed / 1000.0}


def _browser(port: int, window_s: float) -> dict[str, float] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--no-first-run"]
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True, args=flags,
                                                   viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.goto(f"http://127.0.0.1:{port}/?tiles=off")
        page.wait_for_function("window.skyhive && skyhive.S.framesIn > 5", timeout=60_000)
        time.sleep(2.0)
        a = page.evaluate("[performance.now(), skyhive.S.draws, skyhive.S.framesIn, skyhive.droneLayerCount()]")
        time.sleep(window_s)
        b = page.evaluate("[performance.now(), skyhive.S.draws, skyhive.S.framesIn, skyhive.droneLayerCount()]")
        ctx.close()
    dt = (b[0] - a[0]) / 1000.0
    return {"fps": (b[1] - a[1]) / dt, "page_updates_s": (b[2] - a[2]) / dt, "drawn": b[3]}


def measure(n: int, window_s: float = WINDOW_S) -> dict[str, Any]:
    """Serve an n-drone crossing run in a child process; stream and browser figures over ``window_s``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"crossing-{n}.yaml"
        path.write_text(yaml.safe_dump(crossing_scenario(n)))
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "skyhive", "console", str(path), "--port", str(port),
                                 "--no-open"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_health(base, proc)
            import httpx

            t0, c0, w0 = httpx.get(base + "/healthz").json()["t"], _cpu_s(proc.pid), time.monotonic()
            out: dict[str, Any] = {"drones": n, **_stream(port, window_s)}
            t1, c1, w1 = httpx.get(base + "/healthz").json()["t"], _cpu_s(proc.pid), time.monotonic()
            out["server_cpu_pct"] = 100.0 * (c1 - c0) / (w1 - w0)
            stats = httpx.get(base + "/stats").json()
            out["dropped"] = stats["dropped"]
            out["published_frames"] = stats.get("frames", 0)
            out["sim_rt"] = (t1 - t0) / (w1 - w0)
            page = _browser(port, window_s)
            if page is not None:
                out.update(page)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return out


def run(quick: bool) -> BenchTable:
    sizes = [200] if quick else [2000, 10000]
    window = 3.0 if quick else WINDOW_S
    table = BenchTable("console stream (skyhive console, real time, one WebSocket client, then one headless "
                       "Chromium page)",
                       ["drones", "updates/s", "KB/update", "KB/s", "server CPU %", "sim x real time",
                        "frames dropped", "page FPS", "page updates/s"])
    for n in sizes:
        r = measure(n, window)
        table.rows.append([f"{n:,}", f"{r['updates_s']:.1f}", f"{r['kb_update']:.1f}", f"{r['kbs']:.0f}",
                           f"{r['server_cpu_pct']:.0f}", f"{r['sim_rt']:.2f}", str(r["dropped"]),
                           f"{r['fps']:.0f}" if "fps" in r else "n/a",
                           f"{r['page_updates_s']:.1f}" if "page_updates_s" in r else "n/a"])
    table.notes += [
        "target (issue 12): 2,000 drones at >= 10 updates/s, <= 40 KB/update, page >= 30 FPS; 10,000 drones >= 5 "
        "updates/s",
        "server CPU % is the whole `skyhive console` process (simulation + encoding + sending) over the WebSocket "
        "window; 100 % = one core",
        "KB/s counts every message (frames, metrics, state, events); KB/update the binary frames only",
        "frames dropped: frames the server's per-client outbox dropped because the client (or the server's event "
        "loop, starved of CPU) was behind, over the WebSocket window",
        "page FPS: requestAnimationFrame redraws per second of the Canvas map in headless Chromium (--disable-gpu)",
    ]
    return table
