"""MAVLink 2 framing for the 10 Hz telemetry streams, without building a message object per packet.

Why by hand: pymavlink builds a message object, a header object and a
bytearray per packet (about 20 us each), which for two 10 Hz streams per
vehicle was most of what limited how many vehicles one process serves.  Here
the payload is one ``struct.pack`` in pymavlink's own wire order (taken from
the generated message class: format, CRC extra, id), the trailing zero bytes
are trimmed as MAVLink 2 requires, and the checksum is pymavlink's
CRC-16/MCRF4XX (``fastcrc``).  Unsigned links only: signed links go through
pymavlink.  ``tests/mavlink/test_framing.py`` checks the bytes against
pymavlink's for random values.
"""

from __future__ import annotations

import struct
from typing import Any

from pymavlink.dialects.v20 import common as mav

_HEADER = struct.Struct("<BBBBBBBHB")
_crc: Any = None
try:
    import fastcrc

    _crc = fastcrc.crc16.mcrf4xx
except ImportError:  # pragma: no cover - pymavlink works without it, so do we (slower)
    pass


class Framer:
    """Packs one message type; ``available`` is False when no fast checksum is installed."""

    available = _crc is not None

    def __init__(self, cls: Any) -> None:
        self.payload = struct.Struct(cls.unpacker.format)
        self.crc_extra = bytes([cls.crc_extra])
        self.msg_id = int(cls.id)

    def pack(self, encoder: Any, *fields: Any) -> bytes:
        """The packet ``encoder`` (a pymavlink ``MAVLink``) would send; advances its sequence number."""
        payload = self.payload.pack(*fields)
        n = len(payload)
        while n > 1 and payload[n - 1] == 0:
            n -= 1
        head = _HEADER.pack(0xFD, n, 0, 0, encoder.seq, encoder.srcSystem, encoder.srcComponent,
                            self.msg_id & 0xFFFF, self.msg_id >> 16)
        body = head[1:] + payload[:n]
        encoder.seq = (encoder.seq + 1) & 0xFF
        assert _crc is not None
        return head[:1] + body + struct.pack("<H", _crc(body + self.crc_extra, 0xFFFF))


GLOBAL_POSITION_INT = Framer(mav.MAVLink_global_position_int_message)
ATTITUDE = Framer(mav.MAVLink_attitude_message)
ATTITUDE_QUATERNION = Framer(mav.MAVLink_attitude_quaternion_message)
LOCAL_POSITION_NED = Framer(mav.MAVLink_local_position_ned_message)


def pack(encoder: Any, msg: Any) -> bytes:
    """pymavlink's packing, plus the sequence number advance that ``MAVLink.send`` would do."""
    data = bytes(msg.pack(encoder))
    encoder.seq = (encoder.seq + 1) & 0xFF
    return data


PROTOCOL_VERSION_ID = 300  # in MAVLink's standard set, but not generated into pymavlink's common dialect


class ProtocolVersionMessage(mav.MAVLink_message):
    """PROTOCOL_VERSION (id 300, CRC extra 217): version, min and max (uint16), two 8-byte hashes."""

    id = PROTOCOL_VERSION_ID
    msgname = "PROTOCOL_VERSION"
    crc_extra = 217
    unpacker = struct.Struct("<HHH8s8s")

    def __init__(self, version: int = 200, min_version: int = 100, max_version: int = 200) -> None:
        super().__init__(self.id, self.msgname)
        self.version, self.min_version, self.max_version = version, min_version, max_version

    def pack(self, mav_: Any, force_mavlink1: bool = False) -> bytes:
        payload = self.unpacker.pack(self.version, self.min_version, self.max_version, bytes(8), bytes(8))
        return bytes(self._pack(mav_, self.crc_extra, payload, force_mavlink1=force_mavlink1))
