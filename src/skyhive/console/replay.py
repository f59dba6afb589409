"""Replays a recorded run (MCAP, read with ``skyhive.record.reader``) as the same console stream as a live run.

The log is read once into arrays: drone positions and statuses per recorded frame (from ``/drones/scene``),
geofence states, events, manned vehicles, airspace tracks and alerts.  A playback clock runs at ``speed`` on
its own thread; each published frame shows the drones linearly interpolated between the two recorded frames
around the clock, so a 1 Hz log plays smoothly at the stream rate.  ``seek``, ``pause``/``resume`` and
``speed`` work as on a live run; tasking actions are refused (a replay cannot change the past).
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skyhive.console.actions import SIM_ACTIONS, ActionError, Links, Pause, Seek, Speed
from skyhive.console.picture import STATUS_NAMES, ring_xy
from skyhive.console.source import BackgroundSource, Publish
from skyhive.console.stream import encode_frame
from skyhive.geo.frames import LocalFrame
from skyhive.record.reader import read_messages, read_metadata
from skyhive.record.writer import MANNED_PREFIX, STATUS_RGB, TOPIC_DRONES_SCENE, TOPIC_EVENTS, TOPIC_GEOFENCES

TOPIC_TRACKS = "/airspace/tracks"
TOPIC_ALERTS = "/airspace/alerts"
LOG_LEVEL_NAMES = {0: "debug", 1: "debug", 2: "info", 3: "warning", 4: "error", 5: "error"}


class ReplayError(ValueError):
    """The file cannot be replayed (not a skyhive log, no drone frames)."""


def _status_of_colour() -> dict[tuple[int, int, int], int]:
    return {tuple(round(255 * c) for c in rgb): int(code) for code, rgb in STATUS_RGB.items()}  # type: ignore[misc]


class Recording:
    """A run read back from MCAP into arrays (ENU metres at the recorded origin)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ReplayError(f"{path}: no such file")
        try:
            meta = read_metadata(self.path).get("skyhive.run")
        except (ValueError, OSError) as exc:
            raise ReplayError(f"{path}: not a readable MCAP file ({exc})") from None
        if meta is None:
            raise ReplayError(f"{path}: no 'skyhive.run' metadata (a log written by `skyhive run --record` or "
                              "`skyhive console --record` of this version); cannot place it on the map")
        self.meta = meta
        lat, lon, alt = meta["origin"]
        self.frame = LocalFrame(lat, lon, alt)
        colour = _status_of_colour()
        times: list[float] = []
        pos: list[NDArray[np.float32]] = []
        status: list[NDArray[np.uint8]] = []
        self.fences: list[tuple[float, list[dict[str, Any]]]] = []
        self.events: list[tuple[float, str, str, str]] = []
        self.manned: dict[str, list[tuple[float, list[Any]]]] = {}
        self.tracks: list[tuple[float, list[list[Any]]]] = []
        self.alerts: list[tuple[float, list[dict[str, Any]]]] = []
        topics = {TOPIC_DRONES_SCENE, TOPIC_GEOFENCES, TOPIC_EVENTS, TOPIC_TRACKS, TOPIC_ALERTS}
        for topic, ns, msg in read_messages(self.path):
            t = ns / 1e9
            if topic == TOPIC_DRONES_SCENE:
                spheres = msg["entities"][0]["spheres"]
                p = np.array([[s["pose"]["position"][k] for k in "xyz"] for s in spheres], np.float32).reshape(-1, 3)
                st = np.array([colour.get(tuple(round(255 * s["color"][k]) for k in "rgb"), 0) for s in spheres],
                              np.uint8)
                times.append(t)
                pos.append(p)
                status.append(st)
            elif topic == TOPIC_GEOFENCES:
                self.fences.append((t, self._fences(json.loads(msg["geojson"]))))
            elif topic == TOPIC_EVENTS:
                self.events.append((t, LOG_LEVEL_NAMES.get(int(msg["level"]), "info"), msg["name"], msg["message"]))
            elif topic == TOPIC_TRACKS:
                self.tracks.append((t, self._tracks(json.loads(msg["geojson"]))))
            elif topic == TOPIC_ALERTS:
                self.alerts.append((t, [a for a in msg["alerts"] if not a.get("acknowledged")]))
            elif topic.startswith(MANNED_PREFIX) and topic not in topics:
                x, y, z = self.frame.local(msg["latitude"], msg["longitude"], msg["altitude"] - alt)
                v = msg.get("velocity") or {"x": 0.0, "y": 0.0}
                air = any(m.get("value") == "aircraft" for m in msg.get("metadata", []))
                self.manned.setdefault(topic[len(MANNED_PREFIX):], []).append(
                    (t, [round(float(x), 1), round(float(y), 1), round(float(z), 1), round(v["x"], 2),
                         round(v["y"], 2), air]))
        if not times:
            raise ReplayError(f"{path}: no drone frames on {TOPIC_DRONES_SCENE}")
        self.t = np.asarray(times)
        self.pos = np.stack(pos)
        self.status = np.stack(status)
        self.event_t = [e[0] for e in self.events]

    def _fences(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for f in doc.get("features", []):
            p = f["properties"]
            rings = []
            for r in f["geometry"]["coordinates"]:
                c = np.asarray(r, np.float64)
                rings.append(ring_xy(self.frame.local(c[:, 1], c[:, 0], 0.0)))
            out.append({"name": p["name"], "kind": p["kind"], "active": p["active"], "floor_m": p["floor_m"],
                        "ceiling_m": p["ceiling_m"], "rings": rings})
        return out

    def _tracks(self, doc: dict[str, Any]) -> list[list[Any]]:
        out = []
        for f in doc.get("features", []):
            lon, lat = f["geometry"]["coordinates"][:2]
            p = f["properties"]
            x, y, _ = self.frame.local(lat, lon, 0.0)
            out.append([p["track"], round(float(x), 1), round(float(y), 1), p.get("alt_m", 0.0), 0.0, 0.0,
                        p.get("label", "unknown"), p.get("identity", ""), False])
        return out

    @property
    def duration(self) -> float:
        return float(self.t[-1])

    def drones_at(self, t: float) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
        """Positions interpolated between the recorded frames around ``t``; the status of the earlier one."""
        k = int(np.searchsorted(self.t, t, side="right")) - 1
        if k < 0:
            return self.pos[0], self.status[0]
        if k >= len(self.t) - 1:
            return self.pos[-1], self.status[-1]
        w = np.float32((t - self.t[k]) / max(self.t[k + 1] - self.t[k], 1e-9))
        return self.pos[k] + w * (self.pos[k + 1] - self.pos[k]), self.status[k]


def _latest(series: list[tuple[float, Any]], t: float, default: Any) -> Any:
    k = bisect.bisect_right([s[0] for s in series], t) - 1
    return series[k][1] if k >= 0 else default


class ReplayRunner(BackgroundSource):
    """The replay source of the console (same interface as ``LiveRunner``)."""

    mode = "replay"
    thread_name = "skyhive-console-replay"

    def __init__(self, recording: Recording, speed: float = 1.0, stream_hz: float = 10.0,
                 publish: Publish | None = None) -> None:
        super().__init__(publish)
        self.rec = recording
        self.speed = float(speed)
        self.paused = False
        self.stream_period = 1.0 / stream_hz
        self.clock = float(recording.t[0])
        self._anchor_wall = time.perf_counter()
        self._anchor_t = self.clock
        self._lock = threading.Lock()
        self.seq = 0
        self.frames = 0
        self.frame_bytes = 0
        self._events_sent = 0
        self._state_sent: Any = None
        self._fence_t = [f[0] for f in recording.fences]

    @property
    def t(self) -> float:
        return self.clock

    @property
    def n_drones(self) -> int:
        return int(self.rec.pos.shape[1])

    def hello(self) -> dict[str, Any]:
        m = self.rec.meta
        lat, lon, alt = m["origin"]
        return {"type": "hello", "mode": self.mode, "scenario": m.get("scenario", self.rec.path.stem),
                "seed": m.get("seed"), "origin": {"lat": lat, "lon": lon, "alt": alt}, "drones": self.n_drones,
                "fleets": [{"name": n, "start": a, "stop": b} for n, a, b in m.get("fleets", [])]
                or [{"name": "drones", "start": 0, "stop": self.n_drones}],
                "statuses": STATUS_NAMES, "duration": round(self.rec.duration, 3), "dt": m.get("dt"),
                "well_clear_m": m.get("well_clear_m", 609.6), "can_task": False,
                "has_airspace": bool(self.rec.tracks), "speed": self.speed, "paused": self.paused,
                "file": self.rec.path.name}

    def state(self) -> dict[str, Any]:
        fences = _latest(self.rec.fences, self.clock, [])
        return {"type": "state", "fences": fences, "tasks": [], "stations": []}

    def submit(self, action: Any) -> Future[dict[str, Any]]:
        fut: Future[dict[str, Any]] = Future()
        try:
            fut.set_result(self._control(action))
        except ActionError as exc:
            fut.set_exception(exc)
        return fut

    def _control(self, action: Any) -> dict[str, Any]:
        if isinstance(action, SIM_ACTIONS):
            raise ActionError([("op", f"{action.op} is not possible in a replay: the run is recorded")])
        with self._lock:
            self._advance()
            if isinstance(action, Pause):
                self.paused = action.op == "pause"
                out: dict[str, Any] = {"paused": self.paused}
            elif isinstance(action, Speed):
                self.speed = float(action.value)
                out = {"speed": self.speed}
            elif isinstance(action, Seek):
                self.clock = min(max(float(action.t), float(self.rec.t[0])), self.rec.duration)
                self._events_sent = max(0, bisect.bisect_right(self.rec.event_t, self.clock) - 50)
                out = {"t": round(self.clock, 3)}
            elif isinstance(action, Links):
                out = {"links": False, "note": "mesh links are not replayed"}
            else:
                raise ActionError([("op", f"unknown action {type(action).__name__}")])
            self._anchor_wall, self._anchor_t = time.perf_counter(), self.clock
        return out

    def _advance(self) -> None:
        if not self.paused:
            self.clock = min(self._anchor_t + (time.perf_counter() - self._anchor_wall) * self.speed,
                             self.rec.duration)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._advance()
                self._publish()
            self._stop.wait(self.stream_period)

    def _publish(self) -> None:
        t = self.clock
        k = bisect.bisect_right(self._fence_t, t) - 1
        if k != self._state_sent:
            self._state_sent = k
            self.publish("state", json.dumps(self.state(), separators=(",", ":")))
        j = bisect.bisect_right(self.rec.event_t, t)
        if j > self._events_sent:
            ev = self.rec.events[self._events_sent:j][-50:]
            self._events_sent = j
            self.publish("events", json.dumps({"type": "events", "events": [[round(e[0], 2), *e[1:]] for e in ev]}))
        pos, status = self.rec.drones_at(t)
        manned = [[name, *_latest(series, t, [0, 0, 0, 0, 0, False])] for name, series in self.rec.manned.items()
                  if series[0][0] <= t]
        header = {"type": "frame", "seq": self.seq, "t": round(t, 3), "speed": self.speed, "paused": self.paused,
                  "ended": t >= self.rec.duration, "behind_s": 0.0, "manned": manned,
                  "tracks": _latest(self.rec.tracks, t, []), "alerts": _latest(self.rec.alerts, t, []), "tasks": []}
        self.seq += 1
        data = encode_frame(header, {"pos": np.ascontiguousarray(pos, np.float32).ravel(), "status": status})
        self.frames += 1
        self.frame_bytes += len(data)
        self.publish("frame", data)
