"""The web app: health, token on every HTTP and WebSocket request, the stream's messages, clear errors for bad
actions while the run goes on, slow clients dropping frames instead of stalling the run, replay from MCAP."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from skyhive.console.actions import ActionError, parse_action
from skyhive.console.app import FRAME_BACKLOG, Client
from skyhive.console.replay import Recording, ReplayError, ReplayRunner
from skyhive.console.serve import is_loopback, page_url, resolve_token
from skyhive.console.stream import decode_frame, encode_frame
from skyhive.record.attach import attach_recorder
from skyhive.sim import Simulation
from tests.console.conftest import SCENARIO, Served, live_sim


def test_frame_round_trip_and_size() -> None:
    pos = np.arange(2000 * 3, dtype=np.float32)
    status = (np.arange(2000) % 5).astype(np.uint8)
    data = encode_frame({"t": 1.5, "tasks": []}, {"pos": pos, "status": status})
    head, arrays = decode_frame(data)
    assert head["t"] == 1.5
    assert np.array_equal(arrays["pos"], pos) and np.array_equal(arrays["status"], status)
    assert len(data) < 40_000  # 2,000 drones in one frame under the 40 KB
    with pytest.raises(ValueError):
        decode_frame(b"nope" + data[4:])


def test_token_policy() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    assert resolve_token("127.0.0.1", None) is None
    generated = resolve_token("0.0.0.0", None)
    assert generated is not None and len(generated) >= 16
    with pytest.raises(ValueError):
        resolve_token("0.0.0.0", "short")
    assert page_url("0.0.0.0", 8080, "abc").endswith(":8080/?token=abc")


def ws_url(s: Served, query: str = "") -> str:
    return f"ws://127.0.0.1:{s.port}/ws{query}"


def first_messages(ws: object, n: int) -> list[object]:
    out = []
    for _ in range(n):
        out.append(ws.recv(timeout=30))  # type: ignore[attr-defined]
    return out


def test_token_is_required_on_every_request() -> None:
    token = "a-token-of-twenty-chars"
    s = Served(live_sim(), token=token)
    try:
        for path in ("/", "/healthz", "/static/console.js", "/stats"):
            assert s.get(path).status_code == 401, path
            assert s.get(path + "?token=" + token).status_code == 200, path
        assert s.get("/healthz", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert s.get("/healthz?token=wrong-token-of-twenty").status_code == 401
        page = s.get("/?token=" + token)
        cookie = page.cookies.get("skyhive_console_token")
        assert cookie == token  # the page's own static files and stream then carry it
        with pytest.raises(InvalidStatus), connect(ws_url(s)) as ws:  # the handshake is refused
            ws.recv(timeout=10)
        with connect(ws_url(s, "?token=" + token)) as ws:
            hello = json.loads(ws.recv(timeout=30))
            assert hello["type"] == "hello" and hello["drones"] == 12
    finally:
        s.close()


def test_cross_origin_websocket_is_refused(served_live: Served) -> None:
    with pytest.raises(InvalidStatus), connect(ws_url(served_live), origin="http://evil.example") as ws:  # type: ignore[call-overload]
        ws.recv(timeout=10)


def test_stream_health_and_bad_actions(served_live: Served) -> None:
    s = served_live
    health = s.get("/healthz").json()
    assert health["status"] == "ok" and health["drones"] == 12 and health["t"] >= 0.0
    with connect(ws_url(s), max_size=1 << 22) as ws:
        hello, state = (json.loads(m) for m in first_messages(ws, 2))  # type: ignore[arg-type]
        assert hello["type"] == "hello" and hello["can_task"] and hello["origin"]["lat"] == 47.0
        assert state["type"] == "state" and state["zones"][0]["name"] == "depot"
        frames: list[Any] = []
        deadline = time.monotonic() + 30
        while len(frames) < 3 and time.monotonic() < deadline:
            m = ws.recv(timeout=30)
            if isinstance(m, bytes):
                frames.append(decode_frame(m))
        _, arrays = frames[-1]
        assert arrays["pos"].shape == (36,) and arrays["status"].shape == (12,)
        assert frames[-1][0]["t"] > frames[0][0]["t"]  # the run goes on
        # bad actions: a clear answer each, the connection and the run go on
        for raw, field in (("{oops", ""), (json.dumps({"op": "add_task", "kind": "inspect", "lat": 123, "lon": 8,
                                                       "req": 7}), "lat"),
                           (json.dumps({"op": "cancel_task", "id": "ghost", "req": 8}), "id"),
                           ("x" * 70_000, "")):
            ws.send(raw)
            while True:
                m = ws.recv(timeout=30)
                if isinstance(m, str) and json.loads(m).get("type") == "reply":
                    reply = json.loads(m)
                    break
            assert reply["ok"] is False and reply["problems"][0]["field"] == field, reply
        ws.send(json.dumps({"op": "speed", "value": 2, "req": 9}))
        while True:
            m = ws.recv(timeout=30)
            if isinstance(m, str) and json.loads(m).get("type") == "reply":
                assert json.loads(m) == {"type": "reply", "req": 9, "ok": True, "speed": 2.0}
                break
    t1 = s.get("/healthz").json()["t"]
    time.sleep(0.5)
    assert s.get("/healthz").json()["t"] > t1


def test_slow_client_drops_frames_never_blocks() -> None:
    c = Client(ws=None)  # type: ignore[arg-type]
    for k in range(10):
        c.offer("frame", bytes([k]))
        c.offer("metrics", f"m{k}")
    assert c.dropped == 10 - FRAME_BACKLOG
    assert c.next() == "m9"  # the newest metrics only
    assert [c.next(), c.next(), c.next()] == [bytes([8]), bytes([9]), None]


def test_stalled_browser_does_not_stall_the_run(served_live: Served) -> None:
    s = served_live
    with connect(ws_url(s), max_size=1 << 22):
        t0 = s.get("/healthz").json()["t"]
        time.sleep(3.0)  # never read: the socket buffers fill, the outbox drops
        t1 = s.get("/healthz").json()["t"]
        assert t1 - t0 > 5.0  # x5 for 3 s of wall time, less start-up
    with httpx.Client() as h:
        stats = h.get(s.base + "/stats").json()
    assert stats["frames"] > 10


def test_replay_of_a_recorded_run(tmp_path: object) -> None:
    path = tmp_path / "run.mcap"  # type: ignore[operator]
    sim = Simulation.from_file(SCENARIO)
    rec = attach_recorder(sim, path)
    sim.run(until=12.0)
    rec.close()
    recording = Recording(path)
    assert recording.pos.shape[1] == 12 and recording.duration >= 11.0
    assert recording.alerts and recording.manned  # the intruder's alert and the helicopter were recorded
    # interpolation between recorded frames
    p0, _ = recording.drones_at(float(recording.t[3]))
    assert np.allclose(p0, recording.pos[3])
    runner = ReplayRunner(recording)
    assert runner.hello()["mode"] == "replay" and runner.hello()["drones"] == 12
    assert runner.submit(parse_action('{"op": "seek", "t": 5}')).result()["t"] == 5.0
    assert runner.t == 5.0
    with pytest.raises(ActionError, match="not possible in a replay"):
        runner.submit(parse_action('{"op": "ack_alert", "id": 1}')).result()
    with pytest.raises(ReplayError):
        Recording(SCENARIO)


def test_mesh_links_only_to_pages_that_ask(served_live: Served) -> None:
    def kinds(ws: object, seconds: float) -> set[str]:
        seen: set[str] = set()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            m = ws.recv(timeout=30)  # type: ignore[attr-defined]
            seen.add(decode_frame(m)[0]["type"] if isinstance(m, bytes) else json.loads(m)["type"])
        return seen

    with connect(ws_url(served_live), max_size=1 << 22) as ws:
        assert "links" not in kinds(ws, 2.0)
        ws.send(json.dumps({"op": "links", "on": True}))
        seen = kinds(ws, 3.0)
        assert "links" in seen and "frame" in seen
