"""Experiments at scale: parameter sweeps over seeds, a results table and a report.

``sweep(scenario, vary={"wind.speed_mps": [0, 5, 10]}, seeds="0-49", out="out/wind")`` runs every combination
of the varied values (dotted paths into the scenario, list items by index or by name) for every seed, on local
processes (joblib/loky) or on a Dask or Ray cluster, and returns the results as a pyarrow Table, one row per run:
the varied values, the seed, every scalar of the run's summary, wall time and status (``ok`` / ``error``).
``write_report(folder)`` turns a sweep folder into an HTML report (and PNGs and Markdown): each metric against
each varied parameter, mean and 95 % confidence interval over seeds.

Modules: ``paths`` (dotted paths), ``grid`` (values, ranges, seeds, runs), ``check`` (every combination checked
before any run), ``runner`` (one run on a worker), ``engines`` (local / dask / ray), ``table`` (journal and
parquet, resume), ``sweep`` (the whole), ``sweepfile`` (YAML sweep files), ``stats`` (mean and t-interval),
``report`` (plots, HTML, Markdown).

Exports: ``sweep``, ``plan_sweep``, ``execute``, ``SweepError``, ``Axis``, ``Task``, ``parse_vary``,
``parse_values``, ``parse_seeds``.  May import: ``skyhive.scenario`` (reading and checking documents),
``skyhive.sim``, ``skyhive.record`` (the summary JSON conversion, MCAP recording); ``skyhive.bench`` and
``skyhive.cli`` import it, never the other way (layer ``skyhive.experiments`` in pyproject's import-linter
contract).
"""

from skyhive.experiments.check import SweepError
from skyhive.experiments.grid import Axis, Task, parse_seeds, parse_values, parse_vary
from skyhive.experiments.sweep import execute, plan_sweep, sweep

__all__ = ["Axis", "SweepError", "Task", "execute", "parse_seeds", "parse_values", "parse_vary", "plan_sweep",
           "sweep"]
