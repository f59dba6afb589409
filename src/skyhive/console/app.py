"""The console's web app (Starlette): the page, ``/healthz``, ``/stats`` and the ``/ws`` stream.

Each browser gets its own small outbox: at most ``FRAME_BACKLOG`` frames wait for it; a newer frame pushes out the
oldest (counted in ``dropped``), and the slowly changing messages (state, metrics, coverage, links) keep only
their newest copy.  The simulation thread only ever hands bytes to the event loop, so a browser that stops
reading, or disconnects, never stalls the run.

Security: loopback binds may go without a token; any other bind needs one on every HTTP and WebSocket request
(``?token=``, an ``Authorization: Bearer`` header, or the cookie the page sets from ``?token=``).  WebSocket
upgrades from another origin are refused, so a web page elsewhere cannot task the swarm through the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from skyhive.console.actions import ActionError, parse_action

STATIC = Path(__file__).parent / "static"
FRAME_BACKLOG = 2
EVENT_BACKLOG = 200
COOKIE = "skyhive_console_token"
LATEST_ONLY = ("state", "metrics", "coverage", "links")


class Source(Protocol):
    """What the app needs from a live run or a replay."""

    mode: str
    publish: Callable[[str, bytes | str], None]

    @property
    def t(self) -> float: ...

    @property
    def n_drones(self) -> int: ...

    def hello(self) -> dict[str, Any]: ...

    def state(self) -> dict[str, Any]: ...

    def submit(self, action: Any) -> Any: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


class Client:
    """One browser's outbox and counters."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.frames: deque[bytes] = deque()
        self.events: deque[str] = deque(maxlen=EVENT_BACKLOG)
        self.latest: dict[str, bytes | str] = {}
        self.wake = asyncio.Event()
        self.dropped = 0
        self.sent = 0
        self.bytes = 0
        self.links = False

    def offer(self, kind: str, msg: bytes | str) -> None:
        if kind == "frame":
            assert isinstance(msg, bytes)
            if len(self.frames) >= FRAME_BACKLOG:
                self.frames.popleft()
                self.dropped += 1
            self.frames.append(msg)
        elif kind in LATEST_ONLY:
            if kind == "links" and not self.links:
                return
            self.latest[kind] = msg
        else:
            assert isinstance(msg, str)
            self.events.append(msg)
        self.wake.set()

    def next(self) -> bytes | str | None:
        if self.latest:
            kind = next(iter(self.latest))
            return self.latest.pop(kind)
        if self.events:
            return self.events.popleft()
        if self.frames:
            return self.frames.popleft()
        return None


class Broadcaster:
    """Fans messages out to every client's outbox (called on the event loop only)."""

    def __init__(self) -> None:
        self.clients: set[Client] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.published = 0
        self.closed_dropped = 0  # frames dropped for clients that have since gone

    def publish_threadsafe(self, kind: str, msg: bytes | str) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self._offer, kind, msg)

    def _offer(self, kind: str, msg: bytes | str) -> None:
        self.published += 1
        for c in self.clients:
            c.offer(kind, msg)

    def stats(self) -> dict[str, Any]:
        return {"clients": len(self.clients), "published": self.published,
                "dropped": self.closed_dropped + sum(c.dropped for c in self.clients),
                "per_client": [{"sent": c.sent, "bytes": c.bytes, "dropped": c.dropped} for c in self.clients]}


def _origin_ok(scope: Scope) -> bool:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser (tools, tests)
    return urlsplit(origin).netloc == headers.get("host", "")


class TokenGate:
    """Pure ASGI middleware: every HTTP and WebSocket request carries the token (when one is set)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    def _presented(self, scope: Scope) -> list[str]:
        out = []
        q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        out += q.get("token", [])
        for k, v in scope.get("headers", []):
            key, val = k.decode("latin-1").lower(), v.decode("latin-1")
            if key == "authorization" and val.lower().startswith("bearer "):
                out.append(val[7:].strip())
            elif key == "cookie":
                for part in val.split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == COOKIE:
                        out.append(value)
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.token is None:
            await self.app(scope, receive, send)
            return
        if any(hmac.compare_digest(p.encode(), self.token.encode()) for p in self._presented(scope)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong token"})
            return
        response = PlainTextResponse("401: this console needs its token (?token=... in the URL)", status_code=401)
        await response(scope, receive, send)


def create_app(source: Source, token: str | None = None) -> Starlette:
    """The ASGI app over a live runner or a replay; starts ``source`` with the app and stops it at shutdown."""
    hub = Broadcaster()

    async def index(request: Request) -> Response:
        resp: Response = FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})
        tok = request.query_params.get("token")
        if token is not None and tok is not None:
            resp.set_cookie(COOKIE, tok, httponly=True, samesite="strict")
        return resp

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "t": round(source.t, 3), "drones": source.n_drones})

    async def stats(request: Request) -> Response:
        out = {"mode": source.mode, "t": round(source.t, 3), **hub.stats()}
        for name in ("frames", "frame_bytes", "behind_s"):
            if hasattr(source, name):
                out[name] = getattr(source, name)
        return JSONResponse(out)

    async def sender(client: Client) -> None:
        ws = client.ws
        while True:
            await client.wake.wait()
            client.wake.clear()
            while (msg := client.next()) is not None:
                if isinstance(msg, bytes):
                    await ws.send_bytes(msg)
                else:
                    await ws.send_text(msg)
                client.sent += 1
                client.bytes += len(msg)

    async def reply(client: Client, text: str) -> None:
        client.events.append(text)
        client.wake.set()

    async def handle(client: Client, raw: str) -> None:
        req = None
        try:
            try:
                req = json.loads(raw).get("req") if len(raw) < 1 << 16 else None
            except (ValueError, AttributeError):
                req = None
            action = parse_action(raw)
            if getattr(action, "op", "") == "links":
                if action.on == client.links:
                    await reply(client, json.dumps({"type": "reply", "req": req, "ok": True, "links": action.on}))
                    return
                client.links = action.on
            result = await asyncio.wrap_future(source.submit(action))
            await reply(client, json.dumps({"type": "reply", "req": req, "ok": True, **result}))
        except ActionError as exc:
            await reply(client, json.dumps({"type": "reply", "req": req, "ok": False,
                                            "problems": [{"field": f, "message": m} for f, m in exc.problems]}))

    async def stream(ws: WebSocket) -> None:
        if not _origin_ok(ws.scope):
            await ws.close(code=1008, reason="cross-origin connections are refused")
            return
        await ws.accept()
        client = Client(ws)
        await ws.send_text(json.dumps(source.hello()))
        await ws.send_text(json.dumps(source.state()))
        hub.clients.add(client)
        task = asyncio.create_task(sender(client))
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                text = msg.get("text")
                if text is None:
                    text = (msg.get("bytes") or b"").decode("utf-8", "replace")
                await handle(client, text)
        except WebSocketDisconnect:
            pass
        finally:
            hub.clients.discard(client)
            hub.closed_dropped += client.dropped
            if client.links:
                source.submit(parse_action('{"op": "links", "on": false}'))
            task.cancel()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.loop = asyncio.get_running_loop()
        source.start()
        try:
            yield
        finally:
            await asyncio.to_thread(source.stop)

    source.publish = hub.publish_threadsafe
    app = Starlette(routes=[Route("/", index), Route("/healthz", healthz), Route("/stats", stats),
                            WebSocketRoute("/ws", stream), Mount("/static", StaticFiles(directory=STATIC))],
                    lifespan=lifespan)
    app.state.hub = hub
    app.state.source = source
    app.add_middleware(TokenGate, token=token)
    return app
