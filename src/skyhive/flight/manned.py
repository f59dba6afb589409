"""Manned vehicles fly their routes at constant speed (the drones must keep clear; they do not react)."""

from __future__ import annotations

import numpy as np

from skyhive.systems import Phase, TickContext


class MannedMotion:
    name = "manned"
    phase = Phase.MOVE
    period = 0.0

    def step(self, ctx: TickContext) -> None:
        m = ctx.world.manned
        for k in range(m.m):  # a handful of vehicles by definition
            route = m.routes[k]
            if m.leg[k] >= len(route):
                m.vel[k] = 0.0
                continue
            step = m.speeds[k] * ctx.dt
            pos = m.pos[k].copy()
            for _ in range(2 * len(route) + 2):  # bounded: a degenerate route cannot spin
                if step <= 0.0 or m.leg[k] >= len(route):
                    break
                to = route[m.leg[k]] - pos
                dist = float(np.linalg.norm(to))
                if dist > step:
                    pos += to / dist * step
                    step = 0.0
                else:
                    pos = route[m.leg[k]].copy()
                    step -= dist
                    m.leg[k] += 1
                    if m.leg[k] >= len(route) and m.loop[k]:
                        m.leg[k] = 0
            m.vel[k] = (pos - m.pos[k]) / ctx.dt
            m.pos[k] = pos

    def metrics(self) -> dict[str, object]:
        return {}
