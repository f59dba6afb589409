"""External-vehicle benchmark: ``skyhive fly`` commanding N vehicles served by one ``skyhive serve``.

A ``skyhive serve`` subprocess plays N PX4-style vehicles (parked, one UDP port each, speed x1).  This process
runs ``skyhive fly``'s loop (``FlyLoop``) with one external fleet of those N vehicles and no simulated drones:
it connects, arms, takes off and switches every vehicle to OFFBOARD, then holds them there with velocity
setpoints.  Measured in the steady phase (every vehicle in OFFBOARD): the setpoint rate each vehicle receives
(the target is the fleet's ``setpoint_hz``, 10 Hz), the round trip of COMMAND_LONG(REQUEST_MESSAGE) probes to
random vehicles (one every 0.2 s), the fly loop's tick rate (10 Hz wanted) and the CPU of both processes.  The
launch phase's command round trips (arm, take-off, mode switch, all vehicles at once) are reported apart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.bench import BenchTable
from skyhive.bench.mavlink import _cpu_s, free_base

SERVE = """schema_version: 1
name: bench-external-vehicles
origin: {{lat: 47.3769, lon: 8.5417, alt: 408}}
duration: 86400
dt: 0.1
fleets:
  - name: pad
    count: {n}
    launch:
      sites: [{{lat: 47.3769, lon: 8.5417}}]
      layout: grid
      spacing_m: 15
"""
SIZES = (10, 100, 250)
LAUNCH_LIMIT_S = 90.0


def _fly_scenario(n: int, base: int) -> dict[str, object]:
    return {
        "schema_version": 1, "name": "bench-fly", "origin": {"lat": 47.3769, "lon": 8.5417, "alt": 408.0},
        "duration": 86400.0, "dt": 0.1, "seed": 1,
        "fleets": [{"name": "field", "count": n,
                    "launch": {"sites": [{"lat": 47.3769, "lon": 8.5417}], "layout": "grid", "spacing_m": 15},
                    "external": {"endpoints": [f"udpout:127.0.0.1:{base + k}" for k in range(n)],
                                 "takeoff_alt_m": 5, "connect_timeout_s": 30}}],
    }


def measure(n: int, steady_s: float) -> dict[str, float]:
    from skyhive.mavlink.external import Stage
    from skyhive.mavlink.fly import FlyLoop
    from skyhive.scenario.load import scenario_from_dict
    from skyhive.sim import Simulation

    base = free_base(n)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "serve.yaml"
        scenario.write_text(SERVE.format(n=n))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        log = (Path(tmp) / "serve.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "skyhive", "serve", str(scenario), "--base-port", str(base)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 120
            while "serving" not in (Path(tmp) / "serve.log").read_text():
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("skyhive serve did not start: " + (Path(tmp) / "serve.log").read_text())
                time.sleep(0.1)
            sim = Simulation(scenario_from_dict(_fly_scenario(n, base)))
            loop = FlyLoop(sim)
            fleets = loop.fleets
            t_launch = time.monotonic()
            while (fleets.stage != Stage.FLYING).any() and time.monotonic() - t_launch < LAUNCH_LIMIT_S:
                loop.run(until=sim.t + 1.0)
            launch_s = time.monotonic() - t_launch
            flying = int((fleets.stage == Stage.FLYING).sum())
            links = [lk for lk in fleets.links if lk is not None]
            launch_rtt = np.asarray([r for lk in links for r in lk.counters.rtt_s], float)
            rtt_mark = [len(lk.counters.rtt_s) for lk in links]
            sp0 = sum(lk.counters.setpoints for lk in links)
            ticks0, sim_t0, wall0 = loop.ticks, sim.t, time.monotonic()
            cpu_serve0, cpu_self0 = _cpu_s(proc.pid), time.process_time()
            rng = np.random.default_rng(0)
            next_probe = wall0
            while time.monotonic() - wall0 < steady_s:
                loop.run(until=sim.t + 0.2)
                if time.monotonic() >= next_probe:
                    next_probe += 0.2
                    lk = links[int(rng.integers(len(links)))]
                    lk.command(mav.MAV_CMD_REQUEST_MESSAGE, float(mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION))
            wall = time.monotonic() - wall0
            sp = sum(lk.counters.setpoints for lk in links) - sp0
            rtt = np.asarray([r for lk, k in zip(links, rtt_mark, strict=True) for r in lk.counters.rtt_s[k:]], float)
            out = {
                "n": n, "flying": flying, "launch_s": launch_s,
                "setpoint_hz": sp / wall / n,
                "tick_hz": (loop.ticks - ticks0) / wall,
                "realtime": (sim.t - sim_t0) / wall,
                "rtt_median_ms": float(np.median(rtt)) * 1000 if rtt.size else float("nan"),
                "rtt_p95_ms": float(np.percentile(rtt, 95)) * 1000 if rtt.size else float("nan"),
                "launch_rtt_p95_ms": float(np.percentile(launch_rtt, 95)) * 1000 if launch_rtt.size else float("nan"),
                "serve_cpu": (_cpu_s(proc.pid) - cpu_serve0) / wall,
                "fly_cpu": (time.process_time() - cpu_self0) / wall,
                "losses": float(fleets.counts["link_losses"]),
            }
            loop.fleets.close()
            return out
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def run(quick: bool) -> BenchTable:
    sizes = (5,) if quick else SIZES
    steady = 5.0 if quick else 20.0
    load = os.getloadavg()
    table = BenchTable(
        "External vehicles: skyhive fly commanding N vehicles of one skyhive serve",
        ["vehicles", "in OFFBOARD", "launch s", "setpoints Hz/vehicle", "fly ticks Hz", "cmd RTT median ms",
         "cmd RTT p95 ms", "launch cmd RTT p95 ms", "serve CPU", "fly CPU", "fly CPU ms/tick", "link losses"])
    for n in sizes:
        r = measure(n, steady)
        table.rows.append([n, f"{int(r['flying'])}/{n}", f"{r['launch_s']:.1f}", f"{r['setpoint_hz']:.2f}",
                           f"{r['tick_hz']:.1f}", f"{r['rtt_median_ms']:.1f}", f"{r['rtt_p95_ms']:.1f}",
                           f"{r['launch_rtt_p95_ms']:.1f}", f"{r['serve_cpu']:.2f}", f"{r['fly_cpu']:.2f}",
                           f"{1000 * r['fly_cpu'] / max(r['tick_hz'], 1e-9):.1f}", int(r["losses"])])
    table.notes.append(f"steady phase {steady:g} s per size; load average at start {load[0]:.1f}, "
                       f"at end {os.getloadavg()[0]:.1f}; both processes share this machine's cores")
    return table
