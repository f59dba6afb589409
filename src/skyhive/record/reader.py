"""Read a skyhive MCAP log back, complete or cut short by a crash.

A complete file (footer and summary present) is read with the ``mcap`` indexed
reader.  A file whose writer was killed has no summary: it is read with the
``mcap`` streaming reader over the prefix that ends at the last whole record, so
reading stops cleanly where the crash cut the file instead of failing on the
partial chunk.
"""

from __future__ import annotations

import io
import json
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mcap.exceptions import McapError
from mcap.opcode import Opcode
from mcap.reader import make_reader
from mcap.records import Channel, Footer, Message, Metadata, Schema
from mcap.stream_reader import StreamReader

MAGIC = b"\x89MCAP0\r\n"
_RECORD_HEAD = struct.Struct("<BQ")


def is_complete(path: str | Path) -> bool:
    """True when the file ends with a footer and its summary can be read (the writer closed it)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size < 2 * len(MAGIC) + 9 + 20:
                return False
            f.seek(size - len(MAGIC))
            if f.read(len(MAGIC)) != MAGIC:
                return False
            f.seek(0)
            return make_reader(f).get_summary() is not None
    except (McapError, OSError, ValueError, struct.error):
        return False


def readable_prefix(path: str | Path) -> int:
    """Byte length of the file up to the end of its last whole record (header and chunk framing only)."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path} is not an MCAP file (bad magic)")
        pos = len(MAGIC)
        while pos + _RECORD_HEAD.size <= size:
            f.seek(pos)
            opcode, length = _RECORD_HEAD.unpack(f.read(_RECORD_HEAD.size))
            end = pos + _RECORD_HEAD.size + length
            if opcode == 0 or end > size:  # opcode 0 is reserved: zero-filled tail after a crash
                break
            pos = end
            if opcode == Opcode.FOOTER:
                break
        return pos


class _Capped(io.RawIOBase):
    """A read-only view of the first ``limit`` bytes of a file."""

    def __init__(self, f: io.BufferedReader, limit: int) -> None:
        self._f, self._left = f, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf)
        k = min(len(view), self._left)
        if k <= 0:
            return 0
        got = self._f.readinto(view[:k])
        self._left -= got
        return got


def _decode(data: bytes, encoding: str) -> Any:
    if encoding == "json":
        return json.loads(data)
    return data


def _stream_messages(path: str | Path, topics: set[str] | None) -> Iterator[tuple[str, int, Any]]:
    limit = readable_prefix(path)
    channels: dict[int, Channel] = {}
    schemas: dict[int, Schema] = {}
    with open(path, "rb") as f:
        reader = StreamReader(io.BufferedReader(_Capped(f, limit)), validate_crcs=True)
        records = reader.records
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except (McapError, ValueError, EOFError, struct.error):
                return  # end of the whole records (or a chunk damaged by the crash): stop cleanly
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Message):
                ch = channels.get(record.channel_id)
                if ch is None or (topics is not None and ch.topic not in topics):
                    continue
                yield ch.topic, record.log_time, _decode(record.data, ch.message_encoding)
            elif isinstance(record, Footer):
                return


def read_messages(path: str | Path, topics: Iterable[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """Yield ``(topic, log_time_ns, decoded JSON)`` for every message (optionally only ``topics``).

    Complete files come in log-time order from the indexed reader; truncated
    files in file order from the streaming reader, up to the truncation point.
    """
    wanted = set(topics) if topics is not None else None
    if is_complete(path):
        with open(path, "rb") as f:
            reader = make_reader(f)
            for _schema, channel, message in reader.iter_messages(
                    topics=list(wanted) if wanted is not None else None, log_time_order=True):
                yield channel.topic, message.log_time, _decode(message.data, channel.message_encoding)
        return
    yield from _stream_messages(path, wanted)


def read_metadata(path: str | Path) -> dict[str, dict[str, Any]]:
    """Every metadata record of the file, ``{name: {key: JSON-decoded value}}`` (complete or cut short)."""
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, data: dict[str, str]) -> None:
        vals: dict[str, Any] = {}
        for k, v in data.items():
            try:
                vals[k] = json.loads(v)
            except ValueError:
                vals[k] = v
        out[name] = vals

    if is_complete(path):
        with open(path, "rb") as f:
            for rec in make_reader(f).iter_metadata():
                add(rec.name, rec.metadata)
        return out
    limit = readable_prefix(path)
    with open(path, "rb") as f:
        reader = StreamReader(io.BufferedReader(_Capped(f, limit)), validate_crcs=True)
        try:
            for record in reader.records:
                if isinstance(record, Metadata):
                    add(record.name, record.metadata)
                elif isinstance(record, Footer):
                    break
        except (McapError, ValueError, EOFError, struct.error):
            pass
    return out
