"""Per-node radio parameters: the scenario's radio profiles (fleets, ground stations, manned vehicles) laid out as
one array per parameter, indexed by comms node id, plus the derived terms the channel evaluation needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skyhive.comms.channel import MODULATIONS
from skyhive.comms.config import C_MPS, RadioProfile

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class NodeRadios:
    """One entry per node (see ``skyhive.comms.config.RadioProfile`` for the meaning and units)."""

    tx_dbm: F64
    gain: F64
    sens: F64
    noise: F64
    freq: F64
    bw: F64
    rate: F64  # bytes per second
    max_range: F64
    n_exp: F64
    sigma: F64  # shadowing, dB
    fspl1: F64  # free-space path loss at 1 m, dB
    bw_db: F64
    rate_db: F64
    mod: NDArray[np.int8]
    has_ge: NDArray[np.bool_]  # Gilbert-Elliott bursty loss on this node's links
    ge_good: F64
    ge_bad: F64
    ge_loss_good: F64
    ge_loss_bad: F64

    @classmethod
    def build(cls, profiles: list[RadioProfile], node_prof: NDArray[np.int64]) -> NodeRadios:
        """``profiles``: the distinct profiles; ``node_prof``: each node's profile index."""

        def col(attr: str) -> F64:
            return np.array([float(getattr(p, attr)) for p in profiles])[node_prof]

        freq, bw, rate = col("frequency_hz"), col("bandwidth_hz"), col("data_rate_Bps")
        ge = [p.gilbert_elliott for p in profiles]
        return cls(
            tx_dbm=col("tx_power_dbm"), gain=col("antenna_gain_dbi"), sens=col("rx_sensitivity_dbm"),
            noise=col("noise_floor_dbm"), freq=freq, bw=bw, rate=rate, max_range=col("max_range_m"),
            n_exp=col("path_loss_exponent"), sigma=col("shadowing_sigma_db"),
            fspl1=20.0 * np.log10(4.0 * np.pi * freq / C_MPS), bw_db=10.0 * np.log10(bw),
            rate_db=10.0 * np.log10(8.0 * rate),
            mod=np.array([MODULATIONS.index(p.modulation) for p in profiles], np.int8)[node_prof],
            has_ge=np.array([g is not None for g in ge])[node_prof],
            ge_good=np.array([g.mean_good_s if g else 1.0 for g in ge])[node_prof],
            ge_bad=np.array([g.mean_bad_s if g else 1.0 for g in ge])[node_prof],
            ge_loss_good=np.array([g.loss_good if g else 0.0 for g in ge])[node_prof],
            ge_loss_bad=np.array([g.loss_bad if g else 0.0 for g in ge])[node_prof],
        )

    @property
    def any_ge(self) -> bool:
        return bool(self.has_ge.any())

    @property
    def any_shadowing(self) -> bool:
        return bool((self.sigma > 0).any())
