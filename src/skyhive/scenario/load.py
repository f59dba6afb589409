"""Read a scenario file (YAML or TOML), validate it and report every problem at once.

Problems carry the field path (``fleets.0.launch.sites.1.lat``) and, for YAML,
the line number.  Checks that span sections (a launch site outside the keep-in
area, an event naming a fleet that does not exist, more drones than memory
holds) run on every section that validated, so one run of ``skyhive validate``
shows everything.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
import yaml
from pydantic import BaseModel, ValidationError

from skyhive.scenario.models import (
    Airspace,
    DroneFailure,
    Fleet,
    GeofenceSwitch,
    Launch,
    Origin,
    RandomFailures,
    Scenario,
)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '<root>'}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot run; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


def _yaml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path of a YAML document to its 1-based line."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for k, item in enumerate(node.value):
                walk(item, (*path, str(k)))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def read_document(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """Parse YAML or TOML into a plain dict; syntax errors become a ScenarioError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), [Problem("", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
            lines: dict[tuple[str, ...], int] = {}
        else:
            data = yaml.safe_load(text)
            lines = _yaml_lines(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError(str(path), [Problem("", f"syntax error: {msg}", line)]) from None
    if not isinstance(data, dict):
        raise ScenarioError(str(path), [Problem("", "the document must be a mapping of sections")])
    return data, lines


def _problems_from(exc: ValidationError, prefix: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *(str(x) for x in err["loc"] if not _is_union_tag(x)))
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see docs/scenario.md)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        out.append(Problem(".".join(loc), msg, line))
    return out


_EVENT_TAGS = {"drone_failure", "random_failures", "geofence",
               "node_failure", "silent_zone", "partition", "degraded"}  # comms faults


def _is_union_tag(part: object) -> bool:
    """pydantic puts the chosen union member into error locations; users never wrote those keys."""
    return isinstance(part, str) and (part in _EVENT_TAGS or "[" in part)


def _section(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def cross_checks(data: dict[str, Any], base_dir: Path) -> list[Problem]:
    """Checks between sections, on whichever sections validated on their own."""
    from skyhive.geo.fences import polygon_from_geojson
    from skyhive.geo.frames import LocalFrame

    problems: list[Problem] = []
    origin = _section(Origin, data.get("origin"))
    airspace = _section(Airspace, data.get("airspace", {}))
    raw = data.get("fleets")
    raw_fleets: list[Any] = raw if isinstance(raw, list) else []
    fleets: list[tuple[int, Fleet]] = []
    launches: list[tuple[int, Launch]] = []  # checked even when another part of the fleet is wrong
    for k, f in enumerate(raw_fleets):
        parsed = _section(Fleet, f)
        if parsed is not None:
            fleets.append((k, parsed))
        launch = _section(Launch, f.get("launch")) if isinstance(f, dict) else None
        if launch is not None:
            launches.append((k, launch))
    names = [f.name for _, f in fleets]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem("fleets", f"fleet name {name!r} is used more than once"))

    dt, duration = data.get("dt", 0.1), data.get("duration")
    if isinstance(dt, int | float) and isinstance(duration, int | float) and 0 < duration < dt:
        problems.append(Problem("dt", f"dt ({dt}) is longer than duration ({duration})"))

    counts = {f.name: f.count for _, f in fleets}
    fence_names = {g.name for g in airspace.geofences} if airspace else set()
    event_models: dict[str, type[BaseModel]] = {
        "drone_failure": DroneFailure, "random_failures": RandomFailures, "geofence": GeofenceSwitch}
    for k, raw_event in enumerate(data.get("events") or []):
        if not isinstance(raw_event, dict):
            continue
        model = event_models.get(str(raw_event.get("type")))
        ev = _section(model, raw_event) if model else None
        if isinstance(ev, DroneFailure | RandomFailures) and ev.fleet is not None and fleets:
            if ev.fleet not in counts:
                problems.append(Problem(f"events.{k}.fleet", f"no fleet named {ev.fleet!r}"))
            elif isinstance(ev, DroneFailure) and max(ev.drones) >= counts[ev.fleet]:
                problems.append(Problem(f"events.{k}.drones", f"index {max(ev.drones)} is beyond fleet "
                                        f"{ev.fleet!r} of {counts[ev.fleet]} drones"))
        if isinstance(ev, GeofenceSwitch) and airspace is not None and airspace.import_plan is None \
                and ev.name not in fence_names:
            problems.append(Problem(f"events.{k}.name", f"no geofence named {ev.name!r}"))

    if origin is not None and airspace is not None:
        frame = LocalFrame(origin.lat, origin.lon, origin.alt)
        keep_in = [polygon_from_geojson(g.polygon) for g in airspace.geofences if g.kind == "keep_in" and g.active]
        keep_out = [(g.name, polygon_from_geojson(g.polygon)) for g in airspace.geofences
                    if g.kind == "keep_out" and g.active]
        if airspace.import_plan is not None:
            from skyhive.geo.fences import plan_geofences

            plan_path = Path(airspace.import_plan.path)
            plan_path = plan_path if plan_path.is_absolute() else base_dir / plan_path
            try:
                for name, fence_kind, poly in plan_geofences(plan_path, frame):
                    if fence_kind == "keep_in":
                        keep_in.append(poly)
                    else:
                        keep_out.append((name, poly))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                problems.append(Problem("airspace.import_plan.path", f"cannot import geofences: {exc}"))
        for k, launch in launches:
            for s, site in enumerate(launch.sites):
                where = f"fleets.{k}.launch.sites.{s}"
                if keep_in and not any(shapely.contains_xy(p, site.lon, site.lat) for p in keep_in):
                    problems.append(Problem(where, f"launch site ({site.lat}, {site.lon}) is outside every "
                                                   "active keep-in geofence"))
                for name, p in keep_out:
                    if shapely.contains_xy(p, site.lon, site.lat):
                        problems.append(Problem(where, f"launch site ({site.lat}, {site.lon}) is inside "
                                                       f"keep-out geofence {name!r}"))
        from skyhive.autonomy.config import task_problems

        problems.extend(Problem(p, m) for p, m in task_problems(data, keep_in, keep_out))

    from skyhive.comms.config import comms_cross_checks

    problems.extend(comms_cross_checks(data, fleets))
    problems.extend(_memory_check(fleets))
    from skyhive.airspace.config import cross_checks as airspace_checks

    problems.extend(Problem(path, msg) for path, msg in airspace_checks(data))
    return problems


# Bytes a drone costs while running: the core state plus the temporaries of a tick and the spatial index.
WORKING_BYTES_PER_DRONE = 4096


def available_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def _memory_check(fleets: list[tuple[int, Fleet]]) -> list[Problem]:
    total = sum(f.count for _, f in fleets)
    need = total * WORKING_BYTES_PER_DRONE
    have = available_memory_bytes()
    if need <= have:
        return []
    k, _biggest = max(fleets, key=lambda kf: kf[1].count)
    return [Problem(f"fleets.{k}.count", f"{total:,} drones need about {need / 1e9:.1f} GB to simulate; "
                                         f"this machine has {have / 1e9:.1f} GB available")]


def _flight_problems(scenario: Scenario, base_dir: Path, lines: dict[tuple[str, ...], int]) -> list[Problem]:
    """Launch layouts and routes the safety layer could not fly as written (flight/checks.py); run once the
    whole scenario is valid, since they need every section."""
    from skyhive.flight.checks import route_problems

    out = []
    for path, message in route_problems(scenario, base_dir):
        parts = tuple(path.split("."))
        line = next((lines[parts[:cut]] for cut in range(len(parts), -1, -1) if parts[:cut] in lines), None)
        out.append(Problem(path, message, line))
    return out


def load_scenario(path: str | Path, seed: int | None = None) -> Scenario:
    """Load and fully validate a scenario; raise ScenarioError listing every problem."""
    path = Path(path)
    data, lines = read_document(path)
    problems: list[Problem] = []
    scenario = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, (), lines))
    for p in cross_checks(data, path.parent):
        line = None
        parts = tuple(p.path.split("."))
        for cut in range(len(parts), -1, -1):
            if parts[:cut] in lines:
                line = lines[parts[:cut]]
                break
        problems.append(Problem(p.path, p.message, line))
    if scenario is not None and not problems:
        problems.extend(_flight_problems(scenario, path.parent, lines))
    if problems or scenario is None:
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise ScenarioError(str(path), problems)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": int(seed)})
    return scenario


def scenario_from_dict(data: dict[str, Any], base_dir: Path | None = None) -> Scenario:
    """Validate an in-memory scenario (Python API, tests) with the same checks as files."""
    problems: list[Problem] = []
    scenario = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, (), {}))
    problems.extend(cross_checks(data, base_dir or Path.cwd()))
    if scenario is not None and not problems:
        problems.extend(_flight_problems(scenario, base_dir or Path.cwd(), {}))
    if problems or scenario is None:
        raise ScenarioError("<scenario>", problems)
    return scenario


