"""The console's wire format: binary frames of packed arrays behind a small JSON header.

A frame is ``b"SKH1"``, a little-endian ``uint32`` header length, the header (UTF-8 JSON, padded with spaces to a
multiple of 8 bytes), then the arrays the header lists in ``sections`` (``[name, dtype, length]``), each starting
on an 8-byte boundary so the page can view it as a typed array without copying.  Drone positions are ``float32``
ENU metres (12 bytes a drone) and statuses ``uint8``: 2,000 drones are 26 KB a frame, not a JSON object per drone.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAGIC = b"SKH1"
ALIGN = 8
DTYPES = {"f4": np.float32, "u1": np.uint8, "u2": np.uint16, "u4": np.uint32, "i4": np.int32}
_NAMES = {np.dtype(v).str.lstrip("<|"): k for k, v in DTYPES.items()}


def _pad(n: int) -> int:
    return (-n) % ALIGN


def encode_frame(header: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> bytes:
    """One binary frame: ``header`` (JSON-able) plus ``arrays`` (flattened, little-endian, dtypes of ``DTYPES``)."""
    sections = []
    blobs: list[bytes] = []
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        code = _NAMES.get(a.dtype.str.lstrip("<|"))
        if code is None:
            raise ValueError(f"array {name!r}: dtype {a.dtype} is not one of {sorted(DTYPES)}")
        sections.append([name, code, int(a.size)])
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        blobs.append(raw + b"\0" * _pad(len(raw)))
    head = json.dumps({**header, "sections": sections}, separators=(",", ":")).encode()
    head += b" " * _pad(len(MAGIC) + 4 + len(head))
    return b"".join([MAGIC, struct.pack("<I", len(head)), head, *blobs])


def decode_frame(data: bytes) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """The inverse of ``encode_frame`` (tests, tools); raises ValueError on a malformed frame."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise ValueError("not a console frame (bad magic)")
    (n,) = struct.unpack_from("<I", data, 4)
    if 8 + n > len(data):
        raise ValueError("frame header runs past the end")
    header = json.loads(data[8:8 + n])
    pos = 8 + n
    arrays: dict[str, NDArray[Any]] = {}
    for name, code, count in header.pop("sections"):
        dt = np.dtype(DTYPES[code]).newbyteorder("<")
        size = count * dt.itemsize
        if pos + size > len(data):
            raise ValueError(f"section {name!r} runs past the end")
        arrays[name] = np.frombuffer(data, dt, count, pos)
        pos += size + _pad(size)
    return header, arrays
