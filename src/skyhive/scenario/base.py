"""Shared pydantic conventions for every scenario section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every scenario model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
