"""The radio channel, vectorized over links: path loss, shadowing, SNR -> BER -> packet error, bursty loss.

Formulas (sources in docs/comms.md):

- log-distance path loss with a free-space (Friis) reference at d0 = 1 m:
  ``PL(d) = 20 log10(4 pi d0 f / c) + 10 n log10(d / d0) + X``, ``X ~ N(0, sigma^2)`` dB (Rappaport 2002, 4.9);
- received power ``Pr = Pt + Gt + Gr - PL``; a packet needs ``Pr >= sensitivity``;
- ``SNR = Pr - N``, ``Eb/N0 = SNR * B / Rb`` (Goldsmith 2005, 6.1);
- bit error rate: coherent BPSK/QPSK ``Q(sqrt(2 Eb/N0))``, DBPSK ``exp(-Eb/N0) / 2``, non-coherent binary FSK
  ``exp(-Eb/N0 / 2) / 2`` (Goldsmith 2005, table 6.1);
- packet error rate for L bytes with independent bit errors: ``1 - (1 - BER)^(8 L)``;
- Gilbert-Elliott two-state loss per link (Gilbert 1960; Elliott 1963) as a continuous-time Markov chain.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfc

from skyhive.comms.config import C_MPS, RadioProfile

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MODULATIONS = ("bpsk", "dbpsk", "ncfsk")


def fspl_1m_db(frequency_hz: F64 | float) -> F64:
    """Free-space loss at the 1 m reference distance."""
    return np.asarray(20.0 * np.log10(4.0 * np.pi * np.asarray(frequency_hz, float) / C_MPS), dtype=np.float64)


def path_loss_db(d: F64, frequency_hz: F64 | float, exponent: F64 | float) -> F64:
    """Mean log-distance path loss; distances under 1 m count as 1 m (the far-field reference)."""
    return np.asarray(fspl_1m_db(frequency_hz) + 10.0 * np.asarray(exponent) * np.log10(np.maximum(d, 1.0)),
                      dtype=np.float64)


def bit_error_rate(ebn0_db: F64, modulation: NDArray[np.int8] | int) -> F64:
    """BER for Eb/N0 in dB; ``modulation`` indexes MODULATIONS."""
    g = 10.0 ** (np.asarray(ebn0_db, float) / 10.0)
    mod = np.broadcast_to(np.asarray(modulation), g.shape)
    return np.asarray(np.where(mod == 0, 0.5 * erfc(np.sqrt(g)),
                               np.where(mod == 1, 0.5 * np.exp(-g), 0.5 * np.exp(-0.5 * g))), dtype=np.float64)


def packet_error_rate(ber: F64, size_bytes: F64 | float) -> F64:
    """Probability that at least one of 8 * size bits is wrong (bit errors independent)."""
    return np.asarray(-np.expm1(8.0 * np.asarray(size_bytes, float) * np.log1p(-np.minimum(ber, 0.5))),
                      dtype=np.float64)


def link_success_probability(d: F64, tx: RadioProfile, rx: RadioProfile, size_bytes: float,
                             extra_loss_db: float = 0.0, nodes: int = 64) -> F64:
    """The model's probability that one packet of ``size_bytes`` crosses a link of length ``d``.

    Averages the sensitivity test and the packet error over the log-normal shadowing with Gauss-Hermite
    quadrature (``nodes`` points); ignores Gilbert-Elliott.  Used by tests and docs to check the sampler.
    """
    d = np.atleast_1d(np.asarray(d, float))
    if tx.shadowing_sigma_db > 0.0:
        x, w = np.polynomial.hermite_e.hermegauss(nodes)
        w = w / w.sum()
        shadow = tx.shadowing_sigma_db * x
    else:
        shadow, w = np.zeros(1), np.ones(1)
    mean_pr = (tx.tx_power_dbm + tx.antenna_gain_dbi + rx.antenna_gain_dbi - extra_loss_db
               - path_loss_db(d, tx.frequency_hz, tx.path_loss_exponent))
    pr = mean_pr[:, None] - shadow[None, :]
    ebn0 = pr - rx.noise_floor_dbm + 10.0 * np.log10(rx.bandwidth_hz / (8.0 * tx.data_rate_Bps))
    ok = (pr >= rx.rx_sensitivity_dbm) * (1.0 - packet_error_rate(
        bit_error_rate(ebn0, MODULATIONS.index(rx.modulation)), size_bytes))
    p = ok @ w
    cap = min(tx.max_range_m, rx.max_range_m)
    return np.asarray(np.where(d <= cap, p, 0.0), dtype=np.float64)


class GilbertElliottLinks:
    """Good/Bad state per directed link, kept only for links that have carried traffic.

    State between two looks at a link follows the exact two-state Markov transition over the elapsed time,
    so the result does not depend on how often the link is used.  Links unused for long are forgotten (their
    state is then drawn from the stationary distribution, which it has converged to anyway).
    """

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)
        self.bad = np.zeros(0, bool)
        self.last_t = np.zeros(0)

    def sample(self, keys: I64, t: float, mean_good: F64, mean_bad: F64, rng: np.random.Generator
               ) -> NDArray[np.bool_]:
        """Advance and return the state (True = Bad) of each link in ``keys`` (may repeat) at time ``t``."""
        if keys.size == 0:  # nothing to advance (and no rate to prune the table by)
            return np.zeros(0, bool)
        uk, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        mg, mb = mean_good[first], mean_bad[first]
        pi_bad = mb / (mg + mb)
        pos = np.searchsorted(self.keys, uk)
        pos_c = np.minimum(pos, max(self.keys.size - 1, 0))
        known = (self.keys.size > 0) & (self.keys[pos_c] == uk) if self.keys.size else np.zeros(uk.size, bool)
        decay = np.zeros(uk.size)
        if self.keys.size:
            dt = np.maximum(t - self.last_t[pos_c], 0.0)
            decay = np.where(known, np.exp(-dt * (1.0 / mg + 1.0 / mb)), 0.0)
        was_bad = np.where(known, self.bad[pos_c] if self.keys.size else False, False)
        p_bad = np.where(was_bad, pi_bad + (1.0 - pi_bad) * decay, pi_bad * (1.0 - decay))
        state = rng.random(uk.size) < p_bad
        # store: update known in place, insert new ones
        if self.keys.size:
            self.bad[pos_c[known]] = state[known]
            self.last_t[pos_c[known]] = t
        new = ~known
        if new.any():
            keys_all = np.concatenate([self.keys, uk[new]])
            order = np.argsort(keys_all, kind="stable")
            self.keys = keys_all[order]
            self.bad = np.concatenate([self.bad, state[new]])[order]
            self.last_t = np.concatenate([self.last_t, np.full(int(new.sum()), t)])[order]
        if self.keys.size > 4 * max(uk.size, 1024):
            keep = self.last_t >= t - 20.0 * float(np.max(mg + mb))
            self.keys, self.bad, self.last_t = self.keys[keep], self.bad[keep], self.last_t[keep]
        return np.asarray(state[inv], dtype=bool)
