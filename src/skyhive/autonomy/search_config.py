"""Scenario models of probabilistic search: a search task's ``prior`` and ``mission.search`` (docs/autonomy.md,
"Probabilistic search").

A prior says where the missing person probably is (probability of containment, POC, over the search area):

* ``last_known`` + ``rings_m``: lost-person behaviour as SAR planners use it (Koester's ISRID statistics): the
  person is within ``rings_m[k]`` metres of the last known point with probability ``ring_quantiles[k]``
  (25/50/75/95 % by default); beyond the last ring the rest is spread out to the area's edge.  Within a ring the
  density is uniform per square metre.
* ``areas``: GeoJSON polygons with relative weights (a planner's consensus map); the rest of the search area gets
  ``background`` weight.
* neither: uniform.

Checks that need the task's area (a last known point or prior polygon outside it) are in
:func:`skyhive.autonomy.config.prior_problems`, reported with their field paths by ``skyhive validate``.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from skyhive.scenario.base import Section


class LastKnown(Section):
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class WeightedArea(Section):
    area: dict[str, Any] | list[list[float]] = Field(description="GeoJSON Polygon geometry or its [lon, lat] ring")
    weight: float = Field(ge=0.0, le=1e9, description="relative probability mass of this polygon")

    @field_validator("area")
    @classmethod
    def _valid_area(cls, value: dict[str, Any] | list[list[float]]) -> Any:
        from skyhive.geo.fences import polygon_from_geojson

        polygon_from_geojson(value)
        return value


class SearchPrior(Section):
    """Where the person probably is (see the module docstring)."""

    last_known: LastKnown | None = None
    rings_m: list[float] = Field(default_factory=lambda: [300.0, 800.0, 1500.0, 3000.0], min_length=1,
                                 max_length=20, description="distance rings around last_known, metres")
    ring_quantiles: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75, 0.95], min_length=1,
                                        max_length=20, description="probability of being within each ring")
    areas: list[WeightedArea] = Field(default_factory=list, max_length=1000)
    background: float = Field(0.0, ge=0.0, le=1e9, description="weight of the area outside every prior polygon "
                                                               "(per square metre, relative to the polygons)")

    @model_validator(mode="after")
    def _consistent(self) -> SearchPrior:
        problems = []
        if self.last_known is not None and self.areas:
            problems.append("give either last_known (distance rings) or areas (weighted polygons), not both")
        if self.last_known is not None:
            if len(self.rings_m) != len(self.ring_quantiles):
                problems.append(f"rings_m has {len(self.rings_m)} entries but ring_quantiles has "
                                f"{len(self.ring_quantiles)}")
            if any(r <= 0 for r in self.rings_m) or any(b <= a for a, b in itertools.pairwise(self.rings_m)):
                problems.append(f"rings_m must be positive and increasing, got {self.rings_m}")
            q = self.ring_quantiles
            if any(not 0.0 < x <= 1.0 for x in q) or any(b <= a for a, b in itertools.pairwise(q)):
                problems.append(f"ring_quantiles must be increasing probabilities in (0, 1], got {q}")
        if self.areas and sum(a.weight for a in self.areas) + self.background <= 0.0:
            problems.append("the prior's weights (areas[*].weight and background) must sum to a positive number")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SearchSettings(Section):
    """``mission.search``: how search tasks are flown."""

    strategy: Literal["probability", "lawnmower"] = Field(
        "lawnmower", description="probability: sweep where the expected detections per second are highest, from "
                                 "each drone's own POC map; lawnmower: equal-area strips (allocated by mission."
                                 "allocation)")
    cell_m: float = Field(25.0, gt=1.0, le=1000.0, description="POC map cell size")
    block_m: float = Field(200.0, gt=10.0, le=10000.0, description="a drone sweeps one block of this size at a time")
    share_s: float = Field(10.0, gt=0.0, le=600.0, description="a drone sends the track it searched this often")
    share_hops: int = Field(1, ge=1, le=64, description="hops a searched-track message is relayed")
    persons: int = Field(0, ge=0, le=10000, description="hide this many persons drawn from the prior (per search "
                                                        "task, with the scenario seed), besides search_objects")
