"""WGS84 geodetic <-> local ENU at the scenario origin (vectorized, via pymap3d)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class LocalFrame:
    """East-North-Up frame tangent to the WGS84 ellipsoid at (lat0, lon0, alt0)."""

    lat0: float
    lon0: float
    alt0: float = 0.0

    def to_enu(self, lat: ArrayLike, lon: ArrayLike, alt: ArrayLike = 0.0) -> NDArray[np.float64]:
        """Geodetic degrees/metres -> ENU metres, shape (..., 3)."""
        e, n, u = pymap3d.geodetic2enu(
            np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt, float),
            self.lat0, self.lon0, self.alt0,
        )
        return np.stack(np.broadcast_arrays(e, n, u), axis=-1).astype(np.float64)

    def to_geodetic(self, enu: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """ENU metres (..., 3) -> (lat deg, lon deg, alt m above the ellipsoid)."""
        enu = np.asarray(enu, float)
        lat, lon, alt = pymap3d.enu2geodetic(enu[..., 0], enu[..., 1], enu[..., 2], self.lat0, self.lon0, self.alt0)
        return np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt, float)

    def local(self, lat: ArrayLike, lon: ArrayLike, up: ArrayLike = 0.0) -> NDArray[np.float64]:
        """Scenario convention: east/north in the ENU plane, z = height above the origin altitude.

        Ground is z = 0 everywhere (flat terrain at the origin altitude); the
        ENU curvature drop (about 8 m at 10 km) is not applied to heights.
        """
        e, n, _ = pymap3d.geodetic2enu(np.asarray(lat, float), np.asarray(lon, float), self.alt0,
                                       self.lat0, self.lon0, self.alt0)
        out = np.stack(np.broadcast_arrays(e, n, np.asarray(up, float)), axis=-1).astype(np.float64)
        return out

    def geodetic(self, xyz: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Inverse of :meth:`local`: (lat, lon, altitude above the ellipsoid = alt0 + z)."""
        xyz = np.asarray(xyz, float)
        lat, lon, _ = pymap3d.enu2geodetic(xyz[..., 0], xyz[..., 1], np.zeros_like(xyz[..., 0]),
                                           self.lat0, self.lon0, self.alt0)
        return np.asarray(lat, float), np.asarray(lon, float), self.alt0 + xyz[..., 2]
