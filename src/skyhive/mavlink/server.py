"""UDP MAVLink 2 endpoints for the exposed drones: sockets, parsing, signing policy, telemetry.

Port plan: exposed vehicle k (0-based, in the order of ``--drones``) lives on
port ``base_port + k // per_port`` with system id ``1 + k % per_port``.  The
default ``per_port=1`` gives one port per vehicle, every vehicle system id 1
unless ``unique_sysids`` (then ``1 + k % 250``, so a ground station that opens
up to 250 ports sees distinct vehicles).  ``per_port`` up to 250 puts several
vehicles on one port, as a multi-vehicle telemetry radio would.  A link learns
its ground stations from the datagrams they send (their first HEARTBEAT) and
sends telemetry to every peer heard in the last ``PEER_TIMEOUT_S``.

Everything runs in one thread: non-blocking sockets and a selector, polled by
the real-time loop between simulation ticks.
"""

from __future__ import annotations

import ipaddress
import math
import selectors
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.geo.fences import FenceGrid, FencePrism
from skyhive.mavlink.control import GcsControl
from skyhive.mavlink.framing import ATTITUDE as ATT_FRAMER
from skyhive.mavlink.framing import GLOBAL_POSITION_INT as GPI_FRAMER
from skyhive.mavlink.framing import Framer, pack
from skyhive.mavlink.signing import SignatureCheck, SigningCounters
from skyhive.mavlink.vehicle import (
    LAND,
    MAIN_AUTO,
    MAIN_OFFBOARD,
    SENSORS,
    STREAMS,
    SWARM,
    TAKEOFF,
    Vehicle,
)
from skyhive.world.world import DroneStatus

if TYPE_CHECKING:
    from skyhive.sim import Simulation

FRAME_S = 0.1  # telemetry frame: the fastest stream rate is 10 Hz
DUE_CYCLE = 20  # frames after which every default stream phase repeats (lcm of 1, 5, 10, 20)
PEER_TIMEOUT_S = 10.0
MAX_PEERS = 4
MAX_DATAGRAMS_PER_POLL = 64  # per link, so one flooded port cannot starve the others
G = 9.80665
_HEADER_RESET = mav.HEADER_LEN_V1 + 2


@dataclass
class ServeOptions:
    bind: str = "127.0.0.1"
    base_port: int = 14540
    per_port: int = 1
    unique_sysids: bool = True
    keys: dict[str, bytes] = field(default_factory=dict)
    allow_unsigned_loopback: bool = False
    push: list[tuple[str, int]] = field(default_factory=list)  # ground stations sent telemetry unasked


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def parse_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:14550"`` -> ("127.0.0.1", 14550); ValueError naming the option otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--push: '{text}' is not HOST:PORT")
    try:
        return socket.gethostbyname(host), int(port)
    except OSError:
        raise ValueError(f"--push: cannot resolve host '{host}'") from None


class Link:
    """One UDP port: its socket, parser, signing policy, peers, and the vehicles it carries."""

    def __init__(self, port: int, bind: str, key: bytes | None, require: bool,
                 push: list[tuple[str, int]] | None = None) -> None:
        self.port = port
        self.push = list(push or [])
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind((bind, port))
        self.parser = mav.MAVLink(None, 0, 0)
        self.parser.robust_parsing = True
        self.key = key
        self.require = require
        self.sig: SignatureCheck | None = SignatureCheck(self.parser, key, require) if key is not None else None
        self.vehicles: dict[int, Vehicle] = {}
        self.peers: dict[tuple[str, int], float] = {}
        self.datagrams = 0
        self.messages = 0
        self.dropped_bytes = 0
        self.dropped_messages = 0
        self.send_errors = 0

    def reset_parser(self) -> None:
        """Each datagram is parsed on its own: a truncated packet never eats the start of the next one."""
        p = self.parser
        if p.buf_len() > 0:
            self.dropped_bytes += p.buf_len()
        p.buf = bytearray()
        p.buf_index = 0
        p.expected_length = _HEADER_RESET

    @property
    def listened(self) -> bool:
        return bool(self.peers or self.push)

    def sendto_peers(self, data: bytes, now: float) -> None:
        for addr in self.push:
            if addr not in self.peers:
                try:
                    self.sock.sendto(data, addr)
                except OSError:
                    self.send_errors += 1
        for addr, seen in list(self.peers.items()):
            if now - seen > PEER_TIMEOUT_S:
                del self.peers[addr]
                continue
            try:
                self.sock.sendto(data, addr)
            except OSError:
                self.send_errors += 1


class MavlinkServer:
    """All endpoints of one ``skyhive serve`` process."""

    def __init__(self, sim: Simulation, exposed: np.ndarray, opts: ServeOptions, clock: Any) -> None:
        self.sim = sim
        self.clock = clock
        self.exposed = np.asarray(exposed, np.int64)
        self.ctl = GcsControl(sim.world.drones, sim.control)
        sim.add_system(self.ctl)
        self.sel = selectors.DefaultSelector()
        self.links: list[Link] = []
        self.vehicles: list[Vehicle] = []
        self.by_index: dict[int, Vehicle] = {}
        loop = is_loopback(opts.bind)
        per = max(1, min(int(opts.per_port), 250))
        for k, i in enumerate(self.exposed):
            port = opts.base_port + k // per
            if k % per == 0:
                key = opts.keys.get(str(port), opts.keys.get("default"))
                require = key is not None and not (loop and opts.allow_unsigned_loopback)
                link = Link(port, opts.bind, key, require, opts.push)
                self.links.append(link)
                self.sel.register(link.sock, selectors.EVENT_READ, link)
            sysid = 1 + k % per if per > 1 else (1 + k % 250 if opts.unique_sysids else 1)
            v = Vehicle(sim, self.ctl, int(i), sysid, self._send)
            v.on_fence = self._fence_handler(v)  # type: ignore[method-assign]
            if link.key is not None:
                s = v.mav.signing
                s.secret_key, s.sign_outgoing, s.link_id = link.key, True, 0
                s.timestamp = link.parser.signing.timestamp
            link.vehicles[sysid] = v
            v.link = link
            self.vehicles.append(v)
            self.by_index[int(i)] = v
        self.prev_status = sim.world.drones.status[self.exposed].copy()
        n = sim.n_drones
        self.yaw = np.zeros(n)
        self.prev_vel = np.zeros((n, 3))
        self.prev_wh = sim.world.drones.battery_wh.copy()
        self.prev_t = np.full(n, sim.t)
        self.power_w = np.zeros(n)
        self.frame_no = 0
        self.uploading: set[Vehicle] = set()
        # default-rate streams due at each phase of the cycle (vehicles are spread over phases by system id)
        self._due_default = [[msg_id for msg_id, interval in STREAMS.items()
                              if r % max(1, round(interval / FRAME_S)) == 0] for r in range(DUE_CYCLE)]
        self.error_samples: list[str] = []  # the first handler errors, for the log
        self.t_start = clock()
        self.counts = {"telemetry_datagrams": 0, "telemetry_messages": 0, "replies": 0, "unrouted": 0,
                       "handler_errors": 0, "fences_uploaded": 0}

    # -- sending -------------------------------------------------------------------------------------------------
    def _send(self, v: Vehicle, msg: Any) -> None:
        link: Link = v.link
        link.sendto_peers(pack(v.mav, msg), self.clock())
        self.counts["replies"] += 1

    # -- receiving -----------------------------------------------------------------------------------------------
    def poll(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for datagrams and handle every message they hold."""
        for key, _ in self.sel.select(max(0.0, timeout)):
            self._drain(key.data)
        if self.uploading:
            now = self.clock()
            for v in list(self.uploading):
                v.check_upload(now)
                if v.upload is None:
                    self.uploading.discard(v)

    def _drain(self, link: Link) -> None:
        for _ in range(MAX_DATAGRAMS_PER_POLL):
            try:
                data, addr = link.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. ICMP port unreachable reported on a later call
                link.send_errors += 1
                continue
            link.datagrams += 1
            self._datagram(link, data, addr)

    def _datagram(self, link: Link, data: bytes, addr: tuple[str, int]) -> None:
        now = self.clock()
        if link.sig is not None:
            link.sig.tick()
        link.reset_parser()
        try:
            msgs = link.parser.parse_buffer(data) or []
        except Exception:  # pymavlink raises more than MAVError on hostile bytes; a server keeps serving
            link.dropped_bytes += len(data)
            msgs = []
        for m in msgs:
            if m.get_type() == "BAD_DATA":
                link.dropped_messages += 1
                continue
            link.messages += 1
            if m.get_srcSystem() in link.vehicles and m.get_srcComponent() == 1:
                continue  # our own vehicles echoed back (a loop in the network)
            if addr not in link.peers and len(link.peers) >= MAX_PEERS:
                oldest = min(link.peers, key=link.peers.__getitem__)
                del link.peers[oldest]
            link.peers[addr] = now
            self._route(link, m, now)
        link.reset_parser()

    def _route(self, link: Link, m: Any, now: float) -> None:
        target = getattr(m, "target_system", None)
        if target is None:
            return  # HEARTBEAT and other broadcasts from the ground station: peer bookkeeping only
        comp = getattr(m, "target_component", 0)
        if comp not in (0, 1):
            self.counts["unrouted"] += 1
            return
        targets = list(link.vehicles.values()) if target == 0 else [link.vehicles[target]] \
            if target in link.vehicles else []
        if not targets:
            self.counts["unrouted"] += 1
        for v in targets:
            try:
                v.handle(m, now)
            except Exception as exc:  # a message that breaks a handler is dropped and counted, never fatal
                self.counts["handler_errors"] += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{m.get_type()}: {type(exc).__name__}: {exc}")
                v.counters["protocol_drops"] += 1
            if v.upload is not None:
                self.uploading.add(v)

    # -- events from the simulation ----------------------------------------------------------------------------
    def after_step(self) -> None:
        """Hand the tick's arrivals, status changes and finished holds to the vehicles concerned."""
        for i in self.ctl.arrived:
            v = self.by_index.get(int(i))
            if v is not None:
                v.on_arrival()
        self.ctl.arrived = np.zeros(0, np.int64)
        d = self.sim.world.drones
        status = d.status[self.exposed]
        for k in np.flatnonzero(status != self.prev_status):
            self.vehicles[k].on_status(int(self.prev_status[k]), int(status[k]))
        self.prev_status = d.status[self.exposed].copy()
        due = np.flatnonzero(self.ctl.hold_until <= self.sim.t)
        for i in due:
            self.ctl.hold_until[i] = np.inf
            v = self.by_index.get(int(i))
            if v is not None:
                v.on_hold_done()

    # -- geofence upload ---------------------------------------------------------------------------------------
    def _fence_handler(self, v: Vehicle) -> Any:
        def on_fence(items: list[Any]) -> int:
            try:
                prisms = self._fence_prisms(v, items)
            except ValueError:
                return int(mav.MAV_MISSION_INVALID)
            fences = self.sim.fences
            keep = [k for k, p in enumerate(fences.prisms) if p.name not in v.fence_names]
            fences.prisms[:] = [fences.prisms[k] for k in keep] + prisms
            fences.grids[:] = [fences.grids[k] for k in keep] + [FenceGrid.build(p, fences.cell_m) for p in prisms]
            v.fence_names = [p.name for p in prisms]
            self.counts["fences_uploaded"] += len(prisms)
            return int(mav.MAV_MISSION_ACCEPTED)
        return on_fence

    def _fence_prisms(self, v: Vehicle, items: list[Any]) -> list[FencePrism]:
        """Fence items (polygon vertices, circles) -> skyhive prisms from the ground to GF_MAX_VER_DIST."""
        from shapely.geometry import Polygon

        frame = self.sim.frame
        ceiling = v.params["GF_MAX_VER_DIST"]
        out: list[FencePrism] = []
        k = 0
        while k < len(items):
            it = items[k]
            kind = "keep_in" if it.command in (5001, 5003) else "keep_out"
            name = f"mavlink-sys{v.sysid}-port{v.link.port}-{len(out)}"
            if it.command in (5001, 5002):
                count = int(it.param1)
                if count < 3 or k + count > len(items):
                    raise ValueError("polygon with fewer than 3 vertices")
                ring = [(items[j].y / 1e7, items[j].x / 1e7) for j in range(k, k + count)]
                poly = Polygon([*ring, ring[0]])
                k += count
            else:
                radius = float(it.param1)
                if not radius > 0:
                    raise ValueError("circle without a radius")
                c = frame.local(it.x / 1e7, it.y / 1e7, 0.0)
                ang = np.linspace(0.0, 2 * math.pi, 33)
                xy = np.stack([c[0] + radius * np.cos(ang), c[1] + radius * np.sin(ang), np.zeros(33)], axis=1)
                lat, lon, _ = frame.geodetic(xy)
                poly = Polygon(list(zip(lon, lat, strict=True)))
                k += 1
            if not poly.is_valid:
                raise ValueError("self-intersecting fence polygon")
            out.append(FencePrism.build(name, kind, poly, 0.0, ceiling, frame))
        return out

    # -- telemetry ---------------------------------------------------------------------------------------------
    def telemetry(self) -> None:
        """One 10 Hz frame: every due stream of every vehicle that has a ground station listening."""
        now = self.clock()
        self.frame_no += 1
        live = [v for link in self.links if link.listened for v in link.vehicles.values()]
        if not live:
            return
        d = self.sim.world.drones
        idx = np.fromiter((v.i for v in live), np.int64, len(live))
        t = self.sim.t
        lat, lon, alt = self.sim.frame.geodetic(d.pos[idx])
        vel = d.vel[idx]
        hspeed = np.hypot(vel[:, 0], vel[:, 1])
        moving = hspeed > 0.5
        self.yaw[idx[moving]] = np.arctan2(vel[moving, 0], vel[moving, 1])
        dt = t - self.prev_t[idx]
        fresh = dt > 1e-9
        acc = np.zeros((idx.size, 3))
        acc[fresh] = (vel[fresh] - self.prev_vel[idx[fresh]]) / dt[fresh, None]
        self.power_w[idx[fresh]] = (self.prev_wh[idx[fresh]] - d.battery_wh[idx[fresh]]) * 3600.0 / dt[fresh]
        self.prev_vel[idx[fresh]] = vel[fresh]
        self.prev_wh[idx[fresh]] = d.battery_wh[idx[fresh]]
        self.prev_t[idx[fresh]] = t
        yaw = self.yaw[idx]
        a_fwd = acc[:, 1] * np.cos(yaw) + acc[:, 0] * np.sin(yaw)
        a_right = -acc[:, 1] * np.sin(yaw) + acc[:, 0] * np.cos(yaw)
        pitch = -np.arctan(a_fwd / G)
        roll = np.arctan(a_right / G)
        soc = np.clip(d.battery_wh[idx] / d.capacity_wh[idx], 0.0, 1.0)
        volts = 14.0 + 2.8 * soc  # 4S LiPo, 3.5-4.2 V per cell, linear in the state of charge
        amps = np.maximum(self.power_w[idx], 0.0) / volts
        boot_ms = int((now - self.t_start) * 1000) & 0xFFFFFFFF
        failed = (d.status[idx] == DroneStatus.FAILED).tolist()
        # the two 10 Hz messages' fields, as Python ints and floats for the fast framing
        lat_e7 = (lat * 1e7).astype(np.int64).tolist()
        lon_e7 = (lon * 1e7).astype(np.int64).tolist()
        alt_mm = (alt * 1000).astype(np.int64).tolist()
        rel_mm = ((d.pos[idx, 2] - d.home[idx, 2]) * 1000).astype(np.int64).tolist()
        v_cm = np.clip(vel * 100, -32767, 32767).astype(np.int64)
        vn, ve, vd = v_cm[:, 1].tolist(), v_cm[:, 0].tolist(), (-v_cm[:, 2]).tolist()
        hdg = (np.degrees(yaw) % 360 * 100).astype(np.int64).tolist()
        rpy = np.stack([roll, pitch, yaw], axis=1).tolist()
        due_default = self._due_default
        gpi, att = mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, mav.MAVLINK_MSG_ID_ATTITUDE
        fast = Framer.available
        for k, v in enumerate(live):
            if failed[k]:
                continue  # a lost drone is silent
            if v.intervals or v.request_once:
                due = self._due_custom(v)
            else:
                due = due_default[(self.frame_no + v.sysid) % DUE_CYCLE]
            if not due:
                continue
            signed = v.link.key is not None
            out = bytearray()
            for msg_id in due:
                if msg_id == gpi and fast and not signed:
                    out += GPI_FRAMER.pack(v.mav, boot_ms, lat_e7[k], lon_e7[k], alt_mm[k], rel_mm[k], vn[k], ve[k],
                                           vd[k], hdg[k])
                elif msg_id == att and fast and not signed:
                    r, p_, y = rpy[k]
                    out += ATT_FRAMER.pack(v.mav, boot_ms, r, p_, y, 0.0, 0.0, 0.0)
                else:
                    msg = self._build(msg_id, v, boot_ms, lat[k], lon[k], alt[k], vel[k], hspeed[k], yaw[k], pitch[k],
                                      roll[k], soc[k], volts[k], amps[k])
                    out += pack(v.mav, msg)
            self.counts["telemetry_messages"] += len(due)
            v.link.sendto_peers(bytes(out), now)
            self.counts["telemetry_datagrams"] += 1

    def _due_custom(self, v: Vehicle) -> list[int]:
        due = []
        for msg_id, default in STREAMS.items():
            interval = v.intervals.get(msg_id, default)
            if msg_id in v.request_once:
                v.request_once.discard(msg_id)
            elif interval < 0 or (self.frame_no + v.sysid) % max(1, round(interval / FRAME_S)) != 0:
                continue
            due.append(msg_id)
        return due

    def _build(self, msg_id: int, v: Vehicle, boot_ms: int, lat: float, lon: float, alt: float, vel: Any,
               hspeed: float, yaw: float, pitch: float, roll: float, soc: float, volts: float, amps: float) -> Any:
        d, i, m = self.sim.world.drones, v.i, v.mav
        rel_mm = int((d.pos[i, 2] - d.home[i, 2]) * 1000)
        hdg = int(math.degrees(yaw) % 360 * 100)
        if msg_id == mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT:
            return m.global_position_int_encode(boot_ms, int(lat * 1e7), int(lon * 1e7), int(alt * 1000), rel_mm,
                                                int(vel[1] * 100), int(vel[0] * 100), int(-vel[2] * 100), hdg)
        if msg_id == mav.MAVLINK_MSG_ID_ATTITUDE:
            return m.attitude_encode(boot_ms, float(roll), float(pitch), float(yaw), 0.0, 0.0, 0.0)
        if msg_id == mav.MAVLINK_MSG_ID_HEARTBEAT:
            main, sub = v.reported_mode()
            base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mav.MAV_MODE_FLAG_STABILIZE_ENABLED
            if main in (MAIN_AUTO, MAIN_OFFBOARD):
                base |= mav.MAV_MODE_FLAG_GUIDED_ENABLED | (mav.MAV_MODE_FLAG_AUTO_ENABLED if main == MAIN_AUTO else 0)
            if v.armed:
                base |= mav.MAV_MODE_FLAG_SAFETY_ARMED
            state = mav.MAV_STATE_ACTIVE if v.armed else mav.MAV_STATE_STANDBY
            return m.heartbeat_encode(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_PX4, base, (main << 16) | (sub << 24),
                                      state)
        if msg_id == mav.MAVLINK_MSG_ID_SYS_STATUS:
            # geofence bit: present and enabled when there are fences; healthy unless this drone is in breach now
            present = SENSORS | (mav.MAV_SYS_STATUS_GEOFENCE if self.sim.fences.prisms else 0)
            in_breach = self.sim.monitor.in_breach(i)
            health = SENSORS | (0 if in_breach else mav.MAV_SYS_STATUS_GEOFENCE)
            return m.sys_status_encode(present, present, health, 200, int(volts * 1000), int(amps * 100),
                                       round(soc * 100), 0, 0, 0, 0, 0, 0)
        if msg_id == mav.MAVLINK_MSG_ID_BATTERY_STATUS:
            used_wh = float(d.capacity_wh[i]) - float(d.battery_wh[i])
            cells = [int(volts * 250)] * 4 + [65535] * 6
            return m.battery_status_encode(0, mav.MAV_BATTERY_FUNCTION_ALL, mav.MAV_BATTERY_TYPE_LIPO, 32767, cells,
                                           int(amps * 100), int(used_wh / 15.4 * 1000), int(used_wh * 36),
                                           round(soc * 100))
        if msg_id == mav.MAVLINK_MSG_ID_GPS_RAW_INT:
            return m.gps_raw_int_encode(boot_ms * 1000, mav.GPS_FIX_TYPE_3D_FIX, int(lat * 1e7), int(lon * 1e7),
                                        int(alt * 1000), 80, 120, int(hspeed * 100), hdg, 16)
        if msg_id == mav.MAVLINK_MSG_ID_EXTENDED_SYS_STATE:
            return m.extended_sys_state_encode(mav.MAV_VTOL_STATE_UNDEFINED, self._landed_state(v, vel))
        if msg_id == mav.MAVLINK_MSG_ID_HOME_POSITION:
            h = d.home[i]
            key = (float(h[0]), float(h[1]), float(h[2]))
            if v.home_geo is None or v.home_geo[0] != key:  # home rarely moves: convert once
                hlat, hlon, halt = self.sim.frame.geodetic(h)
                v.home_geo = (key, (int(float(hlat) * 1e7), int(float(hlon) * 1e7), int(float(halt) * 1000)))
            la7, lo7, al_mm = v.home_geo[1]
            return m.home_position_encode(la7, lo7, al_mm, key[1], key[0], -key[2], [1.0, 0.0, 0.0, 0.0], 0.0, 0.0,
                                          0.0)
        if msg_id == mav.MAVLINK_MSG_ID_VFR_HUD:
            return m.vfr_hud_encode(float(hspeed), float(hspeed), int(math.degrees(yaw) % 360), 50 if v.armed else 0,
                                    float(alt), float(vel[2]))
        n = len(v.missions[0])  # MISSION_CURRENT
        return m.mission_current_encode(v.current, n, v.mission_state if n else mav.MISSION_STATE_NO_MISSION,
                                        int(v.mode[0] == MAIN_AUTO and v.mode[1] == 4))

    def _landed_state(self, v: Vehicle, vel: Any) -> int:
        s = self.sim.world.drones.status[v.i]
        if s == DroneStatus.LANDED or (v.on_ground and v.reported_mode() != TAKEOFF):
            return int(mav.MAV_LANDED_STATE_ON_GROUND)
        if s == DroneStatus.LANDING or v.reported_mode() == LAND:
            return int(mav.MAV_LANDED_STATE_LANDING)
        if v.reported_mode() == TAKEOFF:
            return int(mav.MAV_LANDED_STATE_TAKEOFF)
        return int(mav.MAV_LANDED_STATE_IN_AIR)

    # -- results -------------------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        sig = SigningCounters()
        for link in self.links:
            if link.sig is not None:
                c = link.sig.counters
                sig.good += c.good
                sig.forged += c.forged
                sig.replayed += c.replayed
                sig.unsigned_rejected += c.unsigned_rejected
                sig.unsigned_accepted += c.unsigned_accepted
        out: dict[str, Any] = {
            "mavlink_vehicles": len(self.vehicles),
            "mavlink_links": len(self.links),
            "mavlink_datagrams_in": sum(lk.datagrams for lk in self.links),
            "mavlink_messages_in": sum(lk.messages for lk in self.links),
            "mavlink_dropped_messages": sum(lk.dropped_messages for lk in self.links),
            "mavlink_dropped_bytes": sum(lk.dropped_bytes for lk in self.links),
            "mavlink_send_errors": sum(lk.send_errors for lk in self.links),
            "mavlink_signed_ok": sig.good,
            "mavlink_rejected_forged": sig.forged,
            "mavlink_rejected_replayed": sig.replayed,
            "mavlink_rejected_unsigned": sig.unsigned_rejected,
            "mavlink_commands": sum(v.counters["commands"] for v in self.vehicles),
            "mavlink_commands_rejected": sum(v.counters["commands_rejected"] for v in self.vehicles),
            "mavlink_protocol_drops": sum(v.counters["protocol_drops"] for v in self.vehicles),
            "mavlink_mission_uploads": sum(v.counters["mission_uploads"] for v in self.vehicles),
        }
        out.update({f"mavlink_{k}": val for k, val in self.counts.items()})
        return out

    def close(self) -> None:
        for link in self.links:
            self.sel.unregister(link.sock)
            link.sock.close()
        self.sel.close()


__all__ = ["SWARM", "Link", "MavlinkServer", "ServeOptions", "is_loopback", "parse_host_port"]
