"""Operator actions from the page: validated first, then applied between ticks through the systems' public APIs.

Nothing here writes the simulation's state directly.  A task goes to ``MissionSystem.add_task`` /
``cancel_task``, which flood the order from a ground station over the mesh -- the same path as the scenario's
``mission.operator`` orders, so drones hear of it only when the radio brings it.  An alert is acknowledged on the
airspace picture's alert list (the operator sits at that list).  A keep-out is added to the scenario's fence set
and switched like a scenario ``geofence_switch`` event; the one safety layer (``flight.safety``) reads the fence
set every tick, so drones respect it from the next tick on.  Every applied action is logged as an event (and so
reaches the MCAP log when recording).  A rejected action changes nothing and is answered with every problem,
each with its field path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from skyhive.geo.fences import FencePrism, polygon_from_geojson

if TYPE_CHECKING:
    from skyhive.console.picture import Picture

MAX_MESSAGE_BYTES = 64 * 1024
MAX_RANGE_M = 100_000.0  # a point or vertex farther than this from the scenario origin is a mistake
MAX_VERTICES = 200

Lat = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]


class ActionError(ValueError):
    """An action that cannot be applied; ``problems`` are (field path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in problems))
        self.problems = problems


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    req: int | None = Field(None, description="request number echoed in the reply")


def _ring(value: list[tuple[Lon, Lat]]) -> list[tuple[float, float]]:
    if len(value) < 3:
        raise ValueError(f"needs at least 3 vertices, got {len(value)}")
    if len(value) > MAX_VERTICES:
        raise ValueError(f"at most {MAX_VERTICES} vertices, got {len(value)}")
    ring = [(float(a), float(b)) for a, b in value]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    polygon_from_geojson([list(p) for p in ring])  # closed, valid, non-zero area
    return ring


class AddTask(_Action):
    op: Literal["add_task"]
    kind: Literal["inspect", "loiter", "survey", "search"]
    id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    lat: Lat | None = None
    lon: Lon | None = None
    alt_m: float = Field(50.0, ge=0.0, le=2000.0)
    area: list[tuple[Lon, Lat]] | None = None
    service_s: float = Field(30.0, ge=0.0, le=86400.0)
    value: float = Field(10.0, gt=0.0, le=1e6)

    @field_validator("area")
    @classmethod
    def _area(cls, v: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        return None if v is None else _ring(v)


class CancelTask(_Action):
    op: Literal["cancel_task"]
    id: str = Field(min_length=1, max_length=64)


class AckAlert(_Action):
    op: Literal["ack_alert"]
    id: int = Field(ge=1)


class AddKeepOut(_Action):
    op: Literal["add_keep_out"]
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    polygon: list[tuple[Lon, Lat]]
    floor_m: float = Field(0.0, ge=0.0, le=20000.0)
    ceiling_m: float = Field(500.0, gt=0.0, le=20000.0)

    @field_validator("polygon")
    @classmethod
    def _poly(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return _ring(v)


class SetKeepOut(_Action):
    op: Literal["set_keep_out"]
    name: str = Field(min_length=1, max_length=64)
    active: bool


class Pause(_Action):
    op: Literal["pause", "resume"]


class Speed(_Action):
    op: Literal["speed"]
    value: float = Field(gt=0.0, le=1000.0, allow_inf_nan=False)


class Seek(_Action):
    op: Literal["seek"]
    t: float = Field(ge=0.0, allow_inf_nan=False)


class Links(_Action):
    op: Literal["links"]
    on: bool


Action = Annotated[AddTask | CancelTask | AckAlert | AddKeepOut | SetKeepOut | Pause | Speed | Seek | Links,
                   Field(discriminator="op")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Action)
SIM_ACTIONS = (AddTask, CancelTask, AckAlert, AddKeepOut, SetKeepOut)


def parse_action(text: str | bytes) -> Any:
    """A validated action from one WebSocket message; ActionError names every problem."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise ActionError([("", f"message of {len(text)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")])
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ActionError([("", f"malformed JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise ActionError([("", "an action is a JSON object with an 'op' field")])
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = [str(x) for x in e["loc"]]
            if loc and loc[0] == data.get("op"):
                loc = loc[1:]  # the union's tag is not a field of the action
            if e["type"].startswith("union_tag"):
                loc = ["op"]
            problems.append((".".join(loc), e["msg"]))
        raise ActionError(problems) from None


class Operator:
    """Applies validated actions to one simulation (on the simulation's thread, between ticks)."""

    def __init__(self, picture: Picture) -> None:
        self.picture = picture
        self.sim = picture.sim
        self.applied = 0
        self.rejected = 0
        self._task_no = 0
        self._fence_no = 0

    def _log(self, text: str) -> None:
        self.sim.log.add(self.sim.t, "info", "console", f"operator: {text}")

    def _near(self, lat: float, lon: float, field: str) -> None:
        e, n, _ = self.sim.frame.local(lat, lon, 0.0)
        if float(np.hypot(e, n)) > MAX_RANGE_M:
            raise ActionError([(field, f"({lat}, {lon}) is {np.hypot(e, n) / 1000:.0f} km from the scenario origin "
                                       f"(limit {MAX_RANGE_M / 1000:.0f} km)")])

    def apply(self, action: Any) -> dict[str, Any]:
        """Apply one action; returns the reply's fields.  Raises ActionError and changes nothing when it fails."""
        try:
            out = self._apply(action)
        except ActionError:
            self.rejected += 1
            raise
        self.applied += 1
        return out

    def _apply(self, action: Any) -> dict[str, Any]:
        if isinstance(action, AddTask):
            return self._add_task(action)
        if isinstance(action, CancelTask):
            mission = self._mission()
            try:
                mission.cancel_task(action.id)
            except ValueError as exc:
                raise ActionError([("id", str(exc))]) from None
            self._log(f"cancel task {action.id}")
            return {"cancelled": action.id}
        if isinstance(action, AckAlert):
            pic = self.picture.airspace
            if pic is None:
                raise ActionError([("id", "this scenario has no airspace picture, so no alerts")])
            if not pic.acknowledge(action.id):
                raise ActionError([("id", f"no alert with id {action.id}")])
            self._log(f"acknowledged alert {action.id}")
            return {"acknowledged": action.id}
        if isinstance(action, AddKeepOut):
            return self._add_keep_out(action)
        if isinstance(action, SetKeepOut):
            names = self.sim.fences.names()
            if action.name not in names:
                raise ActionError([("name", f"no geofence named {action.name!r}; known: {names}")])
            self.sim.fences.set_active(action.name, action.active)
            self.sim.log.add(self.sim.t, "warning", "airspace", f"geofence {action.name} "
                             f"{'activated' if action.active else 'deactivated'} by the operator")
            return {"fence": action.name, "active": action.active}
        raise ActionError([("op", f"{type(action).__name__} is not a simulation action")])

    def _mission(self) -> Any:
        m = self.picture.mission
        if m is None:
            raise ActionError([("op", "this scenario has no mission (no 'tasks' or 'mission' section): "
                                      "nothing can take a task")])
        return m

    def _add_task(self, a: AddTask) -> dict[str, Any]:
        mission = self._mission()
        spec: dict[str, Any] = {"kind": a.kind, "value": a.value}
        if a.kind in ("inspect", "loiter"):
            missing = [(f, "required for a point task") for f in ("lat", "lon") if getattr(a, f) is None]
            if missing:
                raise ActionError(missing)
            assert a.lat is not None and a.lon is not None
            self._near(a.lat, a.lon, "lat")
            spec["at"] = {"lat": a.lat, "lon": a.lon, "alt_m": a.alt_m}
            spec["service_s"] = a.service_s
        else:
            if a.area is None:
                raise ActionError([("area", f"required for a {a.kind} task (a polygon of [lon, lat])")])
            for k, (lon, lat) in enumerate(a.area):
                self._near(lat, lon, f"area.{k}")
            spec["area"] = [list(p) for p in a.area]
        ids = {mt.spec.id for mt in mission.mtasks}
        if a.id is not None:
            if a.id in ids:
                raise ActionError([("id", f"task id {a.id!r} is already used")])
            spec["id"] = a.id
        else:
            while f"op-{a.kind}-{self._task_no}" in ids:
                self._task_no += 1
            spec["id"] = f"op-{a.kind}-{self._task_no}"
        try:
            mission.add_task(spec)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            raise ActionError([("", str(exc))]) from None
        where = f"at {a.lat:.6f}, {a.lon:.6f}" if a.lat is not None and a.lon is not None \
            else f"over {len(a.area or []) - 1} vertices"
        self._log(f"add task {spec['id']} ({a.kind}) {where}")
        return {"task": spec["id"]}

    def _add_keep_out(self, a: AddKeepOut) -> dict[str, Any]:
        if a.ceiling_m <= a.floor_m:
            raise ActionError([("ceiling_m", f"must be above floor_m ({a.floor_m})")])
        for k, (lon, lat) in enumerate(a.polygon):
            self._near(lat, lon, f"polygon.{k}")
        fences = self.sim.fences
        names = fences.names()
        if a.name is not None and a.name in names:
            raise ActionError([("name", f"a geofence named {a.name!r} exists; switch it with set_keep_out")])
        name = a.name
        while name is None or name in names:
            self._fence_no += 1
            name = f"operator-keep-out-{self._fence_no}"
        prism = FencePrism.build(name, "keep_out", polygon_from_geojson([list(p) for p in a.polygon]), a.floor_m,
                                 a.ceiling_m, self.sim.frame, active=True)
        fences.add(prism)
        self.sim.log.add(self.sim.t, "warning", "airspace", f"geofence {name} activated by the operator "
                         f"(keep-out, {a.floor_m:g}-{a.ceiling_m:g} m)")
        return {"fence": name, "active": True}
