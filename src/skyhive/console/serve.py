"""Start the console's web server (uvicorn) over a live run or a replay; what ``skyhive console`` calls."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import webbrowser
from typing import Any

import uvicorn

from skyhive.console.app import Source, create_app

WS_MAX_BYTES = 1 << 20  # the transport's cap; actions over actions.MAX_MESSAGE_BYTES get a clear error reply


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: str | None) -> str | None:
    """The token the server demands: the given one, a fresh one for a non-loopback bind, else none."""
    if token is not None:
        if len(token) < 16:
            raise ValueError("--token must be at least 16 characters")
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def page_url(host: str, port: int, token: str | None) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def make_server(source: Source, host: str, port: int, token: str | None) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server for the console and its bound socket (port 0 picks a free one: ``sock.getsockname()``)."""
    app = create_app(source, token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", ws_max_size=WS_MAX_BYTES, ws_per_message_deflate=False,
                            lifespan="on")
    return uvicorn.Server(config), sock


def run_server(source: Source, host: str, port: int, token: str | None, open_browser: bool,
               announce: Any = print) -> None:
    """Serve until Ctrl-C (uvicorn handles the signal and shuts the source down)."""
    server, sock = make_server(source, host, port, token)
    url = page_url(host, sock.getsockname()[1], token)
    announce(url)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
