"""A sweep written down as YAML, the alternative to command-line flags::

    scenario: sar-small.yaml            # relative to this file
    vary:
      fleets.rescue.count: [4, 8, 12]
      fleets.rescue.radio.gilbert_elliott.loss_good: "0:0.4:0.2"   # a range, as on the command line
    seeds: 0-19
    until: 300                          # optional; default: the scenario's duration
    jobs: 2                             # optional; default: all cores
    engine: local                       # local | dask | ray
    address: null                       # a Dask scheduler or Ray cluster address
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skyhive.experiments.check import SweepError
from skyhive.scenario.load import Problem, read_document


class SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(min_length=1, description="the scenario file, relative to the sweep file")
    vary: dict[str, Any] = Field(default_factory=dict, description="dotted path -> list of values or a range")
    seeds: str | int | list[int] | None = None
    until: float | None = Field(None, gt=0.0)
    jobs: int | None = Field(None, ge=1, le=4096)
    engine: Literal["local", "dask", "ray"] = "local"
    address: str | None = None

    def scenario_path(self, sweep_file: Path) -> Path:
        path = Path(self.scenario)
        return path if path.is_absolute() else sweep_file.parent / path


def load_sweep_file(path: str | Path) -> SweepFile:
    """Read and check a sweep file; raise SweepError with every problem (field path and line)."""
    path = Path(path)
    data, lines = read_document(path)
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(str(x) for x in err["loc"])
            line = next((lines[loc[:cut]] for cut in range(len(loc), -1, -1) if loc[:cut] in lines), None)
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(Problem(".".join(loc), msg, line))
        raise SweepError(str(path), problems) from None
