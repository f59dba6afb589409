"""Runs one simulation in real time (times ``speed``) on its own thread and publishes console messages.

The simulation thread is the only one that touches the simulation: operator actions are queued and applied
between ticks, and frames are built there too.  Publishing hands finished bytes to a callback that must not
block (the web app's broadcaster drops frames for slow clients), so no browser can stall the run.
"""

from __future__ import annotations

import json
import queue
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from skyhive.console.actions import SIM_ACTIONS, ActionError, Links, Operator, Pause, Seek, Speed
from skyhive.console.picture import Picture
from skyhive.console.source import BackgroundSource, Publish
from skyhive.console.stream import encode_frame

if TYPE_CHECKING:
    from skyhive.sim import Simulation


class LiveRunner(BackgroundSource):
    """The live source of the console: ``start()``, ``submit(action)``, ``stop()``."""

    mode = "live"
    thread_name = "skyhive-console-sim"

    def __init__(self, sim: Simulation, speed: float = 1.0, stream_hz: float = 10.0, metrics_hz: float = 1.0,
                 links_hz: float = 2.0, coverage_hz: float = 0.5, publish: Publish | None = None) -> None:
        super().__init__(publish)
        self.sim = sim
        self.picture = Picture(sim)
        self.operator = Operator(self.picture)
        self.speed = float(speed)
        self.paused = False
        self.stream_period = 1.0 / stream_hz
        self.metrics_period = 1.0 / metrics_hz
        self.links_period = 1.0 / links_hz
        self.coverage_period = 1.0 / coverage_hz
        self.links_wanted = 0  # clients that asked for the mesh links
        self.actions: queue.Queue[tuple[Any, Future[dict[str, Any]]]] = queue.Queue()
        self.seq = 0
        self.frames = 0
        self.frame_bytes = 0
        self.behind_s = 0.0  # simulated seconds the run lags its real-time schedule (too slow for ``speed``)
        self._anchor_wall = time.perf_counter()
        self._anchor_t = sim.t
        self._events_seen = len(sim.log)
        self._state_key: Any = None
        self.error: BaseException | None = None

    # -- control -------------------------------------------------------------------------------------------
    def hello(self) -> dict[str, Any]:
        return self.picture.hello(self.mode, {"speed": self.speed, "paused": self.paused})

    def state(self) -> dict[str, Any]:
        return self.picture.state()

    @property
    def t(self) -> float:
        return self.sim.t

    @property
    def n_drones(self) -> int:
        return self.sim.n_drones

    def submit(self, action: Any) -> Future[dict[str, Any]]:
        """Queue an action for the simulation thread; the future holds the reply fields or an ActionError."""
        fut: Future[dict[str, Any]] = Future()
        if isinstance(action, Seek):
            fut.set_exception(ActionError([("op", "seek works in replay only; a live run cannot go back")]))
            return fut
        self.actions.put((action, fut))
        return fut

    # -- the loop ------------------------------------------------------------------------------------------
    def _reanchor(self) -> None:
        self._anchor_wall = time.perf_counter()
        self._anchor_t = self.sim.t

    def _control(self, action: Any) -> dict[str, Any]:
        if isinstance(action, Pause):
            self.paused = action.op == "pause"
            self._reanchor()
            self.sim.log.add(self.sim.t, "info", "console", f"operator: {action.op}")
            return {"paused": self.paused}
        if isinstance(action, Speed):
            self.speed = float(action.value)
            self._reanchor()
            self.sim.log.add(self.sim.t, "info", "console", f"operator: speed x{self.speed:g}")
            return {"speed": self.speed}
        if isinstance(action, Links):
            self.links_wanted = max(0, self.links_wanted + (1 if action.on else -1))
            return {"links": action.on}
        raise ActionError([("op", f"unknown action {type(action).__name__}")])

    def _apply_actions(self) -> None:
        while True:
            try:
                action, fut = self.actions.get_nowait()
            except queue.Empty:
                return
            try:
                reply = self.operator.apply(action) if isinstance(action, SIM_ACTIONS) else self._control(action)
            except ActionError as exc:
                fut.set_exception(exc)
            except Exception as exc:
                fut.set_exception(ActionError([("", f"could not apply: {type(exc).__name__}: {exc}")]))
            else:
                fut.set_result(reply)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # the page shows it; the server keeps answering
            self.error = exc
            self.publish("event", json.dumps({"type": "error", "message": f"simulation stopped: {exc!r}"}))
            raise

    def _loop(self) -> None:
        sim = self.sim
        n_end = round(sim.duration / sim.dt)
        next_frame = next_metrics = next_links = next_cov = 0.0
        while not self._stop.is_set():
            self._apply_actions()
            now = time.perf_counter()
            due = False
            if not self.paused and sim.step_count < n_end:
                target = self._anchor_t + (now - self._anchor_wall) * self.speed
                if sim.t + 1e-9 < target:  # one tick per pass, so a frame is never more than one tick late
                    sim.step()
                self.behind_s = max(0.0, target - sim.t)
                due = self.behind_s > 1e-9 and sim.step_count < n_end
                if self.behind_s > 1.0:  # too slow for this speed: run as fast as it can, without a backlog
                    self._reanchor()
            now = time.perf_counter()
            if now >= next_frame:  # on a fixed schedule (no drift); skip what a stall missed, never burst
                next_frame = max(next_frame + self.stream_period, now + 0.5 * self.stream_period)
                self._publish_frame(n_end)
            if now >= next_metrics:
                next_metrics = now + self.metrics_period
                self.publish("metrics", json.dumps(self.picture.metrics(), separators=(",", ":")))
            if self.links_wanted and now >= next_links:
                next_links = now + self.links_period
                got = self.picture.links()
                if got is not None:
                    self.publish("links", encode_frame(*got))
            if now >= next_cov:
                next_cov = now + self.coverage_period
                cov = self.picture.coverage()
                if cov is not None:
                    self.publish("coverage", encode_frame(*cov))
            if due:
                continue  # behind the clock: the next tick at once
            wait = min(next_frame, next_metrics) - time.perf_counter()
            if self.paused or sim.step_count >= n_end:
                self._stop.wait(max(0.0, min(wait, 0.05)))
            else:
                step_due = self._anchor_wall + (sim.t + sim.dt - self._anchor_t) / self.speed - time.perf_counter()
                self._stop.wait(max(0.0, min(wait, step_due, 0.05)))

    def _publish_frame(self, n_end: int) -> None:
        key = self.picture.state_key()
        if key != self._state_key:
            self._state_key = key
            self.publish("state", json.dumps(self.picture.state(), separators=(",", ":")))
        events = self.sim.log.since(self._events_seen)
        if events:
            self._events_seen += len(events)
            msg = {"type": "events", "events": [[round(e.t, 2), e.level, e.source, e.text] for e in events[-50:]]}
            self.publish("events", json.dumps(msg, separators=(",", ":")))
        self.seq += 1
        data = self.picture.frame(self.seq, {"speed": self.speed, "paused": self.paused,
                                             "ended": self.sim.step_count >= n_end,
                                             "behind_s": round(self.behind_s, 2)})
        self.frames += 1
        self.frame_bytes += len(data)
        self.publish("frame", data)
