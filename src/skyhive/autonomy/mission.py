"""The mission in flight: a DECIDE-phase system that lets the swarm share out and fly the scenario's ``tasks``.

Workers are the drones of fleets without a ``route`` (drones taken over by a ground station through MAVLink are
skipped). Every ``mission.period_s`` the workers run one CBBA round over the mesh radio
(:class:`skyhive.autonomy.meshlink.CommsTransport`); every tick each worker flies towards the first task of its
own path that it still counts as open: inspect (fly there, stay ``service_s``), loiter (hold for ``service_s``),
relay (a chain of hold positions station -> point), follow (formation slots around a manned vehicle, known only
from its beacons), survey and search (the area is split into equal-area lawnmower shares, each share one
allocatable task, flown row by row). Everything a drone acts on is its own state and what its radio received:
new and cancelled tasks arrive as operator messages flooded from a ground station, finished tasks as ``done``
floods from the drone that finished them, acknowledgements of search finds as floods from the ground station.
All per-drone work is array operations over the workers; Python loops run over messages' task ranges, tasks at
set-up and the few search objects only.

Ground truth the drones never read -- hidden search objects, when a task was really finished, when the
ground station really heard a find -- is kept only for the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from shapely import contains_xy
from shapely.geometry import Polygon

from skyhive.autonomy.cbba import CBBA, CBBAConfig
from skyhive.autonomy.config import MissionSettings, TaskSpec, capability_mask
from skyhive.autonomy.coverage import footprint_width, plan_coverage
from skyhive.autonomy.meshlink import CommsTransport
from skyhive.autonomy.tasks import TASK_KINDS, TaskKind, TaskSet
from skyhive.record import scene
from skyhive.scenario.models import cruise_power_w
from skyhive.systems import BuildContext, ControlMask, Mesh, Phase, Rate, TickContext
from skyhive.world.world import DroneStatus

if TYPE_CHECKING:
    from skyhive.events import EventLog
    from skyhive.geo.frames import LocalFrame
    from skyhive.record.writer import McapRecorder
    from skyhive.world.world import World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
ACCEPT_H = 5.0  # m: a waypoint is reached within this horizontal distance ...
ACCEPT_V = 3.0  # ... and this vertical distance
POS_GAIN = 1.0  # 1/s: final approach speed per metre of error
ACK_PERIOD_S = 5.0  # the ground station floods its list of heard finds this often
OP_BYTES, DONE_BYTES, FIND_BYTES = 96, 16, 24  # airtime of a task order, a done notice, a find report
TTL = 64
TRANSIT_NEAR_M = 40.0  # leave the transit layer this close to the task
BEACON_BYTES, BEACON_TTL = 40, 8  # a manned vehicle's state beacon (position, velocity, heading, time)


@dataclass
class MissionTask:
    """One task as the operator gave it; ``cbba`` are its allocatable parts (one, or the area shares)."""

    spec: TaskSpec
    cbba: I64
    added_t: float
    cancelled_t: float | None = None


class MissionSystem:
    """See the module docstring and docs/autonomy.md, "Missions in flight"."""

    name = "mission"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, ctx: BuildContext, settings: MissionSettings, mesh: Mesh) -> None:
        self.cfg = settings
        sc = ctx.scenario
        self.frame: LocalFrame = ctx.frame
        self.log: EventLog = ctx.log
        self.world: World = ctx.world
        self.control: ControlMask = ctx.ports.control  # drones a ground station took over through MAVLink
        self.comms = mesh
        comms = mesh
        d = ctx.world.drones
        ws = [np.arange(ctx.fleet_slices[f.name].start, ctx.fleet_slices[f.name].stop) for f in sc.fleets
              if f.route is None]
        self.wid: I64 = np.concatenate(ws).astype(np.int64) if ws else np.zeros(0, np.int64)
        w = self.wid.size
        self.speed = np.minimum(d.max_h_speed[self.wid].astype(np.float64),
                                settings.speed_mps if settings.speed_mps else np.inf)
        self.width = footprint_width(settings.alt_m, settings.camera_fov_deg)
        self.gs_nodes = np.arange(comms.n_drones, comms.n_drones + comms.n_gs, dtype=np.int64)
        self.gs_pos = comms.gs_pos
        # follow/relay per allocatable task: followed manned vehicle (-1: none), slot offset (forward, right, up),
        # hold until the end (no service_s) and when that is
        self.fol_veh = np.zeros(0, np.int64)
        self.fol_off = np.zeros((0, 3))
        self.hold = np.zeros(0, bool)
        self.hold_until = np.zeros(0)
        # each worker's own knowledge of each manned vehicle, from beacons it received
        nm = comms.n_manned
        self.mv_pos = np.zeros((w, nm, 3))
        self.mv_vel = np.zeros((w, nm, 3))
        self.mv_head = np.zeros((w, nm))
        self.mv_t = np.full((w, nm), -np.inf)
        self.veh_head = np.zeros(nm)  # the vehicles' own heading (kept while they stand still)
        self.beacon_rate = Rate.hz(settings.beacon_hz, from_last=True)
        # task definitions (common knowledge once heard of) and their flight plans
        self.tasks = TaskSet()
        self.mtasks: list[MissionTask] = []
        self.parent = np.zeros(0, np.int64)
        self.wp_start = np.zeros(0, np.int64)
        self.wp_len = np.zeros(0, np.int64)
        self.wps = np.zeros((0, 3))
        self.areas: list[tuple[int, Polygon]] = []  # (mission task, polygon in local metres)
        n_areas = sum(1 for t in sc.tasks if t.kind in ("survey", "search"))
        self.shares = settings.shares_per_area or max(1, w // max(n_areas, 1))
        for spec in sc.tasks:
            self._define(spec, 0.0)
        m = len(self.tasks)
        # allocator over the workers; its rows are each worker's own knowledge
        slices = [(ctx.fleet_slices[f.name], capability_mask(f.capabilities)) for f in sc.fleets if f.route is None]
        cap = np.concatenate([np.full(sl.stop - sl.start, mask, np.uint32) for sl, mask in slices]) if ws else None
        self.cbba = CBBA(self.tasks, d.pos[self.wid] if w else np.zeros((0, 3)), speed=self.speed if w else 10.0,
                         cap=cap,
                         config=CBBAConfig(max_bundle=settings.max_bundle, discount=settings.discount,
                                           stale_rounds=settings.stale_rounds))
        self.transport = CommsTransport(comms, self.wid)
        self.transport.width = m
        self.closed = np.zeros((w, m), bool)  # heard done or cancelled
        self.cur = np.full(w, -1, np.int64)
        self.mode = np.zeros(w, np.int8)  # 0: going to the task, 1: serving / sweeping
        self.serve_end = np.zeros(w)
        self.wp = np.zeros(w, np.int64)
        self.fixed = np.full(w, -1, np.int64)
        if settings.allocation == "fixed_split":
            self._fixed_assign()
        self.done_t = np.full(m, np.inf)  # truth: when a drone first finished each allocatable task
        self.arrive_t = np.full(m, np.inf)
        self.done_by = np.full(m, -1, np.int64)  # drone id that finished it first (tests, metrics)
        self.conflicted = np.zeros(m, bool)
        self.round_rate = Rate(settings.period_s)
        self.rounds = 0
        # operator orders, in time order
        self.ops = sorted(settings.operator, key=lambda o: o.at_s)
        self.next_op = 0
        self.orders: list[list[Any]] = []  # [station node, add 0 / cancel 1, first task, count, next repeat, sent]
        self.op_sent: list[tuple[float, str, str]] = []
        self.op_heard_t: dict[tuple[int, int], float] = {}  # (add/cancel, first task) -> first heard by a worker
        # search objects: truth positions on the ground
        obj = [ctx.frame.local(o.lat, o.lon, 0.0) for o in settings.search_objects]
        self.obj = np.asarray(obj, np.float64).reshape(-1, 3)
        k = self.obj.shape[0]
        self.found_by = np.zeros((w, k), bool)  # drone's own knowledge: it saw object k
        self.acked = np.zeros((w, k), bool)  # it heard the ground station has it
        self.last_report = np.full((w, k), -np.inf)
        self.detect_t = np.full(k, np.inf)  # truth: first detection by any drone
        self.gs_heard = np.zeros((max(comms.n_gs, 1), k), bool)
        self.gs_t = np.full(k, np.inf)  # when a ground station received the first report of each
        self.ack_rate = Rate(ACK_PERIOD_S, from_last=True)
        self.rng = ctx.rng("mission")
        self._register()
        self.cov_label = np.zeros((0, 0), np.int64)
        self.cov_x0 = self.cov_y0 = 0.0
        self.cov_hit = np.zeros((0, 0), bool)
        self._coverage_setup()
        self.cov_series: list[tuple[float, float]] = []
        self.cov_sample_rate = Rate(10.0, from_last=True)

    # -- set-up ------------------------------------------------------------------------------------------------
    def _register(self) -> None:
        c = self.comms
        self.k_op = c.register_kind("mission/order", OP_BYTES, (3,), np.int64)
        self.k_done = c.register_kind("mission/done", DONE_BYTES, (), np.int64)
        self.k_beacon = c.register_kind("mission/vehicle", BEACON_BYTES, (9,), np.float64)
        self.k_find = c.register_kind("mission/find", FIND_BYTES, (2,), np.int64)
        self.k_ack = c.register_kind("mission/ack", max(1, (self.obj.shape[0] + 7) // 8 + 8),
                                     (self.obj.shape[0],), np.bool_)

    def _enu(self, lat: float, lon: float, alt: float) -> F64:
        return np.asarray(self.frame.local(lat, lon, alt), np.float64)

    def _polygon(self, spec: TaskSpec) -> Polygon:
        poly = spec.polygon()
        assert poly is not None
        ring = np.asarray(poly.exterior.coords)
        xyz = np.asarray(self.frame.local(ring[:, 1], ring[:, 0], 0.0))
        xyz = xyz if xyz.shape[-1] == 3 else xyz.T
        return Polygon(xyz[:, :2])

    def _define(self, spec: TaskSpec, t: float) -> I64:
        """Append one operator task's allocatable parts to the task set (not yet known to any drone)."""
        end = np.inf if spec.end_s is None else spec.end_s
        cap = spec.capability_mask()
        veh, off = -1, np.zeros((1, 3))
        hold = spec.kind in ("follow", "relay") and spec.service_s <= 0.0
        if spec.kind == "follow":
            names = self.comms.manned_names
            if spec.vehicle not in names:
                self.log.add(t, "warning", "mission", f"task {spec.id!r}: no manned vehicle named "
                                                          f"{spec.vehicle!r}; skipped")
                ids = np.zeros(0, np.int64)
            else:
                veh = names.index(spec.vehicle)
                off = np.asarray(spec.offsets, np.float64).reshape(-1, 3)
                m = self.world.manned
                h = self._heading(m.vel[veh], 0.0)
                # allocation position of each slot: where it is at definition (common knowledge of the order)
                p = slot_positions(m.pos[veh][None, :], np.array([h]), off)
                ids = self.tasks.add(p, value=spec.value / off.shape[0], kind=int(TaskKind.FOLLOW),
                                     t_start=spec.start_s, t_end=end, service=spec.service_s, req_cap=cap)
                self._plans([q[None, :] for q in p])
        elif spec.kind == "relay" and self.comms.n_gs:
            p = self._relay_points(spec)
            ids = self.tasks.add(p, value=spec.value / p.shape[0], kind=int(TaskKind.RELAY), t_start=spec.start_s,
                                 t_end=end, service=spec.service_s, req_cap=cap)
            self._plans([q[None, :] for q in p])
        elif spec.at is not None:
            if spec.kind == "relay":
                self.log.add(t, "warning", "mission", f"task {spec.id!r}: no ground station to relay to; "
                                                          "held at its point")
            p = self._enu(spec.at.lat, spec.at.lon, spec.at.alt_m)
            ids = self.tasks.add(p[None, :], value=spec.value, kind=int(TASK_KINDS[spec.kind]), t_start=spec.start_s,
                                 t_end=end, service=spec.service_s, req_cap=cap)
            self._plans([p[None, :]])
        else:
            plan = plan_coverage(self._polygon(spec), self.shares, self.cfg.alt_m, self.cfg.camera_fov_deg,
                                 self.cfg.overlap)
            paths = [np.column_stack([p, np.full(len(p), self.cfg.alt_m)]) if len(p) else
                     np.asarray([[*part.representative_point().coords[0], self.cfg.alt_m]])
                     for p, part in zip(plan.paths, plan.parts, strict=True)]
            starts = np.array([p[0] for p in paths])
            spd = float(np.median(self.speed)) if self.speed.size else 10.0
            ids = self.tasks.add(starts, value=spec.value / len(paths), kind=int(TASK_KINDS[spec.kind]),
                                 t_start=spec.start_s, t_end=end, service=plan.lengths() / spd, req_cap=cap)
            self._plans(paths)
            self.areas.append((len(self.mtasks), self._polygon(spec)))
        if hold:
            self.tasks.service[ids] = -1.0  # the allocator's mark of a hold: no task after it in a path
        self.parent = np.concatenate([self.parent, np.full(ids.size, len(self.mtasks), np.int64)])
        k = ids.size
        self.fol_veh = np.concatenate([self.fol_veh, np.full(k, veh, np.int64)])
        self.fol_off = np.vstack([self.fol_off, np.broadcast_to(off, (k, 3)) if k else np.zeros((0, 3))])
        self.hold = np.concatenate([self.hold, np.full(k, hold)])
        self.hold_until = np.concatenate([self.hold_until, np.full(k, end)])
        self.mtasks.append(MissionTask(spec, ids, t))
        return ids

    def _relay_points(self, spec: TaskSpec) -> F64:
        """Relay positions, evenly on the segment station -> point at the task's height: k = ceil(D / s) - 1
        relays (at least one) for D the distance and s = relay_margin x the smaller radio range (station, workers),
        so that every hop, the station's and the far end's included, is at most s long."""
        assert spec.at is not None
        p = self._enu(spec.at.lat, spec.at.lon, spec.at.alt_m)
        g = self.gs_nodes[0] if spec.station not in self.comms.gs_names else \
            self.gs_nodes[self.comms.gs_names.index(spec.station)]
        st = self.comms.gs_pos[int(g) - self.comms.n_drones]
        rng_m = float(self.comms.max_range[g])
        if self.wid.size:
            rng_m = min(rng_m, float(self.comms.max_range[self.wid].min()))
        s = self.cfg.relay_margin * rng_m
        k = max(1, int(np.ceil(np.linalg.norm(p - st) / s)) - 1)
        f = np.arange(1, k + 1)[:, None] / (k + 1)
        out = st[None, :] + f * (p - st)[None, :]
        out[:, 2] = p[2]
        return np.asarray(out, np.float64)

    @staticmethod
    def _heading(vel: F64, old: float) -> float:
        """Heading (rad from east, counter-clockwise) of a velocity; the old one while standing still."""
        return float(np.arctan2(vel[1], vel[0])) if np.hypot(vel[0], vel[1]) > 0.5 else old

    def _plans(self, paths: list[F64]) -> None:
        for p in paths:
            self.wp_start = np.append(self.wp_start, self.wps.shape[0])
            self.wp_len = np.append(self.wp_len, p.shape[0])
            self.wps = np.vstack([self.wps, p])

    def _fixed_assign(self) -> None:
        """Baseline: worker q takes share q of the first area (in order), no allocation, no re-planning."""
        area = next((mt.cbba for mt in self.mtasks if mt.spec.kind in ("survey", "search")), np.zeros(0, np.int64))
        k = min(area.size, self.wid.size)
        self.fixed[:k] = area[:k]

    def _coverage_setup(self) -> None:
        cell = self.cfg.coverage_cell_m
        polys = [p for _, p in self.areas]
        if not polys:
            return
        b = np.array([p.bounds for p in polys])
        old = (self.cov_x0, self.cov_y0, self.cov_hit) if self.cov_label.size else None
        # the raster is aligned to a lattice through the origin, so a grid rebuilt for an added area keeps
        # the cells already seen
        self.cov_x0 = float(np.floor(b[:, 0].min() / cell) * cell)
        self.cov_y0 = float(np.floor(b[:, 1].min() / cell) * cell)
        nx = int(np.ceil((b[:, 2].max() - self.cov_x0) / cell)) + 1
        ny = int(np.ceil((b[:, 3].max() - self.cov_y0) / cell)) + 1
        xs = self.cov_x0 + (np.arange(nx) + 0.5) * cell
        ys = self.cov_y0 + (np.arange(ny) + 0.5) * cell
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        self.cov_label = np.full((nx, ny), -1, np.int64)
        for a, (_, p) in enumerate(self.areas):
            inside = contains_xy(p, gx, gy) & (self.cov_label < 0)
            self.cov_label[inside] = a
        self.cov_hit = np.zeros((nx, ny), bool)
        if old is not None:
            sx, sy = round((old[0] - self.cov_x0) / cell), round((old[1] - self.cov_y0) / cell)
            self.cov_hit[sx:sx + old[2].shape[0], sy:sy + old[2].shape[1]] = old[2]
        self.cov_total = np.bincount(self.cov_label[self.cov_label >= 0], minlength=len(self.areas))
        r = int(np.ceil(self.width / 2.0 / cell)) + 1
        ox, oy = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
        keep = (np.hypot(np.abs(ox) - 1, np.abs(oy) - 1) * cell <= self.width / 2.0)  # candidates; exact test later
        self.cov_off = np.column_stack([ox[keep], oy[keep]])

    # -- operator API ------------------------------------------------------------------------------------------
    def add_task(self, spec: TaskSpec | dict[str, Any], station: str | None = None) -> I64:
        """Operator tasking from Python: define the task now and flood it from a ground station; drones bid on
        it only once the order reaches them.  Returns its allocatable task ids."""
        if isinstance(spec, dict):
            spec = TaskSpec.model_validate(spec)
        return self._send_add(spec, station, self.world.t)

    def cancel_task(self, task_id: str, station: str | None = None) -> None:
        """Cancel a task by id, flooded from a ground station like an added one."""
        self._send_cancel(task_id, station, self.world.t)

    def _station(self, station: str | None) -> int:
        if not self.comms.n_gs:
            raise ValueError("operator orders are sent from a ground station; the scenario has none")
        if station is None:
            return int(self.gs_nodes[0])
        if station not in self.comms.gs_names:
            raise ValueError(f"no ground station named {station!r}; known: {self.comms.gs_names}")
        return int(self.gs_nodes[self.comms.gs_names.index(station)])

    def _send_add(self, spec: TaskSpec, station: str | None, t: float) -> I64:
        src = self._station(station)
        if any(mt.spec.id == spec.id for mt in self.mtasks):
            raise ValueError(f"task id {spec.id!r} is already used")
        old = len(self.tasks)
        ids = self._define(spec, t)
        grow = len(self.tasks) - old
        if grow:
            self.cbba.add_tasks(grow, known=False)
            self.closed = np.pad(self.closed, ((0, 0), (0, grow)))
            self.done_t = np.append(self.done_t, np.full(grow, np.inf))
            self.arrive_t = np.append(self.arrive_t, np.full(grow, np.inf))
            self.done_by = np.append(self.done_by, np.full(grow, -1, np.int64))
            self.conflicted = np.append(self.conflicted, np.zeros(grow, bool))
            self.transport.width = len(self.tasks)
            if spec.kind in ("survey", "search"):
                self._coverage_setup()
            self._order(src, 0, old, grow, t)
        self.op_sent.append((t, "add", spec.id))
        return ids

    def _send_cancel(self, task_id: str, station: str | None, t: float) -> None:
        src = self._station(station)
        mt = next((m for m in self.mtasks if m.spec.id == task_id), None)
        if mt is None:
            raise ValueError(f"no task with id {task_id!r}")
        mt.cancelled_t = t
        if mt.cbba.size:
            self._order(src, 1, int(mt.cbba[0]), int(mt.cbba.size), t)
        self.op_sent.append((t, "cancel", task_id))

    def _order(self, src: int, kind: int, first: int, count: int, t: float) -> None:
        """Flood an order now and keep it for repeats (an operator out of range waits for the relay)."""
        self.comms.flood([src], self.k_op, np.array([[kind, first, count]]), ttl=TTL)
        self.orders.append([src, kind, first, count, t + self.cfg.order_repeat_s, 1])

    def _repeat_orders(self, t: float, heard: NDArray[np.int32] | None) -> None:
        """Re-flood orders the station has no sign of: an add until a CBBA row the station received shows a
        winner for one of its parts; a cancel ``order_repeats`` times."""
        keep = []
        for o in self.orders:
            src, kind, first, count, due, sent = o
            if kind == 0 and heard is not None and bool((heard[:, first:first + count] >= 0).any()):
                continue
            if sent >= self.cfg.order_repeats:
                continue
            if t + 1e-9 >= due:
                self.comms.flood([src], self.k_op, np.array([[kind, first, count]]), ttl=TTL)
                o[4], o[5] = t + self.cfg.order_repeat_s, sent + 1
            keep.append(o)
        self.orders = keep

    # -- the tick ----------------------------------------------------------------------------------------------
    def step(self, ctx: TickContext) -> None:
        t = ctx.t
        while self.next_op < len(self.ops) and self.ops[self.next_op].at_s <= t + 1e-9:
            o = self.ops[self.next_op]
            self.next_op += 1
            if o.add is not None:
                self._send_add(o.add, o.station, t)
            elif o.cancel is not None:
                self._send_cancel(o.cancel, o.station, t)
        if not self.wid.size:
            return
        self._beacon(ctx)
        d = ctx.world.drones
        self._receive(t)
        heard = self.transport.station_rows()
        if self.orders:
            self._repeat_orders(t, heard)
        ok = d.status[self.wid] == DroneStatus.ACTIVE
        ok &= ~self.control.external[self.wid]
        if self.cfg.allocation == "cbba" and self.round_rate.due(t):
            self._round(ctx, ok)
        self._fly(ctx, ok)
        if self.obj.shape[0]:
            self._search(ctx, ok)
        if self.cov_label.size:
            self._coverage(ctx, ok)

    def _beacon(self, ctx: TickContext) -> None:
        """Each manned vehicle that a live follow task escorts broadcasts its own state (flooded a few hops):
        ``[vehicle, x, y, z, vx, vy, vz, heading, t]``.  A vehicle whose radio is down sends nothing."""
        live = (self.fol_veh >= 0) & self.tasks.active
        if not live.any() or not self.beacon_rate.due(ctx.t):
            return
        m = ctx.world.manned
        v = np.unique(self.fol_veh[live])
        moving = np.hypot(m.vel[v, 0], m.vel[v, 1]) > 0.5
        self.veh_head[v] = np.where(moving, np.arctan2(m.vel[v, 1], m.vel[v, 0]), self.veh_head[v])
        pl = np.column_stack([v, m.pos[v], m.vel[v], self.veh_head[v], np.full(v.size, ctx.t)])
        self.comms.flood(self.comms.n_drones + self.comms.n_gs + v, self.k_beacon, pl, ttl=BEACON_TTL)

    def _receive(self, t: float) -> None:
        """Apply what each drone (and ground station) received this tick."""
        self.transport.collect()
        ib = self.comms.inbox(self.k_op)
        if len(ib):
            r = self.transport.index_of[ib.receivers]
            mine = r >= 0
            r, pl = r[mine], ib.payload[mine]
            for kind, first, cnt in np.unique(pl, axis=0).tolist():
                sel = r[(pl[:, 0] == kind) & (pl[:, 1] == first)]
                cols = np.arange(first, first + cnt)
                rr, cc = np.repeat(sel, cnt), np.tile(cols, sel.size)
                if kind == 0:
                    self.cbba.usable[rr, cc] = ~self.closed[rr, cc]
                else:
                    self.closed[rr, cc] = True
                    self.cbba.usable[rr, cc] = False
                self.cbba.touch(sel)
                self.op_heard_t.setdefault((int(kind), int(first)), t)
        ib = self.comms.inbox(self.k_beacon)
        if len(ib):
            r = self.transport.index_of[ib.receivers]
            mine = r >= 0
            r, pl = r[mine], ib.payload[mine]
            v = pl[:, 0].astype(np.int64)
            # newest beacon per (receiver, vehicle); older or repeated ones change nothing
            o = np.lexsort((pl[:, 8], v, r))
            r, v, pl = r[o], v[o], pl[o]
            last = np.ones(r.size, bool)
            last[:-1] = (r[1:] != r[:-1]) | (v[1:] != v[:-1])
            r, v, pl = r[last], v[last], pl[last]
            new = pl[:, 8] > self.mv_t[r, v]
            r, v, pl = r[new], v[new], pl[new]
            self.mv_pos[r, v] = pl[:, 1:4]
            self.mv_vel[r, v] = pl[:, 4:7]
            self.mv_head[r, v] = pl[:, 7]
            self.mv_t[r, v] = pl[:, 8]
        ib = self.comms.inbox(self.k_done)
        if len(ib):
            r = self.transport.index_of[ib.receivers]
            mine = r >= 0
            r, j = r[mine], ib.payload[mine]
            self.closed[r, j] = True
            self.cbba.usable[r, j] = False
            self.cbba.touch(r)
        if self.obj.shape[0]:
            ib = self.comms.inbox(self.k_find)
            if len(ib):
                g = ib.receivers - self.comms.n_drones
                isgs = (g >= 0) & (g < self.comms.n_gs)
                g, obj = g[isgs], ib.payload[isgs, 0]
                new = ~self.gs_heard[g, obj]
                self.gs_heard[g, obj] = True
                first = obj[new & ~np.isfinite(self.gs_t[obj])]
                self.gs_t[first] = t
            ib = self.comms.inbox(self.k_ack)
            if len(ib):
                r = self.transport.index_of[ib.receivers]
                mine = r >= 0
                np.logical_or.at(self.acked, r[mine], ib.payload[mine])

    def _round(self, ctx: TickContext, ok: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        alg = self.cbba
        alg.pos = d.pos[self.wid].copy()
        # paths start here and now; the discount stays referenced to the mission start (alg.now = 0), so bids
        # made in different rounds compare fairly (a later bid must not win just by being made later)
        alg.t_avail[:] = ctx.t
        spare = np.maximum(d.battery_wh[self.wid] - d.reserve_frac[self.wid] * d.capacity_wh[self.wid], 0.0)
        power = cruise_power_w(d.hover_power_w[self.wid].astype(np.float64), d.drag_power_coef[self.wid], self.speed)
        alg.t_limit[:] = ctx.t + np.maximum(3600.0 * spare / np.maximum(power, 1e-9), 1e-3)
        gone = alg.alive & ~ok
        if gone.any():
            alg.fail(np.flatnonzero(gone))
        alg.step(self.transport)
        self.rounds += 1

    def _targets(self) -> I64:
        """Each worker's task now: the first entry of its own path it still counts as open."""
        if not len(self.tasks):
            return np.full(self.wid.size, -1, np.int64)
        if self.cfg.allocation == "fixed_split":
            tgt = self.fixed.copy()
            shut = self.closed[np.arange(tgt.size), np.maximum(tgt, 0)]
            return np.where((tgt >= 0) & ~shut, tgt, -1)
        path = self.cbba.path
        rows = np.arange(path.shape[0])[:, None]
        open_ = (path >= 0) & self.cbba.usable[rows, np.maximum(path, 0)]
        k = np.argmax(open_, axis=1)
        return np.where(open_[np.arange(path.shape[0]), k], path[np.arange(path.shape[0]), k], -1)

    def _fly(self, ctx: TickContext, ok: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        t = ctx.t
        tgt = np.where(ok, self._targets(), -1)
        switch = tgt != self.cur
        self.cur[switch] = tgt[switch]
        self.mode[switch] = 0
        self.wp[switch] = 0
        # idle workers wait over their launch point in the transit layer: in range of the base, carrying their
        # unacknowledged finds home if the mesh cannot (store and forward), and ready for new orders
        idle = np.flatnonzero(ok & (self.cur < 0))
        if idle.size:
            node = self.wid[idle]
            home = d.home[node].copy()
            home[:, 2] = self.cfg.alt_m + self.cfg.transit_above_m
            self._steer(d, idle, home - d.pos[node])
        a = np.flatnonzero(self.cur >= 0)
        if not a.size:
            return
        j = self.cur[a]
        area = self.wp_len[j] > 1
        goal = self.wps[self.wp_start[j] + np.minimum(self.wp[a], self.wp_len[j] - 1)]
        ff = np.zeros((a.size, 3))
        fol = np.flatnonzero(self.fol_veh[j] >= 0)
        if fol.size:
            goal[fol], ff[fol] = self._slots(a[fol], j[fol], t)
        node = self.wid[a]
        err = goal - d.pos[node]
        dist = np.hypot(err[:, 0], err[:, 1])
        # going to a task: cruise in the transit layer above the work height, descend when close
        up = (self.mode[a] == 0) & (dist > TRANSIT_NEAR_M)
        err[up, 2] = self.cfg.alt_m + self.cfg.transit_above_m - d.pos[node[up], 2]
        there = (dist <= ACCEPT_H) & (np.abs(err[:, 2]) <= ACCEPT_V)
        # arrivals
        arr = there & (self.mode[a] == 0)
        if arr.any():
            aa, jj = a[arr], j[arr]
            self.mode[aa] = 1
            self.serve_end[aa] = np.where(self.hold[jj], self.hold_until[jj],
                                          np.maximum(t, self.tasks.t_start[jj]) + self.tasks.service[jj])
            self.wp[aa] = np.where(self.wp_len[jj] > 1, 1, 0)
            np.minimum.at(self.arrive_t, jj, t)
        sweep = there & (self.mode[a] == 1) & area & ~arr
        self.wp[a[sweep]] += 1
        fin = (self.mode[a] == 1) & np.where(area, self.wp[a] >= self.wp_len[j], t + 1e-9 >= self.serve_end[a])
        if fin.any():
            self._finish(a[fin], j[fin], t)
        # velocity towards the goal (point tasks: hold at the point while serving)
        go = ~fin
        a = a[go]
        self._steer(d, a, err[go])
        # follow: add the vehicle's estimated velocity once near the slot (no lag behind a moving slot)
        near = np.flatnonzero((np.abs(ff[go]).sum(axis=1) > 0) & (dist[go] <= TRANSIT_NEAR_M))
        if near.size:
            n2 = self.wid[a[near]]
            v = d.intent_vel[n2, :2] + ff[go][near, :2]
            sp = np.hypot(v[:, 0], v[:, 1])
            d.intent_vel[n2, :2] = v * np.minimum(1.0, self.speed[a[near]] / np.maximum(sp, 1e-9))[:, None]
        serving = a[self.mode[a] == 1]
        cnt = np.bincount(self.cur[serving], minlength=len(self.tasks))
        self.conflicted |= cnt > 1

    def _slots(self, a: I64, j: I64, t: float) -> tuple[F64, F64]:
        """Goal and feed-forward velocity of workers ``a`` on follow tasks ``j``, from their OWN last beacon of the
        vehicle: dead-reckoned (position + velocity x age) for up to ``dead_reckon_s``, then held there.  Before
        any beacon, the slot where the task was defined."""
        v = self.fol_veh[j]
        age = t - self.mv_t[a, v]
        known = np.isfinite(age)
        dr = np.where(known, np.minimum(age, self.cfg.dead_reckon_s), 0.0)
        est = self.mv_pos[a, v] + self.mv_vel[a, v] * dr[:, None]
        goal = np.where(known[:, None], slot_positions(est, self.mv_head[a, v], self.fol_off[j]),
                        self.tasks.pos[j])
        ff = np.where((known & (age <= self.cfg.dead_reckon_s))[:, None], self.mv_vel[a, v], 0.0)
        return goal, ff

    def _steer(self, d: Any, a: I64, err: F64) -> None:
        """Velocity intent for workers ``a`` towards ``err`` away: cruise, slowing so they can stop there."""
        node = self.wid[a]
        dist = np.hypot(err[:, 0], err[:, 1])
        decel = 0.5 * d.max_accel[node].astype(np.float64)
        vh = np.minimum.reduce([self.speed[a], np.sqrt(decel * dist), POS_GAIN * dist])
        v = np.empty((a.size, 3))
        v[:, :2] = err[:, :2] * (vh / np.maximum(dist, 1e-9))[:, None]
        v[:, 2] = np.clip(POS_GAIN * err[:, 2], -d.max_descent[node], d.max_climb[node])
        d.intent_vel[node] = v

    def _finish(self, a: I64, j: I64, t: float) -> None:
        """Drones ``a`` finished tasks ``j``: their own knowledge first, then a done notice to everyone."""
        self.closed[a, j] = True
        self.cbba.usable[a, j] = False
        self.cbba.touch(a)
        first = ~np.isfinite(self.done_t[j])
        self.done_by[j[first]] = self.wid[a[first]]
        np.minimum.at(self.done_t, j, t)
        self.cur[a] = -1
        self.mode[a] = 0
        self.comms.flood(self.wid[a], self.k_done, j, ttl=TTL)

    def _search(self, ctx: TickContext, ok: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        t, dt = ctx.t, ctx.dt
        det = self.cfg.detection
        tan = np.tan(np.radians(self.cfg.camera_fov_deg) / 2.0)
        h_max = max(float(d.pos[self.wid, 2].max(initial=0.0)), 1.0)
        radius = 4.0 * h_max * tan / 2.0  # 4 sigma at the highest worker
        p, q, _ = ctx.index.near_points(self.obj, radius)
        a = self.transport.index_of[q] if q.size else q
        keep = (a >= 0) & (q < self.comms.n_drones)
        p, q, a = p[keep], q[keep], a[keep]
        keep = ok[a] & ~self.found_by[a, p]
        p, q, a = p[keep], q[keep], a[keep]
        if p.size:
            h = d.pos[q, 2] - self.obj[p, 2]
            up = h > 1.0
            p, q, a, h = p[up], q[up], a[up], h[up]
            sigma = h * tan / 2.0
            dh = np.hypot(*(d.pos[q, :2] - self.obj[p, :2]).T)
            rate = det.rate_per_s * np.minimum(1.0, (det.ref_alt_m / h) ** 2) * np.exp(-0.5 * (dh / sigma) ** 2)
            hit = self.rng.random(p.size) < -np.expm1(-rate * dt)
            self.found_by[a[hit], p[hit]] = True
            np.minimum.at(self.detect_t, p[hit], t)
        # report every find not yet acknowledged, now and then again every report_retry_s
        due = self.found_by & ~self.acked & (t - self.last_report >= self.cfg.report_retry_s - 1e-9)
        due &= ok[:, None]
        ra, ro = np.nonzero(due)
        if ra.size:
            self.last_report[ra, ro] = t
            src = self.wid[ra]
            gd = np.linalg.norm(d.pos[src][:, None, :] - self.gs_pos[None, :, :], axis=2)
            dst = self.gs_nodes[np.argmin(gd, axis=1)]
            self.comms.unicast(src, dst, self.k_find, np.column_stack([ro, src]), ttl=TTL)
        if self.ack_rate.due(t):
            heard = self.gs_heard[: self.comms.n_gs]
            if heard.any():
                self.comms.flood(self.gs_nodes, self.k_ack, heard, ttl=TTL)

    def _coverage(self, ctx: TickContext, ok: NDArray[np.bool_]) -> None:
        d = ctx.world.drones
        pos = d.pos[self.wid[ok]]
        pos = pos[np.abs(pos[:, 2] - self.cfg.alt_m) <= 0.25 * self.cfg.alt_m]  # camera footprint as planned
        if pos.size:
            cell = self.cfg.coverage_cell_m
            cx = np.floor((pos[:, 0] - self.cov_x0) / cell).astype(np.int64)
            cy = np.floor((pos[:, 1] - self.cov_y0) / cell).astype(np.int64)
            gx = cx[:, None] + self.cov_off[None, :, 0]
            gy = cy[:, None] + self.cov_off[None, :, 1]
            # a cell is seen when its centre is inside the footprint (a disc of the footprint width) of the drone
            dx = self.cov_x0 + (gx + 0.5) * cell - pos[:, 0:1]
            dy = self.cov_y0 + (gy + 0.5) * cell - pos[:, 1:2]
            seen = (dx * dx + dy * dy <= (self.width / 2.0) ** 2).ravel()
            gx, gy = gx.ravel()[seen], gy.ravel()[seen]
            nx, ny = self.cov_label.shape
            inb = (gx >= 0) & (gx < nx) & (gy >= 0) & (gy < ny)
            self.cov_hit[gx[inb], gy[inb]] = True
        if self.cov_sample_rate.due(ctx.t):
            self.cov_series.append((round(ctx.t, 3), round(self.coverage_pct(), 3)))

    def coverage_pct(self) -> float:
        """Percentage of all survey/search area cells seen by a camera footprint so far."""
        if not self.cov_label.size:
            return 0.0
        inside = self.cov_label >= 0
        return 100.0 * float(np.count_nonzero(self.cov_hit & inside)) / max(int(inside.sum()), 1)

    # -- results -----------------------------------------------------------------------------------------------
    def task_report(self) -> list[dict[str, Any]]:
        out = []
        for mt in self.mtasks:
            done = self.done_t[mt.cbba] if mt.cbba.size else np.array([np.inf])
            finished = bool(np.isfinite(done).all()) and mt.cbba.size > 0
            end = mt.spec.end_s
            arrive = self.arrive_t[mt.cbba] if mt.cbba.size else np.array([np.inf])
            out.append({"id": mt.spec.id, "kind": mt.spec.kind, "done": finished,
                        "done_t": round(float(done.max()), 3) if finished else None,
                        "parts_done": int(np.isfinite(done).sum()), "parts": int(mt.cbba.size),
                        "on_time": finished and (end is None or bool((arrive <= end).all())),
                        "value": float(mt.spec.value * np.isfinite(done).mean()) if mt.cbba.size else 0.0,
                        "cancelled": mt.cancelled_t is not None})
        return out

    def metrics(self) -> dict[str, object]:
        rep = self.task_report()
        done = [r for r in rep if r["done"]]
        cst = self.comms.stats
        kinds = [k for k in self.comms.kinds.values() if k.name.startswith(("cbba/", "mission/"))]
        out: dict[str, object] = {
            "mission_workers": int(self.wid.size),
            "mission_allocation": self.cfg.allocation,
            "mission_tasks": len(rep),
            "mission_tasks_done": len(done),
            "mission_tasks_on_time": sum(1 for r in done if r["on_time"]),
            "mission_value_collected": round(sum(r["value"] for r in rep), 3),
            "mission_value_total": round(sum(mt.spec.value for mt in self.mtasks), 3),
            "mission_makespan_s": max((r["done_t"] for r in done), default=None),
            "mission_rounds": self.rounds,
            "mission_conflicts": int(self.conflicted.sum()),
            "mission_coord_messages": int(sum(cst[k.id].sent for k in kinds)),
            "mission_coord_transmissions": int(sum(cst[k.id].transmissions for k in kinds)),
            "mission_coord_bytes": int(sum(cst[k.id].bytes for k in kinds)),
            "mission_task_report": rep,
            "mission_operator_orders": len(self.op_sent),
        }
        if self.cov_label.size:
            out["mission_coverage_pct"] = round(self.coverage_pct(), 3)
            # at most 25 samples in the summary (evenly spaced, the last one kept); every 10 s in cov_series
            step = max(1, -(-len(self.cov_series) // 25))
            thin = self.cov_series[::step]
            if self.cov_series and thin[-1] != self.cov_series[-1]:
                thin.append(self.cov_series[-1])
            out["mission_coverage_series"] = thin
        if self.obj.shape[0]:
            found = np.isfinite(self.gs_t)
            out["search_objects"] = int(self.obj.shape[0])
            out["search_found_reported"] = int(found.sum())
            out["search_detected"] = int(np.isfinite(self.detect_t).sum())
            out["search_time_to_find_s"] = [None if not np.isfinite(x) else round(float(x), 3) for x in self.gs_t]
            out["search_time_to_find_all_s"] = round(float(self.gs_t.max()), 3) if found.all() else None
        if self.cfg.allocation == "cbba":
            out.update({f"mission_{k}": v for k, v in self.cbba.metrics().items()})
        return out

    def record_frame(self, mcap: McapRecorder, t: float) -> None:
        """Task markers (grey open, green done) and each worker's line to its current task, as a SceneUpdate."""
        ns = mcap.log_time_ns(t)
        done = np.isfinite(self.done_t)
        spheres = [scene.sphere(p, 8.0, (0.1, 0.8, 0.2) if dn else (0.7, 0.7, 0.7), 0.8)
                   for p, dn in zip(self.tasks.pos.tolist(), done.tolist(), strict=True)]
        a = np.flatnonzero(self.cur >= 0)
        d = self.world.drones
        ends = np.stack([d.pos[self.wid[a]], self.tasks.pos[self.cur[a]]], axis=1).reshape(-1, 3)
        lines = [scene.line(ends.tolist(), (1.0, 0.6, 0.0), 0.8, kind=scene.LINE_LIST)]
        update = scene.scene_update([scene.entity(ns, "mission", lines=lines, spheres=spheres)])
        mcap.write_json("/mission/tasks", t, update, schema_name="foxglove.SceneUpdate")


def slot_positions(pos: F64, heading: F64, off: F64) -> F64:
    """ENU positions of formation slots ``off`` = (forward, right, up) metres around vehicles at ``pos`` heading
    ``heading`` (rad from east, counter-clockwise); rows broadcast."""
    c, s = np.cos(heading), np.sin(heading)
    out = np.empty(np.broadcast_shapes(pos.shape, off.shape))
    out[..., 0] = pos[..., 0] + off[..., 0] * c + off[..., 1] * s
    out[..., 1] = pos[..., 1] + off[..., 0] * s - off[..., 1] * c
    out[..., 2] = pos[..., 2] + off[..., 2]
    return out


def build(ctx: BuildContext) -> list[MissionSystem]:
    """The mission system when the scenario has ``tasks`` or a ``mission`` section (tasks may come later from the
    operator); else nothing.  Drones coordinate only through messages: the mesh port is provided by the comms
    builder, which builds the default radio (docs/comms.md) for a mission without a ``comms`` section."""
    sc = ctx.scenario
    if not sc.tasks and sc.mission is None:
        return []
    if ctx.ports.mesh is None:
        raise ValueError("a mission needs the mesh port (skyhive.comms.system.build runs first)")
    return [MissionSystem(ctx, sc.mission or MissionSettings(), ctx.ports.mesh)]
