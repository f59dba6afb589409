"""Remote ID positions as tracker measurements (cooperative-only sensing).

A Remote ID Location message is the aircraft's own GNSS position; where no radar watches, it is the only position
the ground has of a cooperative drone.  :func:`remote_id_scan` turns one decoded position into a one-detection
:class:`~skyhive.airspace.tracker.Scan`:

* covariance from the broadcast's accuracy class (ASTM F3411-22a horizontal/vertical accuracy; skyhive's
  broadcasters use the "< 10 m" class, so 10 m horizontal and 15 m vertical one-sigma);
* it may start a track, and it counts as a look only for tracks within ``LOOK_M`` of the claimed position (a
  message from one aircraft says nothing about the others: no misses for them);
* its clutter density is tiny (a decoded, well-formed message is not a false alarm), so two or three fixes
  confirm the track;  ``pd`` is the receiver's delivery probability.

A spoofed claim outside radar cover therefore makes a track where the liar says it is: cooperative-only sensing
cannot tell, which is why inside radar cover the radar makes tracks and claims only label them (the spoof check in
``system.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skyhive.airspace.tracker import Scan

F64 = NDArray[np.float64]
LOOK_M = 120.0
RID_CLUTTER_DENSITY = 1e-12  # per m^3: a decoded message is almost never a false alarm


def remote_id_scan(t: float, pos: F64, sigma_m: tuple[float, float, float], pd: float, truth: int = -1) -> Scan:
    """One Remote ID fix as a tracker scan (see the module docstring)."""
    p = np.asarray(pos, float).reshape(3)

    def covers(x: F64) -> NDArray[np.bool_]:
        return np.asarray(np.linalg.norm(np.asarray(x, float) - p[None], axis=1) <= LOOK_M, bool)

    return Scan(t=t, z=p[None].copy(), R=np.diag(np.square(sigma_m)), sensor="remote_id", covers=covers,
                clutter_density=RID_CLUTTER_DENSITY, pd=min(max(pd, 0.05), 0.99),
                truth=np.array([truth], np.int64))
