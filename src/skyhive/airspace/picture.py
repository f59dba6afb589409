"""The airspace picture of one run: the state the airspace systems share (intruders, sensors, the tracker, Remote ID
claims, ADS-B decoders, track identities, alerts, evaluation bookkeeping).  Published as the ``airspace`` port
(``Simulation.airspace``) for tools and tests.
"""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from skyhive.airspace import adsb, remoteid
from skyhive.airspace.alerts import Alert, Zones
from skyhive.airspace.camera import CameraModel
from skyhive.airspace.config import AdsbReceiver, Camera, Radar, RemoteIdReceiver, RfDirectionFinder
from skyhive.airspace.cooperative import RidClaim
from skyhive.airspace.intruders import Intruders
from skyhive.airspace.sensors import (
    KIND_INTRUDER,
    KIND_MANNED,
    KIND_SWARM,
    LABEL_SCALE,
    MANNED_RCS_M2,
    SWARM_RCS_M2,
    DfModel,
    Objects,
    RadarModel,
    enu_of,
)
from skyhive.airspace.tracker import BearingScan, Scan, Tracker
from skyhive.systems import Rate

if TYPE_CHECKING:
    from skyhive.systems import BuildContext

F64 = NDArray[np.float64]


class AirspacePicture:
    """State shared by the three airspace systems."""

    def __init__(self, ctx: BuildContext) -> None:
        sc = ctx.scenario
        self.world = ctx.world
        self.log = ctx.log
        self.well_clear = sc.safety.well_clear
        self.frame = ctx.frame
        self.zones = Zones(list(sc.protected_zones), ctx.frame)
        self.intruders = Intruders(list(sc.intruders), ctx.frame, self.zones.centroids)
        self.radars = [RadarModel(s, ctx.frame) for s in sc.sensors if isinstance(s, Radar)]
        self.dfs = [DfModel(s, ctx.frame) for s in sc.sensors if isinstance(s, RfDirectionFinder)]
        self.rid_rx = [(s, enu_of(ctx.frame, s.position)) for s in sc.sensors if isinstance(s, RemoteIdReceiver)]
        self.adsb_rx = [(s, enu_of(ctx.frame, s.position)) for s in sc.sensors if isinstance(s, AdsbReceiver)]
        self.tracker = Tracker(sc.tracker)
        self.pending_scans: list[Scan | BearingScan] = []
        # onboard cameras (reports over the mesh) and the fixed-lag fusion buffer
        self.cameras: list[CameraModel] = []
        cams = [s for s in sc.sensors if isinstance(s, Camera)]
        if cams:
            comms = ctx.ports.mesh
            if comms is None:  # the scenario checks make this unreachable from a file
                raise ValueError("onboard cameras need the comms model (a ground station or a comms section)")
            self.cameras = [CameraModel(c, ctx.fleet_slices[c.fleet], comms) for c in cams]
        self.fusion_lag = max((c.fusion_delay_s for c in cams), default=0.0)
        self.fused_until = -math.inf
        self.camera_frames: dict[tuple[int, float], list[F64]] = {}
        self.camera_fused = 0
        # Remote ID
        self.rid_dec = remoteid.RemoteIdDecoder()
        self.rid_queue: list[tuple[float, int, int, bytes]] = []  # (deliver_t, seq, address, frame)
        self.rid_seq = 0
        self.rid_next = np.zeros(self.intruders.n)
        self.rid_addr = np.array([zlib.crc32(n.encode()) & 0xFFFFFFFFFFFF for n in self.intruders.names], np.int64)
        self.claims: dict[int, RidClaim] = {}
        self.rid_frames_sent = 0
        # ADS-B
        self.adsb_decs = [adsb.AdsbDecoder(*self.latlon(pos)) for _, pos in self.adsb_rx]
        self.adsb_rate = Rate(0.5)  # ADS-B position squitters twice a second
        self.adsb_tick = 0
        self.adsb_frames_sent = 0
        m = ctx.world.manned
        self.icao = [zlib.crc32(n.encode()) & 0xFFFFFF for n in m.names]
        # identification / alerts
        self.track_label: dict[int, str] = {}
        self.track_identity: dict[int, str] = {}
        self.track_truth: dict[int, int] = {}
        self.label_seen: dict[int, tuple[float, str, str]] = {}
        self.alerts: list[Alert] = []
        self.alert_index: dict[tuple[int, str, str], Alert] = {}
        self.new_alerts: list[Alert] = []
        self.gospa: list[float] = []
        self.max_confirmed = 0
        self.truth_first_due: dict[tuple[int, str], float] = {}  # (intruder, zone) -> true approach start
        self.truth_first_inside: dict[tuple[int, str], float] = {}  # (intruder, zone) -> true entry time
        self.identified: dict[str, float] = {}  # uas_id -> first time a track of that intruder carried it
        self.scan_count = 0

    def track_state(self, t: float) -> F64:
        """Track states (T, 6) with positions extrapolated from the last fused measurement time to ``t`` (the
        fusion lag of the out-of-sequence buffer, see the module docstring)."""
        x = self.tracker.x
        dt = t - self.tracker.t if math.isfinite(self.tracker.t) else 0.0
        if dt > 0.0:
            x[:, :3] += x[:, 3:] * dt
        return x

    def acknowledge(self, alert_id: int) -> bool:
        """The operator has seen alert ``alert_id``; False if there is no such alert."""
        for a in self.alerts:
            if a.alert_id == alert_id:
                a.acknowledged = True
                return True
        return False

    def latlon(self, enu: F64) -> tuple[float, float]:
        """Latitude and longitude of a local ENU point."""
        lat, lon, _ = self.frame.geodetic(enu)
        return float(lat), float(lon)

    def objects(self) -> Objects:
        """Swarm drones in the air, manned aircraft, active intruders (for the sensors)."""
        w = self.world
        d = w.drones
        fly = np.flatnonzero(d.flying)
        m = w.manned
        air = np.flatnonzero(m.is_aircraft) if m.m else np.zeros(0, np.int64)
        it = self.intruders
        act = np.flatnonzero(it.active)
        pos = np.vstack([np.asarray(d.pos[fly], float), np.asarray(m.pos[air], float).reshape(-1, 3), it.pos[act]])
        vel = np.vstack([np.asarray(d.vel[fly], float), np.asarray(m.vel[air], float).reshape(-1, 3), it.vel[act]])
        rcs = np.r_[np.full(fly.size, SWARM_RCS_M2), np.full(air.size, MANNED_RCS_M2), it.rcs[act]]
        label = np.r_[KIND_SWARM * LABEL_SCALE + fly, KIND_MANNED * LABEL_SCALE + air,
                      KIND_INTRUDER * LABEL_SCALE + act].astype(np.int64)
        return Objects(pos, vel, rcs, label)

