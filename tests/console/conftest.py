"""Console fixtures: the small test scenario, a served console on a free port, Debian's headless Chromium."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyhive.console.live import LiveRunner
from skyhive.console.serve import make_server
from skyhive.sim import Simulation

SCENARIO = Path(__file__).parent / "console-small.yaml"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"]


class Served:
    """A console server running in a thread (uvicorn over a bound socket)."""

    def __init__(self, source: Any, token: str | None = None, host: str = "127.0.0.1") -> None:
        self.source = source
        self.server, sock = make_server(source, host, 0, token)
        self.port = sock.getsockname()[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console server did not start")
            time.sleep(0.05)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=10, **kw)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def live_sim(speed: float = 1.0, seed: int | None = None) -> LiveRunner:
    return LiveRunner(Simulation.from_file(SCENARIO, seed=seed), speed=speed)


@pytest.fixture
def served_live() -> Iterator[Served]:
    s = Served(live_sim(speed=5.0))
    yield s
    s.close()


def chromium_path() -> str:
    """Debian's Chromium; the browser tests fail (never skip) without it: `.ci/run` installs it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Chromium is not installed: apt-get install chromium (the CI script does it as root)")


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=chromium_path(), headless=True,
                                                   args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 800})
        yield ctx
        ctx.close()
