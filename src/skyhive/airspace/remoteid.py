"""ASTM F3411 (Open Drone ID) broadcast messages: the 25-byte Basic ID, Location/Vector, System and Operator ID.

Written by hand because no maintained Python package encodes these frames; the field layout follows ASTM
F3411-22a section 5.4.5 (the same layout the opendroneid-core-c reference library implements, which was read to
check bit positions, not copied).  All multi-byte fields are little-endian.

Header byte: message type in the high nibble, protocol version (2 for F3411-22a) in the low nibble.

Decoding never raises on wire data: :func:`decode` returns ``None`` for a malformed frame (wrong length, unknown
type, impossible value) and :class:`RemoteIdDecoder` counts the drops by reason.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from dataclasses import dataclass

MESSAGE_SIZE = 25
PROTOCOL_VERSION = 2
TYPE_BASIC_ID = 0x0
TYPE_LOCATION = 0x1
TYPE_SYSTEM = 0x4
TYPE_OPERATOR_ID = 0x5

# Special values of the standard.
SPEED_UNKNOWN = 255.0  # m/s, encoded 255 with multiplier 1
VSPEED_UNKNOWN = 63.0  # m/s
DIRECTION_UNKNOWN = 361.0  # degrees
ALT_UNKNOWN = -1000.0  # metres, encoded 0
SYSTEM_EPOCH_UNIX = 1546300800  # 2019-01-01T00:00:00Z, epoch of the System message timestamp


class RemoteIdError(ValueError):
    """A value that cannot be put on the wire (encode side) or a frame that makes no sense (decode side)."""


@dataclass(frozen=True)
class BasicId:
    """Who the aircraft is: ID type (1 serial number, 2 CAA registration, 3 UTM UUID, 4 session ID), UA type."""

    uas_id: str
    id_type: int = 1
    ua_type: int = 2  # 2 = helicopter or multirotor


@dataclass(frozen=True)
class Location:
    """Where it is and how it moves.  Altitudes in metres (WGS84 geodetic / pressure), timestamp in seconds
    after the full hour (0.1 s resolution)."""

    lat: float
    lon: float
    alt_geo_m: float = ALT_UNKNOWN
    alt_baro_m: float = ALT_UNKNOWN
    height_m: float = ALT_UNKNOWN
    height_type: int = 0  # 0 above take-off, 1 above ground
    direction_deg: float = DIRECTION_UNKNOWN
    speed_mps: float = SPEED_UNKNOWN
    vspeed_mps: float = VSPEED_UNKNOWN
    status: int = 2  # 2 = airborne
    h_accuracy: int = 0
    v_accuracy: int = 0
    baro_accuracy: int = 0
    speed_accuracy: int = 0
    timestamp_s: float = 0.0
    ts_accuracy: int = 0


@dataclass(frozen=True)
class System:
    """Operator (remote pilot) position, operating area and the UA classification."""

    operator_lat: float
    operator_lon: float
    operator_alt_m: float = ALT_UNKNOWN
    operator_location_type: int = 0  # 0 take-off, 1 live GNSS, 2 fixed
    classification_type: int = 0
    area_count: int = 1
    area_radius_m: int = 0
    area_ceiling_m: float = ALT_UNKNOWN
    area_floor_m: float = ALT_UNKNOWN
    category: int = 0
    ua_class: int = 0
    timestamp_s: int = 0  # seconds since 2019-01-01T00:00:00Z


@dataclass(frozen=True)
class OperatorId:
    operator_id: str
    id_type: int = 0


Message = BasicId | Location | System | OperatorId


# -- field encodings ---------------------------------------------------------------------------------------------
def _nibble(value: int, name: str) -> int:
    if not 0 <= int(value) <= 15:
        raise RemoteIdError(f"{name} must be 0..15, got {value}")
    return int(value)


def _latlon_enc(value: float, limit: float, name: str) -> int:
    if not math.isfinite(value) or abs(value) > limit:
        raise RemoteIdError(f"{name} out of range: {value}")
    return round(value * 1e7)


def _alt_enc(alt_m: float) -> int:
    """Altitude: uint16, 0.5 m steps from -1000 m (0 = unknown)."""
    if not math.isfinite(alt_m):
        raise RemoteIdError(f"altitude is not finite: {alt_m}")
    return max(0, min(0xFFFF, round((alt_m + 1000.0) / 0.5)))


def _alt_dec(raw: int) -> float:
    return raw * 0.5 - 1000.0


def _ascii_field(text: str, size: int, name: str) -> bytes:
    raw = text.encode("ascii", errors="strict") if text.isascii() else None
    if raw is None:
        raise RemoteIdError(f"{name} must be ASCII")
    if len(raw) > size:
        raise RemoteIdError(f"{name} longer than {size} characters")
    return raw.ljust(size, b"\0")


def _ascii_dec(raw: bytes) -> str | None:
    text = raw.split(b"\0", 1)[0]
    if any(c < 0x20 or c > 0x7E for c in text):
        return None
    return text.decode("ascii")


def _speed_enc(speed: float) -> tuple[int, int]:
    """Horizontal speed: 0.25 m/s steps up to 63.75 m/s, then 0.75 m/s steps (multiplier flag) up to 254.25."""
    if not math.isfinite(speed) or speed < 0:
        raise RemoteIdError(f"speed must be >= 0, got {speed}")
    if speed >= SPEED_UNKNOWN:
        return 255, 1
    if speed <= 255 * 0.25:
        return min(255, round(speed / 0.25)), 0
    return min(254, round((speed - 255 * 0.25) / 0.75)), 1


def _speed_dec(raw: int, mult: int) -> float:
    if mult:
        return SPEED_UNKNOWN if raw == 255 else raw * 0.75 + 255 * 0.25
    return raw * 0.25


# -- encode ------------------------------------------------------------------------------------------------------
def _header(msg_type: int) -> int:
    return (msg_type << 4) | PROTOCOL_VERSION


def encode(msg: Message) -> bytes:
    """Pack one message into its 25 bytes; raises :class:`RemoteIdError` for a value that cannot be encoded."""
    if isinstance(msg, BasicId):
        body = bytes([_header(TYPE_BASIC_ID), (_nibble(msg.id_type, "id_type") << 4) | _nibble(msg.ua_type, "ua_type")])
        body += _ascii_field(msg.uas_id, 20, "uas_id")
    elif isinstance(msg, Location):
        direction = msg.direction_deg
        if not math.isfinite(direction) or not (0.0 <= direction < 360.0 or direction == DIRECTION_UNKNOWN):
            raise RemoteIdError(f"direction must be in [0, 360) or 361 (unknown), got {direction}")
        d = round(direction) % 360 if direction != DIRECTION_UNKNOWN else 361
        ew = 1 if d >= 180 else 0
        speed, mult = _speed_enc(msg.speed_mps)
        if not math.isfinite(msg.vspeed_mps):
            raise RemoteIdError("vertical speed is not finite")
        vs = max(-126, min(126, round(msg.vspeed_mps / 0.5)))
        if msg.height_type not in (0, 1):
            raise RemoteIdError(f"height_type must be 0 or 1, got {msg.height_type}")
        if not 0.0 <= msg.timestamp_s <= 3600.0:
            raise RemoteIdError(f"timestamp must be seconds after the hour (0..3600), got {msg.timestamp_s}")
        flags = (_nibble(msg.status, "status") << 4) | (msg.height_type << 2) | (ew << 1) | mult
        body = bytes([_header(TYPE_LOCATION), flags, d - 180 * ew, speed]) + struct.pack(
            "<biiHHHBBHB",
            vs,
            _latlon_enc(msg.lat, 90.0, "latitude"),
            _latlon_enc(msg.lon, 180.0, "longitude"),
            _alt_enc(msg.alt_baro_m),
            _alt_enc(msg.alt_geo_m),
            _alt_enc(msg.height_m),
            (_nibble(msg.v_accuracy, "v_accuracy") << 4) | _nibble(msg.h_accuracy, "h_accuracy"),
            (_nibble(msg.baro_accuracy, "baro_accuracy") << 4) | _nibble(msg.speed_accuracy, "speed_accuracy"),
            round(msg.timestamp_s * 10.0),
            _nibble(msg.ts_accuracy, "ts_accuracy"),
        )
    elif isinstance(msg, System):
        if not 0 <= msg.operator_location_type <= 3 or not 0 <= msg.classification_type <= 7:
            raise RemoteIdError("operator_location_type must be 0..3 and classification_type 0..7")
        if not 0 <= msg.area_count <= 0xFFFF or not 0 <= msg.area_radius_m <= 2550:
            raise RemoteIdError("area_count must be 0..65535 and area_radius_m 0..2550")
        if not 0 <= msg.timestamp_s <= 0xFFFFFFFF:
            raise RemoteIdError("timestamp_s must fit in 32 bits")
        body = bytes([_header(TYPE_SYSTEM), (msg.classification_type << 2) | msg.operator_location_type])
        body += struct.pack(
            "<iiHBHHBHI",
            _latlon_enc(msg.operator_lat, 90.0, "operator latitude"),
            _latlon_enc(msg.operator_lon, 180.0, "operator longitude"),
            msg.area_count,
            msg.area_radius_m // 10,
            _alt_enc(msg.area_ceiling_m),
            _alt_enc(msg.area_floor_m),
            (_nibble(msg.category, "category") << 4) | _nibble(msg.ua_class, "ua_class"),
            _alt_enc(msg.operator_alt_m),
            int(msg.timestamp_s),
        )
    elif isinstance(msg, OperatorId):
        if not 0 <= msg.id_type <= 255:
            raise RemoteIdError("operator id_type must be 0..255")
        body = bytes([_header(TYPE_OPERATOR_ID), msg.id_type]) + _ascii_field(msg.operator_id, 20, "operator_id")
    else:  # pragma: no cover - typing guards this
        raise RemoteIdError(f"not a Remote ID message: {type(msg).__name__}")
    return body.ljust(MESSAGE_SIZE, b"\0")


# -- decode ------------------------------------------------------------------------------------------------------
def decode_or_reason(frame: bytes) -> tuple[Message | None, str]:
    """Unpack one frame; returns ``(message, "")`` or ``(None, reason)`` for a frame that is dropped."""
    if not isinstance(frame, bytes | bytearray | memoryview) or len(frame) != MESSAGE_SIZE:
        return None, "length"
    b = bytes(frame)
    msg_type, version = b[0] >> 4, b[0] & 0x0F
    if version > PROTOCOL_VERSION:
        return None, "version"
    if msg_type == TYPE_BASIC_ID:
        uas = _ascii_dec(b[2:22])
        if uas is None or not uas:
            return None, "value"
        return BasicId(uas, b[1] >> 4, b[1] & 0x0F), ""
    if msg_type == TYPE_LOCATION:
        ew, mult = (b[1] >> 1) & 1, b[1] & 1
        vs, lat_i, lon_i, baro, geo, height, vh, bs, ts, tsa = struct.unpack("<biiHHHBBHB", b[4:24])
        lat, lon = lat_i * 1e-7, lon_i * 1e-7
        direction = b[2] + 180 * ew
        if abs(lat) > 90.0 or abs(lon) > 180.0 or (direction > 360 and direction != 361) or ts > 36000:
            return None, "value"
        return Location(
            lat=lat, lon=lon, alt_geo_m=_alt_dec(geo), alt_baro_m=_alt_dec(baro), height_m=_alt_dec(height),
            height_type=(b[1] >> 2) & 1, direction_deg=float(direction), speed_mps=_speed_dec(b[3], mult),
            vspeed_mps=vs * 0.5, status=b[1] >> 4, h_accuracy=vh & 0x0F, v_accuracy=vh >> 4,
            baro_accuracy=bs >> 4, speed_accuracy=bs & 0x0F, timestamp_s=ts / 10.0, ts_accuracy=tsa & 0x0F,
        ), ""
    if msg_type == TYPE_SYSTEM:
        lat_i, lon_i, count, radius, ceil, floor, cat, op_alt, ts = struct.unpack("<iiHBHHBHI", b[2:24])
        if abs(lat_i) > 900_000_000 or abs(lon_i) > 1_800_000_000:
            return None, "value"
        return System(
            operator_lat=lat_i * 1e-7, operator_lon=lon_i * 1e-7, operator_alt_m=_alt_dec(op_alt),
            operator_location_type=b[1] & 0x03, classification_type=(b[1] >> 2) & 0x07, area_count=count,
            area_radius_m=radius * 10, area_ceiling_m=_alt_dec(ceil), area_floor_m=_alt_dec(floor),
            category=cat >> 4, ua_class=cat & 0x0F, timestamp_s=ts,
        ), ""
    if msg_type == TYPE_OPERATOR_ID:
        op = _ascii_dec(b[2:22])
        if op is None:
            return None, "value"
        return OperatorId(op, b[1]), ""
    return None, "type"


def decode(frame: bytes) -> Message | None:
    """Unpack one frame, or ``None`` when it is malformed."""
    return decode_or_reason(frame)[0]


class RemoteIdDecoder:
    """Decodes a stream of frames and counts what it drops, by reason (length, version, type, value)."""

    def __init__(self) -> None:
        self.decoded = 0
        self.dropped: Counter[str] = Counter()

    def __call__(self, frame: bytes) -> Message | None:
        msg, reason = decode_or_reason(frame)
        if msg is None:
            self.dropped[reason] += 1
        else:
            self.decoded += 1
        return msg

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())
