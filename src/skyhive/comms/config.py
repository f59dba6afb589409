"""Scenario sections of the radio model: radio profiles, ground stations, comms settings, faults, traffic.

Units are in the field names (``_dbm``, ``_db``, ``_hz``, ``_Bps`` = bytes per second, ``_m``, ``_s``).
The defaults describe a small 2.4 GHz ISM-band data link (20 dBm, 2 dBi, 2 Mbit/s) in free space; the
model and its sources are in docs/comms.md.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from skyhive.scenario.base import CheckInput, Problem, Section, parse_section

C_MPS = 299_792_458.0


def fspl_db(distance_m: float, frequency_hz: float) -> float:
    """Free-space path loss (Friis) in dB at ``distance_m``."""
    return 20.0 * math.log10(4.0 * math.pi * distance_m * frequency_hz / C_MPS)


class GilbertElliott(Section):
    """Two-state bursty loss per link (Gilbert 1960, Elliott 1963), in continuous time.

    Each link is Good or Bad; it leaves Good after an exponential time of mean ``mean_good_s`` and Bad after
    ``mean_bad_s``.  A packet is lost with ``loss_good`` / ``loss_bad`` on top of the SNR-based error rate.
    """

    mean_good_s: float = Field(10.0, gt=0.0, le=1e6)
    mean_bad_s: float = Field(1.0, gt=0.0, le=1e6)
    loss_good: float = Field(0.0, ge=0.0, le=1.0)
    loss_bad: float = Field(1.0, ge=0.0, le=1.0)


class RadioProfile(Section):
    """One node's radio: link budget, modulation, data rate and a hard range cap."""

    frequency_hz: float = Field(2.4e9, ge=1e6, le=1e11, description="carrier frequency")
    tx_power_dbm: float = Field(20.0, ge=-40.0, le=60.0, description="transmit power")
    antenna_gain_dbi: float = Field(2.0, ge=-20.0, le=40.0, description="antenna gain (tx and rx)")
    rx_sensitivity_dbm: float = Field(-92.0, ge=-150.0, le=0.0, description="weakest decodable signal")
    noise_floor_dbm: float = Field(-98.0, ge=-180.0, le=0.0, description="noise power in the channel bandwidth")
    modulation: Literal["bpsk", "dbpsk", "ncfsk"] = Field("bpsk", description="sets the BER(Eb/N0) curve")
    bandwidth_hz: float = Field(2e6, gt=0.0, le=1e10, description="noise bandwidth; Eb/N0 = SNR * B / bit rate")
    data_rate_Bps: float = Field(250_000.0, gt=0.0, le=1e10, description="link data rate, bytes/s")
    max_range_m: float = Field(2000.0, gt=0.0, le=1e6, description="hard cap: no link beyond this distance")
    path_loss_exponent: float = Field(2.0, ge=1.5, le=6.0, description="log-distance exponent (2 = free space)")
    shadowing_sigma_db: float = Field(0.0, ge=0.0, le=20.0, description="log-normal shadowing std-dev")
    gilbert_elliott: GilbertElliott | None = None

    @model_validator(mode="after")
    def _link_possible(self) -> RadioProfile:
        best = self.tx_power_dbm + 2.0 * self.antenna_gain_dbi - fspl_db(1.0, self.frequency_hz)
        if best < self.rx_sensitivity_dbm:
            raise ValueError(
                f"no link is possible: even at 1 m the received power ({best:.1f} dBm) is below "
                f"rx_sensitivity_dbm ({self.rx_sensitivity_dbm} dBm)")
        if self.rx_sensitivity_dbm < self.noise_floor_dbm - 30.0:
            raise ValueError(f"rx_sensitivity_dbm ({self.rx_sensitivity_dbm}) is more than 30 dB below "
                             f"noise_floor_dbm ({self.noise_floor_dbm}); no receiver decodes that")
        return self


class GroundStation(Section):
    """A fixed radio node (operator station, relay mast)."""

    name: str = Field(min_length=1)
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    alt_m: float = Field(0.0, ge=-500.0, le=20000.0, description="ground height above the origin altitude")
    antenna_height_m: float = Field(10.0, ge=0.0, le=1000.0, description="antenna above the ground")
    radio: RadioProfile = Field(default_factory=RadioProfile)


class NodeSet(Section):
    """A set of nodes: some drones of a fleet, ground stations or manned vehicles by name."""

    fleet: str | None = None
    drones: list[Annotated[int, Field(ge=0)]] | None = Field(None, description="indices in the fleet (all if omitted)")
    ground_stations: list[str] = Field(default_factory=list)
    manned: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> NodeSet:
        if self.drones is not None and self.fleet is None:
            raise ValueError("drones needs a fleet")
        if self.fleet is None and not self.ground_stations and not self.manned:
            raise ValueError("select at least one of fleet, ground_stations, manned")
        return self


class _Window(Section):
    at_s: float = Field(ge=0.0, description="start")
    until_s: float | None = Field(None, gt=0.0, description="end (never, if omitted)")

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.until_s is not None and self.until_s <= self.at_s:
            raise ValueError(f"until_s ({self.until_s}) must be after at_s ({self.at_s})")
        return self


class NodeFailure(_Window):
    """Radios of these nodes are off: they neither send nor receive; messages in flight to them are dropped."""

    type: Literal["node_failure"]
    nodes: list[NodeSet] = Field(min_length=1)


class SilentZone(_Window):
    """Inside this polygon (GeoJSON ring of [lon, lat]) between floor and ceiling, every link fails."""

    type: Literal["silent_zone"]
    name: str = "silent-zone"
    polygon: dict[str, Any] | list[list[float]]
    floor_m: float = Field(-500.0, ge=-500.0, le=20000.0)
    ceiling_m: float = Field(20000.0, ge=-500.0, le=20000.0)

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, value: dict[str, Any] | list[list[float]]) -> dict[str, Any] | list[list[float]]:
        from skyhive.geo.fences import polygon_from_geojson

        polygon_from_geojson(value)
        return value


class Partition(_Window):
    """No link between a node of group ``a`` and a node of group ``b`` (links inside each group work)."""

    type: Literal["partition"]
    a: list[NodeSet] = Field(min_length=1)
    b: list[NodeSet] = Field(min_length=1)


class Degraded(_Window):
    """These nodes' radios lose ``loss_db`` on transmit and on receive (damage, icing, interference)."""

    type: Literal["degraded"]
    nodes: list[NodeSet] = Field(min_length=1)
    loss_db: float = Field(gt=0.0, le=200.0)


Fault = Annotated[NodeFailure | SilentZone | Partition | Degraded, Field(discriminator="type")]


class Traffic(Section):
    """Built-in senders, so a scenario shows the mesh without autonomy code.

    Drones broadcast a ``state`` message at ``state_hz``; every ground station floods a ``ping`` at
    ``ping_hz`` with ``ping_ttl`` hops.  Zero turns a sender off.
    """

    state_hz: float = Field(0.0, ge=0.0, le=100.0)
    state_bytes: int = Field(64, gt=0, le=65_535)
    ping_hz: float = Field(0.0, ge=0.0, le=100.0)
    ping_bytes: int = Field(32, gt=0, le=65_535)
    ping_ttl: int = Field(32, ge=1, le=1000)


class Comms(Section):
    """Mesh radio settings shared by every node."""

    queue_bytes: int = Field(16_384, gt=0, le=1 << 30, description="transmit queue per node; overflow is dropped")
    processing_delay_s: float = Field(0.001, ge=0.0, le=10.0, description="per hop, receive to forward")
    header_bytes: int = Field(16, ge=0, le=4096, description="added to every message's airtime and error rate")
    max_payload_bytes: int = Field(4096, gt=0, le=1 << 20, description="larger messages are refused")
    record_hz: float = Field(0.2, ge=0.0, le=10.0, description="link-graph snapshots per second in the log")
    record_max_links: int = Field(20_000, ge=0, le=10_000_000, description="cap on links drawn per snapshot")
    faults: list[Fault] = Field(default_factory=list)
    traffic: Traffic = Field(default_factory=Traffic)


def cross_checks(inp: CheckInput) -> list[Problem]:
    """Names used by comms faults must exist; ground-station names must be unique (problems with field paths)."""
    data = inp.data
    problems: list[Problem] = []
    counts = {f.name: f.count for _, f in inp.fleets}
    raw_fleets = data.get("fleets")
    fleet_names = {f.get("name") for f in raw_fleets if isinstance(f, dict)} if isinstance(raw_fleets, list) \
        else set()
    raw_gs = data.get("ground_stations")
    gs_names: list[str] = []
    for k, raw in enumerate(raw_gs if isinstance(raw_gs, list) else []):
        gs = parse_section(GroundStation, raw)
        if gs is not None:
            if gs.name in gs_names:
                problems.append(Problem(f"ground_stations.{k}.name", f"ground station {gs.name!r} is used twice"))
            gs_names.append(gs.name)
    raw_manned = data.get("manned")
    manned_names = {m.get("name") for m in raw_manned if isinstance(m, dict)} if isinstance(raw_manned, list) \
        else set()
    comms = data.get("comms")
    faults = comms.get("faults") if isinstance(comms, dict) else None
    models: dict[str, type[Section]] = {"node_failure": NodeFailure, "silent_zone": SilentZone,
                                        "partition": Partition, "degraded": Degraded}
    for k, raw in enumerate(faults if isinstance(faults, list) else []):
        if not isinstance(raw, dict) or str(raw.get("type")) not in models:
            continue
        fault = parse_section(models[str(raw["type"])], raw)
        if fault is None:
            continue
        groups: list[tuple[str, list[NodeSet]]] = []
        if isinstance(fault, NodeFailure | Degraded):
            groups.append(("nodes", fault.nodes))
        elif isinstance(fault, Partition):
            groups += [("a", fault.a), ("b", fault.b)]
        for key, sets in groups:
            for s, ns in enumerate(sets):
                where = f"comms.faults.{k}.{key}.{s}"
                if ns.fleet is not None and fleet_names:
                    if ns.fleet not in fleet_names:
                        problems.append(Problem(f"{where}.fleet", f"no fleet named {ns.fleet!r}"))
                    elif ns.fleet in counts and ns.drones and max(ns.drones) >= counts[ns.fleet]:
                        problems.append(Problem(f"{where}.drones", f"index {max(ns.drones)} is beyond fleet "
                                                                  f"{ns.fleet!r} of {counts[ns.fleet]} drones"))
                problems += [Problem(f"{where}.ground_stations", f"no ground station named {n!r}")
                             for n in ns.ground_stations if n not in gs_names]
                problems += [Problem(f"{where}.manned", f"no manned vehicle named {n!r}")
                             for n in ns.manned if n not in manned_names]
    return problems


CROSS_CHECKS = (cross_checks,)
# the fault types: pydantic puts the chosen union member into error locations, where users never wrote them
UNION_TAGS = frozenset({"node_failure", "silent_zone", "partition", "degraded"})
