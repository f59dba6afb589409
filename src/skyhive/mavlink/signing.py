"""MAVLink 2 message signing: key file, per-link policy, replay protection.

pymavlink computes and checks the signature; two things are done here by hand
because pymavlink's own check records a stream's timestamp *before* it checks
the signature (so one forged packet with a far-future timestamp would lock the
real sender out) and does not tell a replay from a forgery.  ``SignatureCheck``
verifies the SHA-256 signature first, then requires the timestamp to grow per
(link id, system, component) stream and new streams to be at most one minute
old, and counts forged, replayed and unsigned messages separately.

Replay protection spans every port that shares a key: the ports' checks share
one ``StreamTable``, and a stream (link id, system, component) belongs to the
port it was first heard on while it stays active, so a signed packet captured on
one port is refused on another (cross-link replay).  A ground station that
talks to several ports must use one link id per port, as the MAVLink signing
specification asks (pymavlink and MAVProxy do).

Outgoing: ``outgoing_timestamp`` keeps a vehicle's signing clock on wall time,
so a ground station that joins minutes after the start accepts its packets.

Key file (text, one link per line, ``#`` starts a comment)::

    default   passphrase:correct horse battery staple
    14541     9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

The first column is ``default`` (every link without its own line) or a UDP port;
the second a 32-byte key as 64 hex digits, or ``passphrase:TEXT`` meaning
SHA-256(TEXT), the same key MAVProxy's ``signing setup TEXT`` derives.
"""

from __future__ import annotations

import hashlib
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import common as mav

EPOCH_2015 = 1_420_070_400  # signing timestamps count 10 us units since 2015-01-01 00:00 UTC
NEW_STREAM_MAX_AGE = 60 * 100_000  # one minute, in timestamp units
UNSIGNED_OK = frozenset({mav.MAVLINK_MSG_ID_HEARTBEAT, mav.MAVLINK_MSG_ID_RADIO_STATUS})


class KeyFileError(ValueError):
    """A key file that cannot be used, with the line that is wrong."""


def now_timestamp() -> int:
    return int((time.time() - EPOCH_2015) * 100_000)


def follow_clock(signing: Any) -> None:
    """Advance a sender's signing timestamp (pymavlink ``MAVLinkSigning``) to wall time; it never goes back."""
    signing.timestamp = max(signing.timestamp, now_timestamp())


@dataclass
class StreamTable:
    """Last timestamp and home port of every signed stream (link id, system, component) under one key."""

    last: dict[tuple[int, int, int], tuple[int, int]] = field(default_factory=dict)


def parse_key(text: str) -> bytes:
    text = text.strip()
    if text.startswith("passphrase:"):
        return hashlib.sha256(text[len("passphrase:"):].encode()).digest()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    raise ValueError("a key is 64 hex digits or 'passphrase:TEXT'")


def load_key_file(path: str | Path) -> dict[str, bytes]:
    """``{"default" | "<port>": key}``; raises KeyFileError naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    keys: dict[str, bytes] = {}
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise KeyFileError(f"{path}:{n}: expected '<default|port> <key>'")
        sel, text = parts
        if not text.startswith("passphrase:"):  # a passphrase may contain '#'
            text = text.split("#", 1)[0].strip()
        if sel != "default" and not (sel.isdigit() and 0 < int(sel) < 65536):
            raise KeyFileError(f"{path}:{n}: link '{sel}' is neither 'default' nor a UDP port")
        try:
            keys[sel] = parse_key(text)
        except ValueError as exc:
            raise KeyFileError(f"{path}:{n}: {exc}") from None
    if not keys:
        raise KeyFileError(f"{path}: no keys")
    return keys


@dataclass
class SigningCounters:
    good: int = 0
    forged: int = 0
    replayed: int = 0
    unsigned_rejected: int = 0
    unsigned_accepted: int = 0
    rejected_ids: dict[int, int] = field(default_factory=dict)


class SignatureCheck:
    """Installed on a link's parser (``pymavlink.MAVLink``): verifies and counts incoming signatures."""

    def __init__(self, parser: Any, key: bytes, require: bool, streams: StreamTable | None = None,
                 port: int = 0) -> None:
        self.parser = parser
        self.require = require
        self.streams = streams if streams is not None else StreamTable()
        self.port = port
        self.counters = SigningCounters()
        self._failed = False
        s = parser.signing
        s.secret_key = key
        s.timestamp = now_timestamp()
        s.allow_unsigned_callback = self._allow_unsigned
        parser.check_signature = self._check  # instance attribute: replaces pymavlink's method for this parser

    def tick(self) -> None:
        """Advance our clock to wall time so that recordings older than a minute count as replays."""
        s = self.parser.signing
        s.timestamp = max(s.timestamp, now_timestamp())

    def _check(self, msgbuf: bytearray, src_system: int, src_component: int) -> bool:
        s = self.parser.signing
        h = hashlib.sha256()
        h.update(s.secret_key)
        h.update(msgbuf[:-6])
        if h.digest()[:6] != bytes(msgbuf[-6:]):
            self.counters.forged += 1
            self._failed = True
            return False
        link_id = msgbuf[-13]
        tlow, thigh = struct.unpack("<IH", bytes(msgbuf[-12:-6]))
        timestamp = tlow + (thigh << 32)
        key = (link_id, src_system, src_component)
        seen = self.streams.last.get(key)
        if seen is not None and seen[1] != self.port and seen[0] + NEW_STREAM_MAX_AGE < s.timestamp:
            seen = None  # a stream quiet for a minute may move to another port (a new session)
        if seen is None:
            replay = timestamp + NEW_STREAM_MAX_AGE < s.timestamp
        else:
            replay = timestamp <= seen[0] or seen[1] != self.port
        if replay:
            self.counters.replayed += 1
            self._failed = True
            return False
        self.streams.last[key] = (timestamp, self.port)
        s.timestamp = max(s.timestamp, timestamp)
        self.counters.good += 1
        return True

    def _allow_unsigned(self, parser: Any, msg_id: int) -> bool:
        if self._failed:  # called after a bad signature too: never let a forged or replayed message through
            self._failed = False
            self.counters.rejected_ids[msg_id] = self.counters.rejected_ids.get(msg_id, 0) + 1
            return False
        if not self.require or msg_id in UNSIGNED_OK:
            self.counters.unsigned_accepted += 1
            return True
        self.counters.unsigned_rejected += 1
        self.counters.rejected_ids[msg_id] = self.counters.rejected_ids.get(msg_id, 0) + 1
        return False
