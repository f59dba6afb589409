"""Airspace sensors: what is in the air (``Objects``, with truth labels), radar (Swerling-1 detection by range and
RCS, polar noise, clutter) and RF direction finders (bearings to emitting intruders).

Truth labels ride along with detections for evaluation only; the tracker never reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from skyhive.airspace.config import Radar, RfDirectionFinder
from skyhive.airspace.tracker import BearingScan, Scan, polar_to_cartesian
from skyhive.systems import Rate

if TYPE_CHECKING:
    from skyhive.geo.frames import LocalFrame

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# truth labels of radar detections (evaluation only; the tracker never reads them)
KIND_SWARM, KIND_MANNED, KIND_INTRUDER = 0, 1, 2
LABEL_SCALE = 10_000_000
SWARM_RCS_M2 = 0.02  # the swarm's own multirotors (~1.5 kg)
MANNED_RCS_M2 = 10.0


@dataclass
class Objects:
    """Everything in the air a sensor could see this tick (truth; sensors add their own errors)."""

    pos: F64
    vel: F64
    rcs: F64
    label: I64  # kind * LABEL_SCALE + index


def enu_of(frame: LocalFrame, p: Any) -> F64:
    """A scenario position (``lat``, ``lon``, ``alt_m``) in local ENU metres."""
    return np.asarray(frame.local(p.lat, p.lon, p.alt_m), float).reshape(3)


class RadarModel:
    def __init__(self, cfg: Radar, frame: LocalFrame) -> None:
        self.cfg = cfg
        self.pos = enu_of(frame, cfg.position)
        self.snr_ref = math.log(cfg.pfa) / math.log(cfg.pd_ref) - 1.0
        c = cfg
        self.volume = (2 * math.pi / 3) * (c.range_m**3 - c.min_range_m**3) * (
            math.sin(math.radians(c.max_elevation_deg)) - math.sin(math.radians(c.min_elevation_deg)))
        self.rate = Rate(cfg.scan_period_s)
        self.detections = 0
        self.false_alarms = 0

    def pd(self, r: F64, rcs: F64) -> F64:
        """Swerling 1: Pd = Pfa^(1/(1+SNR)), SNR falling as rcs / r^4."""
        snr = self.snr_ref * (rcs / self.cfg.ref_rcs_m2) * (self.cfg.ref_range_m / np.maximum(r, 1.0)) ** 4
        return np.asarray(self.cfg.pfa ** (1.0 / (1.0 + snr)), float)

    def covers(self, p: F64) -> NDArray[np.bool_]:
        d = p - self.pos
        r = np.linalg.norm(d, axis=1)
        el = np.degrees(np.arcsin(np.clip(d[:, 2] / np.maximum(r, 1e-9), -1, 1)))
        c = self.cfg
        return (r <= c.range_m) & (r >= c.min_range_m) & (el >= c.min_elevation_deg) & (el <= c.max_elevation_deg)

    def scan(self, t: float, obj: Objects, rng: np.random.Generator) -> Scan:
        c = self.cfg
        d = obj.pos - self.pos
        r = np.linalg.norm(d, axis=1)
        seen = self.covers(obj.pos)
        seen &= rng.random(r.size) < self.pd(r, obj.rcs)
        idx = np.flatnonzero(seen)
        az = np.degrees(np.arctan2(d[idx, 0], d[idx, 1]))
        el = np.degrees(np.arcsin(d[idx, 2] / np.maximum(r[idx], 1e-9)))
        rr = r[idx] + rng.normal(0, c.sigma_range_m, idx.size)
        az = az + rng.normal(0, c.sigma_azimuth_deg, idx.size)
        el = el + rng.normal(0, c.sigma_elevation_deg, idx.size)
        nf = int(rng.poisson(c.false_alarms_per_scan))
        cr = np.cbrt(rng.uniform(c.min_range_m**3, c.range_m**3, nf))
        s0, s1 = math.sin(math.radians(c.min_elevation_deg)), math.sin(math.radians(c.max_elevation_deg))
        cel = np.degrees(np.arcsin(rng.uniform(s0, s1, nf)))
        caz = rng.uniform(-180.0, 180.0, nf)
        z, R = polar_to_cartesian(self.pos, np.r_[rr, cr], np.r_[az, caz], np.r_[el, cel], c.sigma_range_m,
                                  c.sigma_azimuth_deg, c.sigma_elevation_deg)
        self.detections += idx.size
        self.false_alarms += nf
        truth = np.r_[obj.label[idx], np.full(nf, -1, np.int64)]
        return Scan(t=t, z=z, R=R, sensor=c.name, coverage=(self.pos, c.range_m),
                    clutter_density=max(c.false_alarms_per_scan, 0.01) / self.volume, truth=truth)


class DfModel:
    def __init__(self, cfg: RfDirectionFinder, frame: LocalFrame) -> None:
        self.cfg = cfg
        self.pos = enu_of(frame, cfg.position)
        self.rate = Rate(cfg.period_s)
        self.bearings = 0

    def scan(self, t: float, pos: F64, rng: np.random.Generator) -> BearingScan:
        c = self.cfg
        d = pos - self.pos
        r = np.linalg.norm(d, axis=1)
        seen = (r <= c.range_m) & (rng.random(r.size) < c.pd)
        d = d[seen]
        az = np.degrees(np.arctan2(d[:, 0], d[:, 1])) + rng.normal(0, c.sigma_deg, d.shape[0])
        el = np.degrees(np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))) + rng.normal(0, c.sigma_deg, d.shape[0])
        self.bearings += d.shape[0]
        return BearingScan(t=t, sensor_pos=self.pos, az_deg=az, el_deg=el, sigma_deg=c.sigma_deg, sensor=c.name)

