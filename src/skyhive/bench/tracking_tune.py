"""Per-case tuning of every tracker in the tracking benchmark, on seeds that are never reported.

``python -m skyhive.bench.tracking_tune [--cases N] [--out PATH]`` runs a coordinate descent (each parameter in turn
over its grid, the others held, until a pass changes nothing or two passes are done) that minimises the mean GOSPA
over :data:`TUNE_SEEDS`, for skyhive (GNN and JPDA) and Stone Soup (GNN and JPDA) alike, and writes the winners to
``tracking_tuned.json`` next to this file, which ``skyhive bench tracking`` reads.  The same search, the same
budget of passes and the same objective for every tracker.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from skyhive.airspace.evaluate import score_run
from skyhive.bench.tracking import (
    SCALE,
    SWEEP,
    Case,
    SkyhiveParams,
    StoneSoupParams,
    Tuned,
    run_skyhive,
    run_stonesoup,
    stonesoup_inputs,
)

TUNE_SEEDS = (101, 102)  # never among the report seeds
TUNE_SCANS = 30
SKYHIVE_GRID: dict[str, list[Any]] = {"q_cv": [0.01, 0.05, 0.2, 1.0], "q_manoeuvre": [5.0, 20.0, 60.0],
                                      "confirm_score": [4.0, 6.0, 8.0, 11.0], "init_speed_sigma": [15.0, 25.0, 35.0],
                                      "tentative_delete_score": [-4.0, -7.0]}
STONESOUP_GRID: dict[str, list[Any]] = {"q": [0.3, 1.0, 3.0, 10.0], "min_points": [2, 3, 4, 5, 6],
                                        "hold_steps": [1, 2, 3], "delete_steps": [2, 3, 4, 6, 8]}
# the scale cases cost Stone Soup seconds per scan: a shorter grid (q stays at the base case's best) and one pass;
# JPDA at 500 targets is not tuned at all (one run takes longer than the whole bench): it reuses 100/100's
STONESOUP_GRID_SCALE: dict[str, list[Any]] = {"min_points": [3, 4, 5], "hold_steps": [1, 2], "delete_steps": [3, 4]}


def descend(start: Any, grid: dict[str, list[Any]], cost: Callable[[Any], float], passes: int = 2
            ) -> tuple[Any, float, dict[str, float]]:
    """Coordinate descent over a frozen dataclass of parameters; returns the best, its cost, every cost seen."""
    seen: dict[str, float] = {}

    def f(p: Any) -> float:
        key = json.dumps(asdict(p), sort_keys=True)
        if key not in seen:
            seen[key] = cost(p)
        return seen[key]

    best, best_cost = start, f(start)
    for _ in range(passes):
        changed = False
        for name, values in grid.items():
            for v in values:
                cand = replace(best, **{name: v})
                c = f(cand)
                if c < best_cost - 1e-9:
                    best, best_cost, changed = cand, c, True
        if not changed:
            break
    return best, best_cost, seen


def tune_case(case: Case, tuned: Tuned, seeds: tuple[int, ...], n_scans: int, log: Callable[[str], None],
              which: str = "all", budget_s: float = 120.0, scale: bool = False, passes: int = 2) -> None:
    scenes = [case.scene(s, n_scans) for s in seeds]
    for method in ("gnn", "jpda") if which in ("all", "skyhive") else ():
        if f"{method}|{case.key}" in tuned.skyhive:
            continue
        def sky_cost(p: SkyhiveParams, method: str = method) -> float:
            return float(np.mean([score_run(sc.truth, run_skyhive(sc, method, p)[1]).gospa_mean for sc in scenes]))

        t0 = time.process_time()
        best, c, seen = descend(SkyhiveParams(), SKYHIVE_GRID, sky_cost, passes)
        tuned.skyhive[f"{method}|{case.key}"] = best
        log(f"{case.key} skyhive {method}: {best} GOSPA {c:.1f} ({len(seen)} runs, {time.process_time() - t0:.0f} s)")
    if which not in ("all", "stonesoup"):
        return
    inputs = [stonesoup_inputs(sc) for sc in scenes]
    for method in ("gnn", "jpda"):
        if f"{method}|{case.key}" in tuned.stonesoup:
            continue

        def ss_cost(p: StoneSoupParams, method: str = method) -> float:
            out = []
            for sc, inp in zip(scenes, inputs, strict=True):
                _, est, done = run_stonesoup(sc, method, p, budget_s, inputs=inp)
                out.append(score_run(sc.truth, est).gospa_mean if done else float("inf"))
            return float(np.mean(out))

        t0 = time.process_time()
        start = StoneSoupParams(q=3.0, min_points=4, hold_steps=2, delete_steps=3)
        if scale:
            base = tuned.stonesoup.get(f"{method}|{SWEEP[0].key}")
            start = replace(start, q=base.q) if base is not None else start
            if method == "jpda" and case.n_targets > 100:
                reuse = tuned.stonesoup.get(f"jpda|{SCALE[0].key}", start)
                tuned.stonesoup[f"{method}|{case.key}"] = reuse
                log(f"{case.key} Stone Soup jpda: not tuned (too slow), reuses {reuse}")
                continue
        best_ss, c, seen = descend(start, STONESOUP_GRID_SCALE if scale else STONESOUP_GRID, ss_cost,
                                   passes=1 if scale else passes)
        tuned.stonesoup[f"{method}|{case.key}"] = best_ss
        log(f"{case.key} Stone Soup {method}: {best_ss} GOSPA {c:.1f} ({len(seen)} runs, "
            f"{time.process_time() - t0:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("tracking_tuned.json"))
    ap.add_argument("--only", default="", help="substring of the case keys to tune (default: all)")
    ap.add_argument("--which", choices=["all", "skyhive", "stonesoup"], default="all")
    ap.add_argument("--passes", type=int, default=2, help="coordinate-descent passes (the same for every tracker)")
    ap.add_argument("--light", action="store_true",
                    help="Stone Soup's costly cases: one seed, 20 scans, the short grid (q from the base case)")
    args = ap.parse_args(argv)
    tuned = Tuned.from_json(json.loads(args.out.read_text())) if args.out.exists() else Tuned()

    def log(msg: str) -> None:
        print(msg, flush=True)

    for case in SWEEP + SCALE:
        if args.only and not any(part in case.key for part in args.only.split(",")):
            continue
        big = case in SCALE
        # the scale cases are costly for Stone Soup: one tuning seed, fewer scans
        light = big or args.light
        tune_case(case, tuned, TUNE_SEEDS[:1] if light else TUNE_SEEDS, (15 if big else 20) if light else TUNE_SCANS,
                  log, which=args.which, scale=light, passes=args.passes)
        if args.out.exists():  # another tuner (the other family) may have written meanwhile: merge
            old = Tuned.from_json(json.loads(args.out.read_text()))
            if args.which == "skyhive":
                tuned.stonesoup = {**old.stonesoup, **tuned.stonesoup}
            elif args.which == "stonesoup":
                tuned.skyhive = {**old.skyhive, **tuned.skyhive}
        args.out.write_text(json.dumps(tuned.to_json(), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
