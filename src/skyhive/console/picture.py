"""Reads a running ``Simulation`` from outside and turns it into console messages (it never writes to it).

Everything is in the scenario's local ENU frame (metres east, north, up of the origin); the page places it on
the map from the origin.  Small, slowly changing things (fences, task definitions) go out as a JSON ``state``
message when they change; each frame carries the drones as packed arrays and the few tracks, manned vehicles,
alerts and task progress as JSON in its header.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from skyhive.autonomy.mission import MissionSystem
from skyhive.comms.system import CommsSystem
from skyhive.console.stream import encode_frame
from skyhive.geo.fences import polygon_from_geojson
from skyhive.world.world import DroneStatus

if TYPE_CHECKING:
    from skyhive.sim import Simulation

STATUS_NAMES = [s.name.lower() for s in DroneStatus]
MAX_ALERTS = 100


def _r(x: float, nd: int = 1) -> float:
    return round(float(x), nd)


def ring_xy(coords: Any) -> list[list[float]]:
    c = np.asarray(coords, dtype=np.float64)
    return np.round(c[:, :2], 1).tolist()


class Picture:
    """The console's view of one simulation: ``hello()`` once, ``state()`` on change, ``frame()`` per update."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        mission = next((s for s in sim.systems if isinstance(s, MissionSystem)), None)
        self.mission: MissionSystem | None = mission
        comms = next((s for s in sim.systems if isinstance(s, CommsSystem)), None)
        self.comms: CommsSystem | None = comms  # the comms builder also builds the default radio of a mission
        self.airspace = getattr(sim, "airspace", None)  # the AirspacePicture, when the scenario has one

    # -- once ----------------------------------------------------------------------------------------------
    def hello(self, mode: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        sim, sc = self.sim, self.sim.scenario
        fleets = [{"name": name, "start": sl.start, "stop": sl.stop} for name, sl in sim.fleet_slices.items()]
        out = {"type": "hello", "mode": mode, "scenario": sc.name, "seed": sim.seed,
               "origin": {"lat": sc.origin.lat, "lon": sc.origin.lon, "alt": sc.origin.alt},
               "drones": sim.n_drones, "fleets": fleets, "statuses": STATUS_NAMES, "duration": sim.duration,
               "dt": sim.dt, "well_clear_m": sc.safety.well_clear.horizontal_m,
               "can_task": self.mission is not None and self.comms is not None and self.comms.n_gs > 0,
               "has_airspace": self.airspace is not None}
        out.update(extra or {})
        return out

    # -- on change -----------------------------------------------------------------------------------------
    def state_key(self) -> tuple[Any, ...]:
        fences = tuple((p.name, p.active) for p in self.sim.fences.prisms)
        tasks = tuple((mt.spec.id, mt.cancelled_t is not None) for mt in self.mission.mtasks) if self.mission else ()
        return fences, tasks

    def state(self) -> dict[str, Any]:
        sim = self.sim
        fences = []
        for p in sim.fences.prisms:
            rings = [ring_xy(p.enu.exterior.coords)] + [ring_xy(h.coords) for h in p.enu.interiors]
            fences.append({"name": p.name, "kind": p.kind, "active": bool(p.active), "floor_m": p.floor_m,
                           "ceiling_m": p.ceiling_m, "rings": rings})
        tasks = []
        if self.mission is not None:
            m = self.mission
            areas = dict(m.areas)
            for k, mt in enumerate(m.mtasks):
                item: dict[str, Any] = {"id": mt.spec.id, "kind": mt.spec.kind, "cancelled": mt.cancelled_t is not None,
                                        "added_t": _r(mt.added_t)}
                if k in areas:
                    item["area"] = ring_xy(areas[k].exterior.coords)
                if mt.cbba.size:
                    item["points"] = np.round(m.tasks.pos[mt.cbba], 1).tolist()[:200]
                tasks.append(item)
        stations = []
        if self.comms is not None and self.comms.n_gs:
            stations = [{"name": n, "pos": np.round(p, 1).tolist()}
                        for n, p in zip(self.comms.gs_names, self.comms.gs_pos, strict=True)]
        zones = []
        for z in sim.scenario.protected_zones:  # the airspace picture's protected zones (alerts, not flight limits)
            ring = np.asarray(polygon_from_geojson(z.polygon).exterior.coords)
            zones.append({"name": z.name, "floor_m": z.floor_m, "ceiling_m": z.ceiling_m,
                          "ring": ring_xy(sim.frame.local(ring[:, 1], ring[:, 0], 0.0))})
        return {"type": "state", "fences": fences, "tasks": tasks, "stations": stations, "zones": zones}

    # -- every update --------------------------------------------------------------------------------------
    def frame(self, seq: int, extra: dict[str, Any]) -> bytes:
        sim = self.sim
        d = sim.world.drones
        header: dict[str, Any] = {"type": "frame", "seq": seq, "t": _r(sim.t, 3), **extra,
                                  "manned": self._manned(), "tracks": [], "alerts": [], "tasks": []}
        if self.airspace is not None:
            header["tracks"], header["alerts"] = self.tracks_and_alerts()
        if self.mission is not None:
            header["tasks"] = self._task_progress()
            if self.mission.cov_label.size:
                header["coverage_pct"] = _r(self.mission.coverage_pct(), 2)
        pos = d.pos.astype(np.float32).ravel()
        return encode_frame(header, {"pos": pos, "status": d.status.astype(np.uint8)})

    def _manned(self) -> list[list[Any]]:
        m = self.sim.world.manned
        return [[name, _r(p[0]), _r(p[1]), _r(p[2]), _r(v[0], 2), _r(v[1], 2), bool(air)]
                for name, p, v, air in zip(m.names, m.pos.tolist(), m.vel.tolist(), m.is_aircraft.tolist(),
                                           strict=True)]

    def tracks_and_alerts(self) -> tuple[list[list[Any]], list[dict[str, Any]]]:
        pic = self.airspace
        assert pic is not None
        tr = pic.tracker
        conf = np.flatnonzero(tr.confirmed())
        x = pic.track_state(self.sim.t)[conf] if conf.size else np.zeros((0, 6))
        spoofed = {c.track_id for c in pic.claims.values() if c.spoof_flagged_t is not None}
        tracks = [[tid, _r(r[0]), _r(r[1]), _r(r[2]), _r(r[3], 2), _r(r[4], 2), pic.track_label.get(tid, "unknown"),
                   pic.track_identity.get(tid, ""), tid in spoofed]
                  for tid, r in zip(tr.ids[conf].tolist(), x.tolist(), strict=True)]
        open_alerts = [a.to_json() for a in pic.alerts if not a.acknowledged][-MAX_ALERTS:]
        return tracks, open_alerts

    def _task_progress(self) -> list[list[Any]]:
        m = self.mission
        assert m is not None
        busy = np.flatnonzero(m.cur >= 0)
        owner = m.parent[m.cur[busy]] if busy.size else np.zeros(0, np.int64)
        drones = m.wid[busy]
        out = []
        for k, mt in enumerate(m.mtasks):
            done = int(np.isfinite(m.done_t[mt.cbba]).sum()) if mt.cbba.size else 0
            assigned = drones[owner == k][:100].tolist()
            out.append([mt.spec.id, done, int(mt.cbba.size), assigned])
        return out

    def links(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Mesh links now: node index pairs (drones first, then ground stations, then manned vehicles)."""
        if self.comms is None:
            return None
        s, r, _ = self.comms.links()
        pairs = np.column_stack([s, r]).astype(np.uint32).ravel()
        return {"type": "links", "t": _r(self.sim.t, 3), "n_drones": self.sim.n_drones}, {"pairs": pairs}

    def coverage(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The search/survey coverage raster: cells inside an area (1) and seen (2), row-major over (nx, ny)."""
        m = self.mission
        if m is None or not m.cov_label.size:
            return None
        cells = (m.cov_label >= 0).astype(np.uint8) + (m.cov_hit & (m.cov_label >= 0)).astype(np.uint8)
        nx, ny = cells.shape
        head = {"type": "coverage", "x0": m.cov_x0, "y0": m.cov_y0, "cell": m.cfg.coverage_cell_m, "nx": nx,
                "ny": ny}
        return head, {"cells": np.ascontiguousarray(cells).ravel()}

    def metrics(self) -> dict[str, Any]:
        """The run's metrics (the summary's names), scalars and small dicts only."""
        out: dict[str, Any] = {}
        for k, v in self.sim.metrics.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            small_dict = isinstance(v, dict) and len(v) <= 12 and all(isinstance(x, int | float | str)
                                                                       for x in v.values())
            if isinstance(v, bool | int | float | str) or v is None or small_dict:
                out[k] = v
        return {"type": "metrics", "t": _r(self.sim.t, 3), "metrics": out}
