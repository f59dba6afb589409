"""What live runs and replays share: a background thread that publishes console messages until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

Publish = Callable[[str, "bytes | str"], None]
"""``publish(kind, message)``: ``frame``/``links``/``coverage`` (binary) or ``state``/``metrics``/``events`` (JSON
text); it must not block (the web app's broadcaster hands it to the event loop)."""


class BackgroundSource:
    """Runs ``self._run()`` on a daemon thread between ``start()`` and ``stop()`` (which sets ``self._stop``)."""

    thread_name = "skyhive-console"

    def __init__(self, publish: Publish | None) -> None:
        self.publish: Publish = publish or (lambda kind, msg: None)  # the web app sets its broadcaster
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
