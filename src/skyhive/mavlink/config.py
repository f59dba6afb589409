"""Scenario section for external vehicles: ``fleets[k].external`` (flown by ``skyhive fly``, docs/vehicles.md).

A fleet with an ``external`` section is not simulated: each of its drones is a real PX4 or ArduPilot vehicle (or
its software-in-the-loop simulator) reached over one MAVLink connection, written the way pymavlink and MAVSDK
users write them::

    fleets:
      - name: field
        count: 2
        launch: {sites: [{lat: 47.3769, lon: 8.5417}]}
        external:
          endpoints: ["udpin:0.0.0.0:14550", {url: "udpout:10.0.0.7:14540", sysid: 2}]
          signing_key: "passphrase:correct horse battery staple"

This module imports only the bottom layer (``scenario.base``) so the scenario model can use it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from skyhive.scenario.base import CheckInput, Problem, Section

# udpin:HOST:PORT (listen), udpout:HOST:PORT (send first), udp: = udpin (pymavlink), tcp:HOST:PORT (connect),
# tcpin:HOST:PORT (listen); a serial device as /dev/ttyUSB0, /dev/ttyUSB0:57600, /dev/ttyUSB0,57600 or COM3:57600
_NET = re.compile(r"^(udpin|udpout|udp|tcp|tcpin):(?P<host>[A-Za-z0-9._-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")
_SERIAL = re.compile(r"^(?P<dev>/dev/[A-Za-z0-9._/-]+|COM\d{1,3})(?:[:,](?P<baud>\d{3,7}))?$")
BAUDS = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 921600, 1000000, 1500000,
         2000000, 3000000}


def check_url(url: str) -> str:
    """The connection string if it is one pymavlink can open, else ValueError saying what is wrong."""
    url = url.strip()
    net = _NET.match(url)
    if net is not None:
        port = int(net.group("port"))
        if not 0 < port < 65536:
            raise ValueError(f"{url!r}: port {port} is outside 1-65535")
        return url
    serial = _SERIAL.match(url)
    if serial is not None:
        baud = serial.group("baud")
        if baud is not None and int(baud) not in BAUDS:
            raise ValueError(f"{url!r}: {baud} is not a standard baud rate")
        return url
    raise ValueError(f"{url!r} is not a MAVLink connection string: use udpin:HOST:PORT, udpout:HOST:PORT, "
                     "tcp:HOST:PORT or a serial device such as /dev/ttyUSB0:57600")


def pymavlink_url(url: str) -> tuple[str, int | None]:
    """(device for ``mavutil.mavlink_connection``, baud or None): serial ``DEV:BAUD`` split, network as is."""
    serial = _SERIAL.match(url.strip())
    if serial is not None:
        baud = serial.group("baud")
        return serial.group("dev"), int(baud) if baud else None
    return url.strip(), None


class Endpoint(Section):
    """One vehicle's MAVLink connection; ``sysid`` picks one vehicle where several share a link (default: the
    first vehicle heard)."""

    url: str = Field(description="udpin:HOST:PORT, udpout:HOST:PORT, tcp:HOST:PORT or /dev/ttyX[:BAUD]")
    sysid: int | None = Field(None, ge=1, le=255, description="the vehicle's MAVLink system id")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


class ExternalFleet(Section):
    """A fleet of real vehicles flown through MAVLink as a ground station (``skyhive fly``)."""

    endpoints: list[Endpoint] = Field(min_length=1, max_length=1000, description="one connection per vehicle")
    signing_key: str | None = Field(None, description="MAVLink 2 signing key: 64 hex digits or passphrase:TEXT")
    connect_timeout_s: float = Field(10.0, gt=0.0, le=600.0,
                                     description="warn and fly on without a vehicle not heard by then")
    link_loss_s: float = Field(1.0, gt=0.0, le=60.0, description="a vehicle not heard this long is marked lost")
    takeoff_alt_m: float = Field(10.0, ge=1.0, le=500.0, description="take-off height above the vehicle's home")
    setpoint_hz: float = Field(10.0, ge=2.0, le=50.0, description="velocity setpoint rate (PX4 needs > 2 Hz)")
    command_timeout_s: float = Field(1.5, gt=0.0, le=30.0, description="resend a COMMAND_LONG unanswered this long")
    source_system: int = Field(255, ge=1, le=255, description="skyhive's MAVLink system id as a ground station")

    @field_validator("endpoints", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("signing_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if text.startswith("passphrase:") and len(text) > len("passphrase:"):
            return value
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            return value
        raise ValueError("a signing key is 64 hex digits or 'passphrase:TEXT'")


def cross_checks(inp: CheckInput) -> list[Problem]:
    """An external fleet's ``count`` equals its number of endpoints; no endpoint used twice; no scenario route."""
    out: list[Problem] = []
    fleets = inp.data.get("fleets")
    seen: dict[tuple[str, int | None], str] = {}
    for k, f in enumerate(fleets if isinstance(fleets, list) else []):
        if not isinstance(f, dict) or not isinstance(f.get("external"), dict):
            continue
        try:
            ext = ExternalFleet.model_validate(f["external"])
        except ValueError:
            continue  # reported by the fleet's own validation
        count = f.get("count")
        if isinstance(count, int) and count != len(ext.endpoints):
            out.append(Problem(f"fleets.{k}.count", f"external fleet {f.get('name')!r} has {len(ext.endpoints)} "
                                                    f"endpoint(s) but count {count}: one endpoint per vehicle"))
        if f.get("route") is not None:
            out.append(Problem(f"fleets.{k}.route", "an external fleet takes missions, not a scenario route"))
        for e, ep in enumerate(ext.endpoints):
            key = (ep.url, ep.sysid)
            where = f"fleets.{k}.external.endpoints.{e}"
            if key in seen:
                out.append(Problem(where, f"{ep.url} (sysid {ep.sysid}) is already used by {seen[key]}"))
            seen[key] = where
    return out


CROSS_CHECKS = (cross_checks,)
