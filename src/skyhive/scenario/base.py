"""Shared pydantic conventions for every scenario section."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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
