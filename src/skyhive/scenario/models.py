"""The scenario file schema (pydantic v2): every section, its units and its limits.

Field names carry their unit (``_m``, ``_mps``, ``_s``, ``_w``, ``_wh``); the
three top-level timing fields named by the issue (``duration``, ``dt``) are in
seconds.  Geographic input is WGS84: ``lat``/``lon`` in degrees, ``alt`` in
metres above the ellipsoid for the origin, and ``alt_m`` relative to the origin
altitude (i.e. local "up") everywhere else.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from skyhive.airspace.config import Intruder, ProtectedZone, Sensor
from skyhive.autonomy.config import Capability, MissionSettings, TaskSpec
from skyhive.comms.config import Comms, GroundStation, RadioProfile
from skyhive.scenario.base import PolygonPrism, Section

SCHEMA_VERSION = 1

Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="latitude, degrees WGS84")]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="longitude, degrees WGS84")]


class Origin(Section):
    """The local ENU frame's origin; local 'up' is 0 at ``alt``."""

    lat: Lat
    lon: Lon
    alt: float = Field(0.0, ge=-500.0, le=9000.0, description="metres above the WGS84 ellipsoid")


class Point(Section):
    """A geographic point with a height above the origin's altitude."""

    lat: Lat
    lon: Lon
    alt_m: float = Field(0.0, ge=-500.0, le=20000.0, description="metres above the origin altitude")


class Gusts(Section):
    """Turbulence: a first-order Gauss-Markov approximation of the Dryden spectrum.

    Each component is an Ornstein-Uhlenbeck process with standard deviation
    ``sigma`` and correlation time ``length_scale_m / max(mean wind, 1 m/s)``
    (Taylor's frozen-turbulence hypothesis), sampled on a horizontal grid of
    spacing ``length_scale_m`` and interpolated bilinearly, so nearby drones
    feel correlated gusts and distant ones independent gusts.
    """

    model: Literal["dryden"] = "dryden"
    sigma_mps: float = Field(1.0, ge=0.0, le=20.0, description="horizontal gust standard deviation")
    sigma_vertical_mps: float = Field(0.3, ge=0.0, le=10.0)
    length_scale_m: float = Field(200.0, gt=1.0, le=5000.0)


class Wind(Section):
    """Steady wind (meteorological: the direction it blows FROM) plus optional gusts."""

    speed_mps: float = Field(0.0, ge=0.0, le=40.0)
    from_deg: float = Field(0.0, ge=0.0, lt=360.0, description="direction the wind comes from, deg true")
    gusts: Gusts | None = None

    def steady_enu(self) -> tuple[float, float, float]:
        to = math.radians(self.from_deg + 180.0)
        return (self.speed_mps * math.sin(to), self.speed_mps * math.cos(to), 0.0)


class Geofence(PolygonPrism):
    """A keep-in or keep-out prism: a GeoJSON polygon ([lon, lat] positions) with floor and ceiling."""

    kind: Literal["keep_in", "keep_out"]
    active: bool = True


class PlanImport(Section):
    """Geofences taken from a QGroundControl ``.plan`` file (its ``geoFence`` section)."""

    path: str
    floor_m: float = Field(0.0, ge=-500.0, le=20000.0)
    ceiling_m: float = Field(120.0, ge=-500.0, le=20000.0)


class Airspace(Section):
    geofences: list[Geofence] = Field(default_factory=list)
    import_plan: PlanImport | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> Airspace:
        names = [g.name for g in self.geofences]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"geofence names must be unique; repeated: {', '.join(dupes)}")
        return self


class Launch(Section):
    """Where a fleet starts: one or more sites, drones laid out around each."""

    sites: list[Point] = Field(min_length=1)
    layout: Literal["grid", "circle", "line"] = "grid"
    spacing_m: float | None = Field(None, gt=0.5, le=1000.0, description="distance between neighbouring pads "
                                    "(default 1.5 x safety.separation_m; never below separation_m)")


class VehicleLimits(Section):
    """Multirotor performance limits (point-mass model with first-order velocity response)."""

    max_speed_mps: float = Field(15.0, gt=0.0, le=60.0, description="maximum horizontal airspeed")
    climb_rate_mps: float = Field(5.0, gt=0.0, le=30.0)
    descent_rate_mps: float = Field(3.0, gt=0.0, le=30.0)
    max_accel_mps2: float = Field(4.0, gt=0.0, le=50.0)
    response_time_s: float = Field(0.5, gt=0.0, le=10.0, description="velocity-loop time constant")


class Battery(Section):
    """Energy model: P = hover + drag_coef * |v_air|^3 + climb_coef * climb_rate (W).

    Defaults fit a ~1.5 kg quadrotor: 25 min hover on 100 Wh.
    """

    capacity_wh: float = Field(100.0, gt=0.0, le=100000.0)
    hover_power_w: float = Field(240.0, gt=0.0, le=100000.0)
    drag_power_coef: float = Field(0.03, ge=0.0, le=100.0, description="W per (m/s)^3 of airspeed")
    climb_power_coef: float = Field(15.0, ge=0.0, le=1000.0, description="W per m/s of climb")
    reserve_frac: float = Field(0.2, ge=0.0, lt=1.0, description="return to launch at this state of charge")
    initial_frac: float = Field(1.0, gt=0.0, le=1.0)


class Route(Section):
    """The built-in behaviour: fly these waypoints, each drone offset by its launch-layout slot."""

    waypoints: list[Point] = Field(min_length=1)
    speed_mps: float | None = Field(None, gt=0.0, le=60.0, description="cruise speed (default: max)")
    keep_layout: bool = Field(True, description="offset each drone's waypoints by its launch slot")
    on_complete: Literal["hold", "land", "return"] = "hold"
    loop: bool = False


class Fleet(Section):
    name: str = Field(min_length=1)
    count: int = Field(gt=0, le=10_000_000)
    launch: Launch
    vehicle: VehicleLimits = Field(default_factory=VehicleLimits)
    battery: Battery = Field(default_factory=Battery)
    radio: RadioProfile = Field(default_factory=RadioProfile, description="radio profile (docs/comms.md)")
    capabilities: list[Capability] = Field(
        default_factory=list, description="what the drones carry; a task that `requires` one goes only to them")
    route: Route | None = None


class Manned(Section):
    """A manned vehicle on a fixed route; aircraft broadcast ADS-B and have a well-clear volume."""

    name: str = Field(min_length=1)
    kind: Literal["aircraft", "ground"] = "aircraft"
    speed_mps: float = Field(gt=0.0, le=350.0)
    route: list[Point] = Field(min_length=2)
    loop: bool = True
    radio: RadioProfile = Field(default_factory=RadioProfile, description="radio profile (docs/comms.md)")


class WellClear(Section):
    """Manned-aircraft well-clear volume; defaults after ASTM F3442/F3442M (2,000 ft / 250 ft)."""

    horizontal_m: float = Field(609.6, gt=0.0, le=20000.0)
    vertical_m: float = Field(76.2, gt=0.0, le=3000.0)


class Safety(Section):
    """Parameters of the safety filter between intent and command."""

    separation_m: float = Field(10.0, gt=0.0, le=1000.0, description="minimum drone-to-drone distance")
    horizon_s: float = Field(2.0, gt=0.0, le=60.0, description="barrier time constant (1/gamma)")
    geofence_margin_m: float = Field(5.0, ge=0.0, le=1000.0)
    well_clear: WellClear = Field(default_factory=WellClear)


class DroneFailure(Section):
    type: Literal["drone_failure"]
    at_s: float = Field(ge=0.0)
    fleet: str
    drones: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, description="indices within the fleet")


class RandomFailures(Section):
    type: Literal["random_failures"]
    rate_per_hour: float = Field(gt=0.0, le=3600.0, description="per drone per flight hour")
    fleet: str | None = Field(None, description="all fleets when omitted")


class GeofenceSwitch(Section):
    type: Literal["geofence"]
    at_s: float = Field(ge=0.0)
    name: str
    active: bool


Event = Annotated[DroneFailure | RandomFailures | GeofenceSwitch, Field(discriminator="type")]


class Record(Section):
    rate_hz: float = Field(1.0, gt=0.0, le=100.0, description="drone-position frames per second in the log")


class Scenario(Section):
    """A whole skyhive scenario file."""

    schema_version: Literal[1]
    name: str = "unnamed"
    description: str = ""
    origin: Origin
    duration: float = Field(gt=0.0, le=30 * 86400.0, description="seconds")
    dt: float = Field(0.1, gt=0.0, le=1.0, description="tick length, seconds")
    seed: int = Field(0, ge=0, lt=2**63)
    wind: Wind = Field(default_factory=Wind)
    airspace: Airspace = Field(default_factory=Airspace)
    fleets: list[Fleet] = Field(min_length=1)
    manned: list[Manned] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    safety: Safety = Field(default_factory=Safety)
    record: Record = Field(default_factory=Record)
    ground_stations: list[GroundStation] = Field(default_factory=list)
    comms: Comms | None = None
    tasks: list[TaskSpec] = Field(default_factory=list)
    intruders: list[Intruder] = Field(default_factory=list)
    sensors: list[Sensor] = Field(default_factory=list)
    protected_zones: list[ProtectedZone] = Field(default_factory=list)
    mission: MissionSettings | None = None

    @property
    def n_drones(self) -> int:
        return sum(f.count for f in self.fleets)
