"""Scenario sections of the airspace concern: ``intruders``, ``sensors``, ``protected_zones``.

Units are in the field names.  Each sensor model and its defaults are described in docs/airspace.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

# The scenario's ``tracker`` section is the tracker's own settings dataclass (one set of defaults, in
# skyhive.airspace.tracker); pydantic validates it field by field (unknown fields are errors) and runs its checks.
from skyhive.airspace.tracker import TrackerConfig as TrackerConfig
from skyhive.scenario.base import CheckInput, Point, PolygonPrism, Problem, Section


class RemoteIdBroadcast(Section):
    """An intruder that broadcasts ASTM F3411 Remote ID (Basic ID, Location/Vector, System, Operator ID)."""

    uas_id: str = Field(min_length=1, max_length=20, pattern=r"^[\x20-\x7E]+$")
    operator_id: str = Field("", max_length=20, pattern=r"^[\x20-\x7E]*$")
    operator: Point | None = Field(None, description="remote pilot position (default: the intruder's start)")
    rate_hz: float = Field(1.0, gt=0.0, le=10.0, description="Location/Vector messages per second")
    claimed_offset_m: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0),
        description="test input for the identification: the broadcast claims a position this far (ENU) from the "
                    "truth, as a faulty or dishonest transmitter would; skyhive only detects the disagreement")


class Intruder(Section):
    """A drone that is not part of the swarm."""

    name: str = Field(min_length=1)
    behaviour: Literal["transit", "loiter", "approach", "hover"]
    start: Point
    waypoints: list[Point] = Field(default_factory=list, description="transit: the route after start")
    zone: str | None = Field(None, description="approach: the protected zone flown towards")
    speed_mps: float = Field(10.0, gt=0.0, le=60.0)
    loiter_radius_m: float = Field(150.0, gt=1.0, le=10000.0)
    appear_s: float = Field(0.0, ge=0.0, description="when it takes off (before that it is not in the air)")
    rcs_m2: float = Field(0.01, gt=0.0, le=100.0, description="radar cross-section (small multirotor ~0.01)")
    emitting: bool = Field(True, description="its control/video link can be heard by RF direction finders")
    remote_id: RemoteIdBroadcast | None = None

    @model_validator(mode="after")
    def _behaviour_needs(self) -> Intruder:
        if self.behaviour == "transit" and not self.waypoints:
            raise ValueError("a transit intruder needs waypoints")
        if self.behaviour == "approach" and not self.zone:
            raise ValueError("an approach intruder needs the name of a protected zone in 'zone'")
        return self


class Radar(Section):
    """Ground surveillance radar: rotating scan, Swerling-1 detection, polar noise, uniform clutter.

    Pd(r, rcs) = Pfa ** (1 / (1 + SNR)), SNR = SNR_ref * (rcs / ref_rcs) * (ref_range / r)^4, with SNR_ref set so
    that Pd = ``pd_ref`` at ``ref_range_m`` for ``ref_rcs_m2`` (Richards, *Fundamentals of Radar Signal
    Processing*, 2nd ed., sec. 6.3, Swerling 1, square-law detector).
    """

    type: Literal["radar"]
    name: str = Field(min_length=1)
    position: Point
    range_m: float = Field(5000.0, gt=10.0, le=100_000.0)
    min_range_m: float = Field(50.0, ge=0.0, le=10_000.0)
    min_elevation_deg: float = Field(-2.0, ge=-10.0, le=89.0)
    max_elevation_deg: float = Field(60.0, ge=-9.0, le=90.0)
    scan_period_s: float = Field(1.0, gt=0.0, le=60.0)
    sigma_range_m: float = Field(5.0, gt=0.0, le=1000.0)
    sigma_azimuth_deg: float = Field(0.5, gt=0.0, le=20.0)
    sigma_elevation_deg: float = Field(1.0, gt=0.0, le=20.0)
    pd_ref: float = Field(0.9, gt=0.0, lt=1.0)
    ref_range_m: float = Field(3000.0, gt=0.0, le=100_000.0)
    ref_rcs_m2: float = Field(0.01, gt=0.0, le=100.0)
    pfa: float = Field(1e-6, gt=0.0, lt=0.1, description="per-cell false-alarm probability in the Pd formula")
    false_alarms_per_scan: float = Field(5.0, ge=0.0, le=10_000.0)

    @model_validator(mode="after")
    def _limits(self) -> Radar:
        if self.max_elevation_deg <= self.min_elevation_deg:
            raise ValueError("max_elevation_deg must be above min_elevation_deg")
        if self.min_range_m >= self.range_m:
            raise ValueError("min_range_m must be below range_m")
        if self.pd_ref <= self.pfa:
            raise ValueError("pd_ref must be above pfa")
        return self


class RfDirectionFinder(Section):
    """Passive RF direction finder: azimuth/elevation of emitting drones within range."""

    type: Literal["rf_df"]
    name: str = Field(min_length=1)
    position: Point
    range_m: float = Field(3000.0, gt=10.0, le=50_000.0)
    sigma_deg: float = Field(2.0, gt=0.0, le=30.0)
    period_s: float = Field(1.0, gt=0.0, le=60.0)
    pd: float = Field(0.8, gt=0.0, le=1.0)


class RemoteIdReceiver(Section):
    """Receives Remote ID broadcasts (Bluetooth/Wi-Fi) within range, with drop-outs and latency."""

    type: Literal["remote_id"]
    name: str = Field(min_length=1)
    position: Point
    range_m: float = Field(1500.0, gt=1.0, le=20_000.0)
    drop_prob: float = Field(0.1, ge=0.0, lt=1.0)
    latency_s: float = Field(0.2, ge=0.0, le=10.0, description="mean (exponential) delivery delay")


class AdsbReceiver(Section):
    """1090 MHz ADS-B receiver for manned aircraft (DF17 frames, decoded with pyModeS)."""

    type: Literal["adsb"]
    name: str = Field(min_length=1)
    position: Point
    range_m: float = Field(100_000.0, gt=100.0, le=500_000.0)
    drop_prob: float = Field(0.05, ge=0.0, lt=1.0)


class Camera(Section):
    """Onboard camera on every drone of a fleet: detections of other aircraft, reported to a ground station over
    the mesh (docs/airspace.md, "Onboard cameras").

    Pd per frame follows the Johnson criteria with the target transfer probability function
    P = pd_max * (N/N50)^E / (1 + (N/N50)^E), E = 2.7 + 0.7 N/N50, where N = size / (2 r IFOV) is the number of
    resolved cycles across the target and IFOV = fov / pixels.
    """

    type: Literal["camera"]
    name: str = Field(min_length=1)
    fleet: str = Field(min_length=1, description="every drone of this fleet carries the camera")
    ground_station: str | None = Field(None, description="where reports go (default: the first ground station)")
    fov_deg: float = Field(90.0, gt=0.0, le=360.0, description="full cone angle about the look direction")
    tilt_deg: float = Field(0.0, ge=-90.0, le=90.0, description="look direction above the horizon")
    range_m: float = Field(800.0, gt=1.0, le=20_000.0, description="no detection beyond this")
    pixels: int = Field(1920, ge=16, le=100_000, description="pixels across the field of view")
    n50_cycles: float = Field(1.0, gt=0.0, le=20.0, description="cycles on target for 50 % detection (Johnson)")
    pd_max: float = Field(0.95, gt=0.0, le=1.0)
    target_size_m: float = Field(0.5, gt=0.0, le=100.0, description="critical dimension of an intruder drone")
    sigma_angle_deg: float = Field(0.3, gt=0.0, le=20.0, description="bearing noise (azimuth and elevation)")
    sigma_range_frac: float = Field(0.1, gt=0.0, le=1.0, description="range noise as a share of the range")
    nav_sigma_m: float = Field(1.5, ge=0.0, le=100.0, description="the drone's own position error (GNSS)")
    rate_hz: float = Field(2.0, gt=0.0, le=30.0, description="frames per second that are processed")
    report_bytes: int = Field(32, ge=8, le=1024, description="airtime size of one detection report")
    ttl: int = Field(8, ge=1, le=64, description="hops a report may travel (routed by flooding when > 1)")
    fusion_delay_s: float = Field(1.0, ge=0.0, le=30.0,
                                  description="the tracker waits this long for late reports (out-of-sequence policy)")


Sensor = Annotated[Radar | RfDirectionFinder | RemoteIdReceiver | AdsbReceiver | Camera, Field(discriminator="type")]


class ProtectedZone(PolygonPrism):
    """A volume to protect: a GeoJSON polygon ([lon, lat]) with floor and ceiling (metres above the origin)."""

    ceiling_m: float = Field(150.0, ge=-500.0, le=20000.0)
    warn_time_s: float = Field(60.0, gt=0.0, le=1800.0, description="alert when a track would enter within this")



def cross_checks(inp: CheckInput) -> list[Problem]:
    """Problems between the airspace sections: unique names, approach zones that exist, sensors that can see the
    intruders, cameras with a fleet and a ground station to report to."""
    data = inp.data
    problems: list[Problem] = []

    def names(key: str) -> list[str]:
        raw = data.get(key)
        return [str(x.get("name")) for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []

    for key in ("intruders", "sensors", "protected_zones"):
        ns = names(key)
        for dup in sorted({n for n in ns if ns.count(n) > 1}):
            problems.append(Problem(key, f"name {dup!r} is used more than once"))
    zones = set(names("protected_zones"))
    for k, raw in enumerate(data.get("intruders") or []):
        if isinstance(raw, dict) and raw.get("behaviour") == "approach" and raw.get("zone") \
                and raw["zone"] not in zones:
            problems.append(Problem(f"intruders.{k}.zone", f"no protected zone named {raw['zone']!r}"))
    if data.get("intruders") and not any(isinstance(s, dict) and s.get("type") in ("radar", "rf_df", "remote_id",
                                                                                  "camera")
                                         for s in data.get("sensors") or []):
        problems.append(Problem("sensors", "intruders are defined but no sensor (radar, rf_df, remote_id, camera) "
                                           "can see them"))
    fleets = {str(f.get("name")) for f in data.get("fleets") or [] if isinstance(f, dict)}
    stations = [str(g.get("name")) for g in data.get("ground_stations") or [] if isinstance(g, dict)]
    for k, raw in enumerate(data.get("sensors") or []):
        if not isinstance(raw, dict) or raw.get("type") != "camera":
            continue
        if raw.get("fleet") is not None and str(raw["fleet"]) not in fleets:
            problems.append(Problem(f"sensors.{k}.fleet", f"no fleet named {raw['fleet']!r}"))
        gs = raw.get("ground_station")
        if not stations:
            problems.append(Problem(f"sensors.{k}", "a camera reports over the mesh to a ground station, but the "
                                                    "scenario has no ground_stations"))
        elif gs is not None and str(gs) not in stations:
            problems.append(Problem(f"sensors.{k}.ground_station", f"no ground station named {gs!r}"))
    return problems


CROSS_CHECKS = (cross_checks,)
UNION_TAGS: frozenset[str] = frozenset()  # sensors are told apart by ``type``; no tags in error paths today
