"""The hand-written fast framing produces exactly pymavlink's bytes."""

from __future__ import annotations

import numpy as np
import pytest
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink import framing


@pytest.mark.skipif(not framing.Framer.available, reason="fastcrc is not installed")
def test_fast_framing_matches_pymavlink() -> None:
    rng = np.random.default_rng(5)
    fast = mav.MAVLink(None, 7, 1)
    ref = mav.MAVLink(None, 7, 1)
    for k in range(300):
        zero = k % 7 == 0  # trailing-zero trimming
        gpi = [int(rng.integers(0, 2**32)), int(rng.integers(-2**31, 2**31)), int(rng.integers(-2**31, 2**31)),
               int(rng.integers(-2**31, 2**31)), int(rng.integers(-2**31, 2**31)), int(rng.integers(-2**15, 2**15)),
               int(rng.integers(-2**15, 2**15)), int(rng.integers(-2**15, 2**15)),
               0 if zero else int(rng.integers(0, 2**16))]
        att = [int(rng.integers(0, 2**32)), *[0.0 if zero else float(x) for x in rng.normal(size=6)]]
        assert framing.GLOBAL_POSITION_INT.pack(fast, *gpi) == framing.pack(ref, ref.global_position_int_encode(*gpi))
        assert framing.ATTITUDE.pack(fast, *att) == framing.pack(ref, ref.attitude_encode(*att))
        q = [float(x) for x in rng.normal(size=4)]
        aq = [att[0], *q, 0.0, 0.0, 0.0]
        assert (framing.ATTITUDE_QUATERNION.pack(fast, *aq, 0.0, 0.0, 0.0, 0.0)
                == framing.pack(ref, ref.attitude_quaternion_encode(*aq)))
        assert framing.LOCAL_POSITION_NED.pack(fast, *att) == framing.pack(ref, ref.local_position_ned_encode(*att))
    assert fast.seq == ref.seq == 1200 % 256
    # and pymavlink parses it back
    parsed = mav.MAVLink(None, 0, 0).parse_buffer(framing.ATTITUDE.pack(fast, 1, 0.5, 0, 0, 0, 0, 0))
    assert parsed is not None and parsed[0].get_type() == "ATTITUDE" and parsed[0].roll == 0.5
