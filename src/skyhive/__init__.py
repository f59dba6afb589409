"""skyhive: cooperative drone swarms that share airspace safely.

Start with :class:`skyhive.Simulation` (``Simulation.from_file(path, seed=...)``)
or the ``skyhive`` command line (``skyhive run``, ``validate``, ``bench``).

The public API is ``__all__`` below (guarded by tests/core/test_exported_members.py): the simulation, the scenario
(load, validate, problems), and what a concern needs to add systems (``System``, ``Phase``, ``TickContext``,
``BuildContext``, ``Ports`` and the port protocols, ``Rate``, ``Recordable``; see CONTRIBUTING.md).
"""

from skyhive.scenario.base import Problem
from skyhive.scenario.load import ScenarioError, load_scenario, scenario_from_dict
from skyhive.scenario.models import Scenario
from skyhive.sim import Simulation
from skyhive.systems import (
    BuildContext,
    ControlMask,
    HoldPort,
    Mesh,
    Phase,
    Ports,
    Rate,
    Recordable,
    System,
    TickContext,
)

__all__ = [
    "BuildContext",
    "ControlMask",
    "HoldPort",
    "Mesh",
    "Phase",
    "Ports",
    "Problem",
    "Rate",
    "Recordable",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "System",
    "TickContext",
    "__version__",
    "load_scenario",
    "scenario_from_dict",
]
__version__ = "0.1.0"
