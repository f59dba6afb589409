"""External fleets in the world: real PX4 / ArduPilot vehicles as rows of the struct-of-arrays.

Each tick of ``skyhive fly`` (``fly.py``):

1. ``poll``  -- every vehicle link reads what arrived (``gcs.VehicleLink``) into the shared ``Telemetry`` rows;
2. ``sync``  -- the telemetry becomes the external drones' world state (position, velocity, battery, flying or on
   the ground), predicted forward to now; a vehicle not heard for ``link_loss_s`` is *lost*: its last state is
   predicted forward (braking to a hold, which is what PX4's offboard-loss and ArduPilot's GUIDED time-out do),
   so everyone else keeps planning around it;
3. the simulation ticks: mission, failsafe and the one safety layer (``flight/safety.py``) decide ``cmd_vel`` for
   every drone, simulated and external alike;
4. ``send``  -- the safety layer's ``cmd_vel`` goes out as velocity setpoints to the external vehicles skyhive
   controls, and each vehicle's launch / hand-back / landing steps advance (``COMMAND_LONG`` arm, take-off,
   mode switch, land, return).

Who is in charge of an external drone is its ``Stage``: only ``FLYING`` vehicles with a live link are commanded;
the others (connecting, launching, lost, handed to a pilot, landing on their own) are in their autopilot's hands
and ``ExternalControl`` gives the safety filter their observed velocity as their intent, so simulated and skyhive
-commanded drones keep clear of them.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from pymavlink import mavutil
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.config import ExternalFleet, pymavlink_url
from skyhive.mavlink.gcs import (
    AUTOPILOT_ARDUPILOT,
    AUTOPILOT_PX4,
    COPTER_GUIDED,
    LANDED_LANDING,
    LANDED_ON_GROUND,
    PX4_MAIN_OFFBOARD,
    Telemetry,
    VehicleLink,
    in_control_mode,
    mode_name,
)
from skyhive.mavlink.signing import parse_key
from skyhive.systems import ControlMask, Phase, TickContext
from skyhive.world.world import DroneState, DroneStatus

if TYPE_CHECKING:
    from skyhive.sim import Simulation

I64 = NDArray[np.int64]
FRESH_PREDICT_S = 0.5  # extrapolate a fresh fix by its velocity at most this far
ON_GROUND_M = 1.0
ENGAGE_STREAM_S = 0.5  # PX4 wants a setpoint stream before it accepts OFFBOARD
RETRY_S = 5.0  # after a refusal, try the step again this much later
HANDOVER_GRACE_S = 2.0  # a vehicle out of our control mode this long with a live link was taken over by a pilot
HOME_LAND_M = 3.0  # a returning vehicle this close (horizontally) to home is told to land
RETURN_DONE_WAIT_S = 3.0


class Stage(IntEnum):
    """Who flies an external vehicle, and which step of taking control it is on."""

    WAITING = 0  # never heard
    SYNC = 1  # heard; deciding what to do from its telemetry
    ARMING = 2
    TAKING_OFF = 3  # the autopilot climbs to the take-off height
    ENGAGING = 4  # setpoints streaming, switching to OFFBOARD / GUIDED
    FLYING = 5  # skyhive commands it
    LANDING = 6  # told to land (battery, operator, end of the run): the autopilot lands it
    DONE = 7  # landed after skyhive sent it down; not launched again
    HANDED_OVER = 8  # a pilot changed its mode while the link was up: skyhive does not take it back
    REFUSED = 9  # a step was refused: retried after RETRY_S


class ExternalControl:
    """DECIDE-phase system: drones skyhive does not command now fly on in the safety filter's eyes.

    ``gcs`` marks them; it is the simulation's control mask (``ports.control.external``), so the mission layer
    skips those drones (no tasks for a drone that cannot be told where to go; their tasks are re-allocated, and
    re-taken when the mark clears).  Their intent is their observed (or, when lost, predicted) velocity, so the
    safety filter plans everyone else around where they are really going.
    """

    name = "external-vehicles"
    phase = Phase.DECIDE
    period = 0.0

    def __init__(self, drones: DroneState, control: ControlMask) -> None:
        self.gcs = control.external
        self.observed_vel = np.zeros((drones.n, 3))

    def step(self, ctx: TickContext) -> None:
        d = ctx.world.drones
        idx = np.flatnonzero(self.gcs & (d.status <= DroneStatus.LANDING))
        d.intent_vel[idx] = self.observed_vel[idx]

    def metrics(self) -> dict[str, object]:
        return {"external_not_commanded": int(self.gcs.sum())}


def open_connection(url: str, source_system: int) -> Any:
    device, baud = pymavlink_url(url)
    kwargs: dict[str, Any] = {"source_system": source_system, "source_component": 190, "dialect": "common",
                              "autoreconnect": True}
    if baud is not None:
        kwargs["baud"] = baud
    conn = mavutil.mavlink_connection(device, **kwargs)
    # mavutil picks the MAVLink 1 encoder unless the MAVLINK20 environment variable is set: speak MAVLink 2 (the
    # protocol signing, extensions and PX4 / ArduPilot ground stations use) without touching the environment
    conn.mav = mav.MAVLink(conn, srcSystem=source_system, srcComponent=190)
    conn.mav.robust_parsing = True
    conn.WIRE_PROTOCOL_VERSION = "2.0"
    return conn


class ExternalFleets:
    """All external vehicles of a scenario: their links, stages and the world rows they own."""

    def __init__(self, sim: Simulation, clock: Callable[[], float],
                 warn: Callable[[str], None] | None = None) -> None:
        self.sim = sim
        self.clock = clock
        self.warn_fn = warn
        rows: list[int] = []
        cfgs: list[ExternalFleet] = []
        urls: list[tuple[str, int | None]] = []
        for fleet in sim.scenario.fleets:
            if fleet.external is None:
                continue
            sl = sim.fleet_slices[fleet.name]
            for k, ep in enumerate(fleet.external.endpoints):
                rows.append(sl.start + k)
                cfgs.append(fleet.external)
                urls.append((ep.url, ep.sysid))
        n = len(rows)
        self.world_idx: I64 = np.asarray(rows, np.int64)
        self.cfgs = cfgs
        self.tel = Telemetry(n)
        self.stage = np.zeros(n, np.int64)
        self.lost = np.zeros(n, bool)
        self.ever_heard = np.zeros(n, bool)
        self.stage_t = np.zeros(n)  # wall time the stage began
        self.retry_at = np.zeros(n)
        self.out_of_mode_since = np.full(n, np.inf)
        self.next_setpoint = np.zeros(n)
        self.lost_pos = np.zeros((n, 3))
        self.lost_vel = np.zeros((n, 3))
        self.lost_t = np.zeros(n)
        self.loss_s = np.asarray([c.link_loss_s for c in cfgs], float)
        self.period_s = np.asarray([1.0 / c.setpoint_hz for c in cfgs], float)
        self.t0 = clock()
        self.counts = {"link_losses": 0, "reconnects": 0, "never_connected": 0, "open_failed": 0,
                       "handed_over": 0, "refusals": 0, "launches": 0, "landings": 0}
        self.warned_silent = np.zeros(n, bool)
        self.links: list[VehicleLink | None] = []
        for k, ((url, sysid), cfg) in enumerate(zip(urls, cfgs, strict=True)):
            try:
                conn = open_connection(url, cfg.source_system)
            except (OSError, ValueError) as exc:
                self.counts["open_failed"] += 1
                self._warn(f"external vehicle {self._label(k)}: cannot open {url}: {exc}; flying on without it")
                self.links.append(None)
                continue
            if cfg.signing_key is not None:
                conn.setup_signing(parse_key(cfg.signing_key), sign_outgoing=True,
                                   allow_unsigned_callback=lambda _conn, msg_id: msg_id == 0)
            self.links.append(VehicleLink(k, conn, self.tel, sysid, cfg.command_timeout_s, clock,
                                          self._link_logger(k)))
        self.control = ExternalControl(sim.world.drones, sim.control)
        self.control.gcs[self.world_idx] = True
        sim.add_system(self.control)
        d = sim.world.drones
        d.status[self.world_idx] = DroneStatus.LANDED  # until their telemetry says otherwise
        d.vel[self.world_idx] = 0.0

    # -- logging ---------------------------------------------------------------------------------------------
    def _label(self, k: int) -> str:
        i = int(self.world_idx[k])
        name = next(f.name for f in self.sim.scenario.fleets if self.sim.fleet_slices[f.name].start <= i
                    < self.sim.fleet_slices[f.name].stop)
        return f"{name}[{i - self.sim.fleet_slices[name].start}]"

    def _warn(self, text: str, level: str = "warning") -> None:
        self.sim.log.add(self.sim.t, level, "external", text)
        if self.warn_fn is not None and level in ("warning", "error"):
            self.warn_fn(text)

    def _link_logger(self, k: int) -> Callable[[str, str], None]:
        def log(level: str, text: str) -> None:
            self._warn(f"{self._label(k)} {text}", level)
        return log

    # -- 1. telemetry in -------------------------------------------------------------------------------------
    def poll(self) -> None:
        for link in self.links:
            if link is not None:
                link.poll()

    # -- 2. telemetry -> world ---------------------------------------------------------------------------------
    def sync(self) -> None:
        """Write the external rows of the world from telemetry (vectorized over the external vehicles)."""
        now = self.clock()
        tel, d, w = self.tel, self.sim.world.drones, self.world_idx
        heard = np.isfinite(tel.t_heard)
        fresh = heard & (now - tel.t_heard <= self.loss_s)
        newly_lost = self.ever_heard & ~self.lost & ~fresh
        back = self.lost & fresh
        self.ever_heard |= heard
        if newly_lost.any():
            self._on_lost(np.flatnonzero(newly_lost), now)
        if back.any():
            self._on_back(np.flatnonzero(back))
        has = tel.has_position & ~self.lost
        if has.any():
            k = np.flatnonzero(has)
            pos = self.sim.frame.local(tel.lat[k], tel.lon[k], tel.rel_alt[k])
            age = np.clip(now - tel.t_pos[k], 0.0, FRESH_PREDICT_S)
            pos = pos + tel.vel_enu[k] * age[:, None]
            pos[:, 2] = np.maximum(pos[:, 2], 0.0)
            d.pos[w[k]] = pos
            d.vel[w[k]] = tel.vel_enu[k]
            self.control.observed_vel[w[k]] = tel.vel_enu[k]
            known = k[tel.battery[k] >= 0.0]
            d.battery_wh[w[known]] = tel.battery[known] * d.capacity_wh[w[known]]
            on_ground = (tel.landed_state[k] == LANDED_ON_GROUND) | (~tel.armed[k] & (tel.rel_alt[k] < ON_GROUND_M))
            st = d.status[w[k]]
            st = np.where(on_ground, DroneStatus.LANDED, st)
            st = np.where(~on_ground & (st >= DroneStatus.LANDED), DroneStatus.ACTIVE, st)
            st = np.where(~on_ground & (tel.landed_state[k] == LANDED_LANDING), DroneStatus.LANDING, st)
            d.status[w[k]] = st
        if self.lost.any():
            self._predict_lost(np.flatnonzero(self.lost), now)
        self.control.gcs[w] = (self.stage != Stage.FLYING) | self.lost

    def _predict_lost(self, k: I64, now: float) -> None:
        """Brake to a hold from the last fix: v(t) = v0 (1 - a t / |v0|) until it stops."""
        d, w = self.sim.world.drones, self.world_idx
        t = now - self.lost_t[k]
        v0 = self.lost_vel[k]
        speed = np.linalg.norm(v0, axis=1)
        a = 0.5 * d.max_accel[w[k]].astype(float)
        t_stop = speed / np.maximum(a, 1e-6)
        tt = np.minimum(t, t_stop)
        unit = v0 / np.maximum(speed, 1e-9)[:, None]
        pos = self.lost_pos[k] + v0 * tt[:, None] - 0.5 * (a * tt**2)[:, None] * unit
        pos[:, 2] = np.maximum(pos[:, 2], 0.0)
        vel = unit * np.maximum(speed - a * tt, 0.0)[:, None]
        d.pos[w[k]] = pos
        d.vel[w[k]] = vel
        self.control.observed_vel[w[k]] = vel

    def _on_lost(self, k: I64, now: float) -> None:
        d, w = self.sim.world.drones, self.world_idx
        self.lost[k] = True
        self.lost_t[k] = self.tel.t_pos[k]
        self.lost_pos[k] = d.pos[w[k]]
        self.lost_vel[k] = self.tel.vel_enu[k]
        self.counts["link_losses"] += int(k.size)
        for j in k:
            link = self.links[j]
            if link is not None:
                link.pending.clear()  # a command sent into a dead link is not a refusal
            self._warn(f"external vehicle {self._label(int(j))} link lost (not heard for "
                       f"{self.loss_s[j]:g} s): its autopilot's failsafe is in charge; predicted forward meanwhile")

    def _on_back(self, k: I64) -> None:
        self.lost[k] = False
        self.counts["reconnects"] += int(k.size)
        for j in k:
            if self.stage[j] not in (Stage.DONE, Stage.LANDING):
                self._set_stage(int(j), Stage.SYNC)  # re-synchronise and take it back
            self._warn(f"external vehicle {self._label(int(j))} link back: re-synchronising", "info")

    # -- 4. commands out ---------------------------------------------------------------------------------------
    def send(self) -> None:
        """Setpoints to the commanded vehicles; the launch / hand-back / landing steps of the others."""
        now = self.clock()
        d, w = self.sim.world.drones, self.world_idx
        for link in self.links:
            if link is not None:
                link.housekeeping(now)
        due = (now >= self.next_setpoint) & ~self.lost & np.isin(self.stage, (Stage.FLYING, Stage.ENGAGING))
        for k in np.flatnonzero(due):
            link = self.links[k]
            if link is None:
                continue
            self.next_setpoint[k] = max(self.next_setpoint[k] + self.period_s[k], now)
            v = d.cmd_vel[w[k]] if self.stage[k] == Stage.FLYING else np.zeros(3)
            link.velocity_setpoint(v)
        # only vehicles with a step to take: not simply flying in our mode under setpoints
        tel = self.tel
        steady = (self.stage == Stage.FLYING) & in_control_mode(tel.autopilot, tel.custom_mode) \
            & (d.status[w] == DroneStatus.ACTIVE) & np.isinf(self.out_of_mode_since)
        for k in np.flatnonzero(~steady & ~self.lost):
            self._advance(int(k), now)
        self._warn_silent(now)

    def _warn_silent(self, now: float) -> None:
        silent = ~self.ever_heard & ~self.warned_silent
        if not silent.any():
            return
        late = silent & (now - self.t0 >= np.asarray([c.connect_timeout_s for c in self.cfgs]))
        for k in np.flatnonzero(late):
            self.warned_silent[k] = True
            link = self.links[k]
            if link is None:
                continue
            self.counts["never_connected"] += 1
            self._warn(f"external vehicle {self._label(int(k))} ({link.conn.address}) has not answered in "
                       f"{self.cfgs[k].connect_timeout_s:g} s; flying on without it (it joins if it answers later)")

    def _set_stage(self, k: int, stage: Stage) -> None:
        self.stage[k] = stage
        self.stage_t[k] = self.clock()
        self.out_of_mode_since[k] = np.inf

    def _refused(self, k: int, what: str) -> Callable[[int], None]:
        def on_result(result: int) -> None:
            if result == mav.MAV_RESULT_ACCEPTED:
                return
            self.counts["refusals"] += 1
            self._set_stage(k, Stage.REFUSED)
            self.retry_at[k] = self.clock() + RETRY_S
        return on_result

    def _advance(self, k: int, now: float) -> None:
        """One vehicle's next step (only vehicles not simply flying under setpoints do real work here)."""
        link = self.links[k]
        if link is None or link.sysid is None or self.tel.autopilot[k] < 0:
            return
        tel, stage = self.tel, Stage(int(self.stage[k]))
        ap = int(tel.autopilot[k])
        if ap not in (AUTOPILOT_PX4, AUTOPILOT_ARDUPILOT):
            if stage != Stage.HANDED_OVER:
                self._set_stage(k, Stage.HANDED_OVER)
                self._warn(f"external vehicle {self._label(k)}: autopilot {ap} is neither PX4 nor ArduPilot; "
                           "skyhive watches it but does not command it")
            return
        if self.lost[k]:
            return
        armed, mode = bool(tel.armed[k]), int(tel.custom_mode[k])
        in_mode = in_control_mode(ap, mode)
        airborne = bool(tel.rel_alt[k] >= ON_GROUND_M and tel.landed_state[k] != LANDED_ON_GROUND)
        i = int(self.world_idx[k])
        status = int(self.sim.world.drones.status[i])
        if stage == Stage.WAITING:
            if np.isfinite(tel.t_pos[k]):
                self._warn(f"external vehicle {self._label(k)} connected: system {link.sysid}, "
                           f"{'PX4' if ap == AUTOPILOT_PX4 else 'ArduPilot'}, {mode_name(ap, mode)}, "
                           f"{'armed' if armed else 'disarmed'}", "info")
                self._set_stage(k, Stage.SYNC)
            return
        if stage == Stage.REFUSED:
            if now >= self.retry_at[k]:
                self._set_stage(k, Stage.SYNC)
            return
        if stage == Stage.SYNC:
            if tel.t_heartbeat[k] < self.stage_t[k]:
                return  # decide on a mode and armed state heard after the (re)connection, not before a loss
            if airborne and armed:
                self._engage(k, link, ap, in_mode)
            elif not armed and not airborne:
                self._launch(k, link, ap, mode, now)
            return
        if stage == Stage.ARMING:
            if armed and not link.busy(mav.MAV_CMD_COMPONENT_ARM_DISARM):
                self._takeoff(k, link, ap)
            return
        if stage == Stage.TAKING_OFF:
            target = self.cfgs[k].takeoff_alt_m
            if tel.rel_alt[k] >= target - 1.0:
                self._engage(k, link, ap, in_mode)
            elif not armed and now - self.stage_t[k] > 5.0:
                self._set_stage(k, Stage.SYNC)  # disarmed on the pad (e.g. auto-disarm): start over
            return
        if stage == Stage.ENGAGING:
            if in_mode:
                self._set_stage(k, Stage.FLYING)
                self.counts["launches"] += 1
                return
            if now - self.stage_t[k] >= ENGAGE_STREAM_S and not link.busy(mav.MAV_CMD_DO_SET_MODE):
                link.set_mode(PX4_MAIN_OFFBOARD << 16 if ap == AUTOPILOT_PX4 else COPTER_GUIDED,
                              on_result=self._refused(k, "mode"))
                self.stage_t[k] = now + 2.0  # wait for the mode to show in HEARTBEAT before asking again
            return
        if stage == Stage.FLYING:
            if not in_mode:
                if self.out_of_mode_since[k] == np.inf:
                    self.out_of_mode_since[k] = now
                elif now - self.out_of_mode_since[k] > HANDOVER_GRACE_S:
                    self.counts["handed_over"] += 1
                    self._set_stage(k, Stage.HANDED_OVER)
                    ours = "OFFBOARD" if ap == AUTOPILOT_PX4 else "GUIDED"
                    self._warn(f"external vehicle {self._label(k)} left {ours} for {mode_name(ap, mode)} with the "
                               "link up: a pilot or its own failsafe has it; skyhive stops commanding it")
                return
            self.out_of_mode_since[k] = np.inf
            home = self.sim.world.drones.home[i]
            near_home = float(np.hypot(*(self.sim.world.drones.pos[i, :2] - home[:2]))) < HOME_LAND_M
            if status == DroneStatus.LANDING or (status == DroneStatus.RETURNING and near_home):
                self.land(k)
            return
        if stage == Stage.LANDING:
            if not airborne and not armed:
                self._set_stage(k, Stage.DONE)
                self.counts["landings"] += 1
            return
        if stage == Stage.HANDED_OVER and in_mode and armed:
            self._set_stage(k, Stage.FLYING)  # the pilot handed it back

    def _launch(self, k: int, link: VehicleLink, ap: int, mode: int, now: float) -> None:
        if self.stage[k] == Stage.DONE:
            return
        if ap == AUTOPILOT_ARDUPILOT and mode != COPTER_GUIDED:
            # ArduCopter takes off in GUIDED: switch first, arm once HEARTBEAT shows GUIDED (never armed in a mode
            # it would not take off from)
            if not link.busy(mav.MAV_CMD_DO_SET_MODE) and now >= self.retry_at[k]:
                link.set_mode(COPTER_GUIDED, on_result=self._refused(k, "mode"))
                self.retry_at[k] = now + 1.5  # the next HEARTBEAT shows the new mode
            return
        self._set_stage(k, Stage.ARMING)
        link.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1.0, on_result=self._refused(k, "arm"))

    def _takeoff(self, k: int, link: VehicleLink, ap: int) -> None:
        alt = self.cfgs[k].takeoff_alt_m
        # PX4 reads param 7 as AMSL (home AMSL = fix altitude - relative altitude); ArduCopter as above home
        p7 = float(self.tel.home_amsl[k]) + alt if ap == AUTOPILOT_PX4 else alt
        self._set_stage(k, Stage.TAKING_OFF)
        link.command(mav.MAV_CMD_NAV_TAKEOFF, 0.0, 0.0, 0.0, float("nan"), float("nan"), float("nan"), p7,
                     on_result=self._refused(k, "takeoff"))

    def _engage(self, k: int, link: VehicleLink, ap: int, in_mode: bool) -> None:
        self._set_stage(k, Stage.FLYING if in_mode else Stage.ENGAGING)
        if in_mode:
            self.counts["launches"] += 1

    def land(self, k: int) -> None:
        link = self.links[k]
        if link is None or self.stage[k] in (Stage.LANDING, Stage.DONE):
            return
        self._set_stage(k, Stage.LANDING)
        link.command(mav.MAV_CMD_NAV_LAND, 0.0, 0.0, 0.0, float("nan"), float("nan"), float("nan"), float("nan"))

    def return_all(self, wait_s: float = RETURN_DONE_WAIT_S) -> int:
        """End of the run: every vehicle skyhive flies is sent home on its own autopilot (RTL); returns how many
        acknowledged.  Vehicles in a pilot's hands are left alone."""
        asked: list[int] = []
        acked: list[int] = []
        for k, link in enumerate(self.links):
            if link is None or self.lost[k] or self.stage[k] not in (Stage.FLYING, Stage.ENGAGING, Stage.TAKING_OFF):
                continue
            asked.append(k)

            def on_result(result: int, k: int = k) -> None:
                if result == mav.MAV_RESULT_ACCEPTED:
                    acked.append(k)

            link.command(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, on_result=on_result)
            self._set_stage(k, Stage.LANDING)
        deadline = self.clock() + wait_s
        while asked and len(acked) < len(asked) and self.clock() < deadline:
            self.poll()
            for link in self.links:
                if link is not None:
                    link.housekeeping(self.clock())
            _sleep(0.02)
        return len(acked)

    # -- results -----------------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        links = [lk for lk in self.links if lk is not None]
        rtt = np.asarray([r for lk in links for r in lk.counters.rtt_s], float)
        wall = max(self.clock() - self.t0, 1e-9)
        setpoints = sum(lk.counters.setpoints for lk in links)
        out: dict[str, Any] = {
            "external_vehicles": int(self.world_idx.size),
            "external_vehicles_connected": int(self.ever_heard.sum()),
            "external_vehicles_lost_now": int(self.lost.sum()),
            "external_link_losses": self.counts["link_losses"],
            "external_reconnects": self.counts["reconnects"],
            "external_never_connected": self.counts["never_connected"],
            "external_open_failed": self.counts["open_failed"],
            "external_launches": self.counts["launches"],
            "external_landings": self.counts["landings"],
            "external_handed_over": self.counts["handed_over"],
            "external_setpoints_sent": setpoints,
            "external_setpoint_rate_hz": round(setpoints / wall, 1),
            "external_commands_sent": sum(lk.counters.commands_sent for lk in links),
            "external_commands_acked": sum(lk.counters.commands_acked for lk in links),
            "external_commands_rejected": sum(lk.counters.commands_rejected for lk in links),
            "external_commands_timed_out": sum(lk.counters.commands_timed_out for lk in links),
            "external_command_rtt_ms_mean": round(float(rtt.mean()) * 1000, 2) if rtt.size else None,
            "external_command_rtt_ms_p95": round(float(np.percentile(rtt, 95)) * 1000, 2) if rtt.size else None,
            "external_command_rtt_ms_max": round(float(rtt.max()) * 1000, 2) if rtt.size else None,
            "external_messages_in": sum(lk.counters.messages for lk in links),
            "external_rejections": [r for lk in links for r in lk.counters.rejections][:20],
            "external_stages": {s.name.lower(): int(np.count_nonzero(self.stage == s)) for s in Stage
                                if np.count_nonzero(self.stage == s)},
        }
        return out

    def close(self) -> None:
        for link in self.links:
            if link is not None:
                link.close()


def _sleep(s: float) -> None:
    import time

    time.sleep(s)
