"""Remote ID (ASTM F3411) and ADS-B (DF17) codecs: known vectors, round trips, malformed frames dropped and counted."""

from __future__ import annotations

import pyModeS
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyhive.airspace import adsb, remoteid
from skyhive.airspace.remoteid import BasicId, Location, OperatorId, RemoteIdDecoder, RemoteIdError, System

# Vectors written byte by byte from the F3411-22a field layout (not produced by our encoder).
BASIC_ID_HEX = "02" "12" + "534B59313233".ljust(40, "0") + "000000"  # serial number, multirotor, "SKY123"
LOCATION_HEX = (
    "12"  # type 1, version 2
    "22"  # status 2 (airborne), height type 0, E/W bit 1, speed multiplier 0
    "5A"  # direction 270 = 180 + 90
    "28"  # speed 10 m/s / 0.25
    "FD"  # vertical speed -1.5 m/s / 0.5 = -3
    "0092FE1E"  # latitude 52.0 * 1e7 LE
    "40A5AE02"  # longitude 4.5 * 1e7 LE
    "0000"  # pressure altitude unknown (-1000 m)
    "AC08"  # geodetic altitude 110 m -> (110 + 1000) / 0.5 = 2220
    "3408"  # height 50 m -> 2100
    "4A"  # vertical accuracy 4, horizontal accuracy 10
    "03"  # baro accuracy 0, speed accuracy 3
    "3930"  # timestamp 1234.5 s after the hour -> 12345
    "00" "00"
)
OPERATOR_HEX = "52" "00" + "46494E3837617374726462".ljust(40, "0") + "000000"  # "FIN87astrdb"
SYSTEM_HEX = (
    "42"  # type 4, version 2
    "05"  # classification 1 (EU), operator location type 1 (live GNSS)
    "A018001F"  # operator latitude 52.01 * 1e7 = 520100000 = 0x1F0018A0
    "40A5AE02"  # operator longitude 4.5
    "0100"  # area count 1
    "0A"  # area radius 100 m / 10
    "D007"  # area ceiling 0 m -> 2000
    "0000"  # area floor unknown
    "12"  # category 1, class 2
    "A807"  # operator altitude -20 m -> 1960 = 0x07A8
    "10270000"  # timestamp 10000 s after 2019-01-01
    "00"
)


def test_known_vectors_decode_and_encode() -> None:
    loc = Location(lat=52.0, lon=4.5, alt_geo_m=110.0, height_m=50.0, direction_deg=270.0, speed_mps=10.0,
                   vspeed_mps=-1.5, status=2, h_accuracy=10, v_accuracy=4, speed_accuracy=3, timestamp_s=1234.5)
    sysm = System(operator_lat=52.01, operator_lon=4.5, operator_alt_m=-20.0, operator_location_type=1,
                  classification_type=1, area_count=1, area_radius_m=100, area_ceiling_m=0.0, category=1,
                  ua_class=2, timestamp_s=10000)
    cases: list[tuple[str, BasicId | Location | System | OperatorId]] = [
        (BASIC_ID_HEX, BasicId("SKY123", 1, 2)), (LOCATION_HEX, loc), (SYSTEM_HEX, sysm),
        (OPERATOR_HEX, OperatorId("FIN87astrdb"))]
    for hexstr, msg in cases:
        frame = bytes.fromhex(hexstr)
        assert len(frame) == 25
        assert remoteid.encode(msg).hex().upper() == hexstr.upper()
        assert remoteid.decode(frame) == msg


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180), alt=st.floats(-999, 30000), speed=st.floats(0, 254),
       direction=st.floats(0, 359.4), vs=st.floats(-62, 62), ts=st.floats(0, 3599.9))
def test_location_round_trip_within_resolution(lat: float, lon: float, alt: float, speed: float, direction: float,
                                               vs: float, ts: float) -> None:
    msg = Location(lat=lat, lon=lon, alt_geo_m=alt, speed_mps=speed, direction_deg=direction, vspeed_mps=vs,
                   timestamp_s=ts)
    out = remoteid.decode(remoteid.encode(msg))
    assert isinstance(out, Location)
    assert abs(out.lat - lat) <= 0.6e-7 and abs(out.lon - lon) <= 0.6e-7
    assert abs(out.alt_geo_m - alt) <= 0.25 + 1e-9
    assert abs(out.speed_mps - speed) <= (0.125 if speed <= 63.75 else 0.375) + 1e-6
    assert abs((out.direction_deg - direction + 180) % 360 - 180) <= 0.5 + 1e-9
    assert abs(out.vspeed_mps - vs) <= 0.25 + 1e-9
    assert abs(out.timestamp_s - ts) <= 0.05 + 1e-9


def test_round_trip_ids_and_system() -> None:
    for msg in (BasicId("1596A12345678901234X", 1, 2), OperatorId("OP-1", 0),
                System(operator_lat=-33.9, operator_lon=151.2, operator_alt_m=12.5, timestamp_s=123456789)):
        assert remoteid.decode(remoteid.encode(msg)) == msg


def test_unknown_values_survive() -> None:
    out = remoteid.decode(remoteid.encode(Location(lat=1.0, lon=2.0)))
    assert isinstance(out, Location)
    assert out.speed_mps == remoteid.SPEED_UNKNOWN
    assert out.direction_deg == remoteid.DIRECTION_UNKNOWN
    assert out.alt_geo_m == remoteid.ALT_UNKNOWN


def test_malformed_remote_id_dropped_and_counted() -> None:
    dec = RemoteIdDecoder()
    good = bytes.fromhex(LOCATION_HEX)
    bad_lat = bytearray(good)
    bad_lat[5:9] = (1_000_000_000).to_bytes(4, "little")  # 100 degrees
    bad_dir = bytearray(good)
    bad_dir[2] = 250  # 180 + 250 = 430 degrees
    frames: list[bytes] = [good[:24], good + b"\0", bytes([0x32]) + good[1:], bytes([0x1F]) + good[1:],
                           bytes(bad_lat), bytes(bad_dir), bytes.fromhex(BASIC_ID_HEX)[:2] + b"\xff" * 23, good]
    results = [dec(f) for f in frames]
    assert results[:-1] == [None] * 7 and isinstance(results[-1], Location)
    assert dec.decoded == 1 and dec.dropped_total == 7
    assert dec.dropped == {"length": 2, "type": 1, "version": 1, "value": 3}


def test_encode_rejects_impossible_values() -> None:
    with pytest.raises(RemoteIdError):
        remoteid.encode(Location(lat=91.0, lon=0.0))
    with pytest.raises(RemoteIdError):
        remoteid.encode(Location(lat=0.0, lon=0.0, direction_deg=400.0))
    with pytest.raises(RemoteIdError):
        remoteid.encode(BasicId("x" * 21))
    with pytest.raises(RemoteIdError):
        remoteid.encode(Location(lat=0.0, lon=0.0, status=16))


# -- ADS-B ---------------------------------------------------------------------------------------------------------
def test_adsb_known_vectors() -> None:
    # Worked examples from Sun, "The 1090 Megahertz Riddle" (identification; airborne position, even frame).
    assert adsb.identification(0x406B90, "EZY85MH", category=0) == "8D406B902015A678D4D220AA4BDA"
    assert adsb.airborne_position(0x40621D, 52.2572, 3.91937, 38000, odd=0) == "8D40621D58C382D690C8AC2863A7"
    assert adsb.crc24(int("8D406B902015A678D4D220", 16)) == 0xAA4BDA


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-80, 80), lon=st.floats(-179, 179), alt=st.integers(-1000, 40000), odd=st.integers(0, 1))
def test_adsb_position_round_trip_with_pymodes(lat: float, lon: float, alt: int, odd: int) -> None:
    frame = adsb.airborne_position(0xA1B2C3, lat, lon, alt, odd)
    d = pyModeS.decode(frame, reference=(lat + 0.3, lon - 0.3))
    assert d["crc_valid"] and d["icao"] == "A1B2C3" and d["typecode"] == 11
    assert abs(d["altitude"] - alt) <= 12.5
    assert abs(d["latitude"] - lat) < 1e-3 and abs((d["longitude"] - lon + 180) % 360 - 180) < 1e-3


def test_adsb_velocity_and_callsign_with_pymodes() -> None:
    d = pyModeS.decode(adsb.airborne_velocity(0xABCDEF, 100.0, -50.0, -5.0))
    assert d["groundspeed"] == pytest.approx(217, abs=1)
    assert d["track"] == pytest.approx(116.57, abs=0.5)
    assert d["vertical_rate"] == -960
    dec = adsb.AdsbDecoder(47.0, 8.0)
    rep = dec(adsb.identification(0x3C6586, "DLH4AB"))
    assert rep is not None and rep.callsign == "DLH4AB"


def test_adsb_malformed_dropped_and_counted() -> None:
    dec = adsb.AdsbDecoder(52.0, 4.0)
    good = adsb.airborne_position(0x40621D, 52.2572, 3.91937, 38000, odd=0)
    flipped = good[:10] + ("0" if good[10] != "0" else "1") + good[11:]
    out = [dec(good[:-2]), dec(flipped), dec("ZZ" + good[2:]), dec("5D" + good[2:]), dec(good)]
    assert out[:4] == [None] * 4 and out[4] is not None
    assert out[4].lat == pytest.approx(52.2572, abs=1e-4)
    assert dec.dropped_total == 4 and dec.dropped["crc"] >= 1 and dec.dropped["length"] == 1
    with pytest.raises(adsb.AdsbError):
        adsb.airborne_position(0x1, 95.0, 0.0, 1000, 0)
