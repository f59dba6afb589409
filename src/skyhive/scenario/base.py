"""The bottom of the scenario: what every concern's ``config.py`` may import, and nothing else.

Shared pydantic conventions (``Section``), the shared value types (``Lat``, ``Lon``, ``Point``, ``WellClear``,
``PolygonPrism``), a validation ``Problem`` (field path, message, line), and the shape of a cross-section check:
``check(inp: CheckInput) -> list[Problem]``.  Each concern's config module defines its checks (``CROSS_CHECKS``)
and the union tags its models add to pydantic error locations (``UNION_TAGS``); ``skyhive.scenario.load``
assembles them.  This module imports nothing of skyhive but ``skyhive.geo``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

if TYPE_CHECKING:
    from shapely.geometry import Polygon

__all__ = ["CheckInput", "CrossCheck", "Lat", "Lon", "Point", "PolygonPrism", "Problem", "Section", "WellClear",
           "parse_section"]

Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="latitude, degrees WGS84")]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="longitude, degrees WGS84")]


class Section(BaseModel):
    """Base of every scenario model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PolygonPrism(Section):
    """A named volume: a GeoJSON polygon ([lon, lat] positions) between a floor and a ceiling (metres above the
    origin).  Geofences and protected zones are prisms."""

    name: str = Field(min_length=1)
    polygon: dict[str, Any] | list[list[float]] = Field(
        description="a GeoJSON Polygon geometry, or its outer ring as a list of [lon, lat]"
    )
    floor_m: float = Field(0.0, ge=-500.0, le=20000.0)
    ceiling_m: float = Field(120.0, ge=-500.0, le=20000.0)

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> PolygonPrism:
        if self.ceiling_m <= self.floor_m:
            raise ValueError(f"ceiling_m ({self.ceiling_m}) must be above floor_m ({self.floor_m})")
        return self

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, value: dict[str, Any] | list[list[float]]) -> dict[str, Any] | list[list[float]]:
        from skyhive.geo.fences import polygon_from_geojson

        polygon_from_geojson(value)  # raises ValueError with the reason
        return value


class Point(Section):
    """A geographic point with a height above the origin's altitude."""

    lat: Lat
    lon: Lon
    alt_m: float = Field(0.0, ge=-500.0, le=20000.0, description="metres above the origin altitude")


class WellClear(Section):
    """Manned-aircraft well-clear volume; defaults after ASTM F3442/F3442M (2,000 ft / 250 ft)."""

    horizontal_m: float = Field(609.6, gt=0.0, le=20000.0)
    vertical_m: float = Field(76.2, gt=0.0, le=3000.0)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: the field path (``fleets.0.launch.sites.1.lat``), what is wrong, and the
    line of the file when known."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '<root>'}: {self.message}"


def parse_section(model: type[BaseModel], data: Any) -> Any:
    """``model`` validated from ``data``, or None when it does not validate (its own errors are reported by the
    whole-document validation; cross-section checks only look at what did validate)."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


@dataclass(frozen=True)
class CheckInput:
    """What a cross-section check sees: the raw document and the core sections that validated."""

    data: Mapping[str, Any]
    fleets: Sequence[tuple[int, Any]]  # (index in ``fleets``, the validated ``Fleet``)
    # active keep-in polygons and named keep-out polygons in lon/lat; None when the origin or airspace did not
    # validate (checks against geofences are then skipped)
    keep_in: Sequence[Polygon] | None = None
    keep_out: Sequence[tuple[str, Polygon]] | None = None


CrossCheck = Callable[[CheckInput], list[Problem]]
"""A check between sections, registered by its concern in ``CROSS_CHECKS``."""
