"""skyhive: cooperative drone swarms that share airspace safely.

Start with :class:`skyhive.Simulation` (``Simulation.from_file(path, seed=...)``)
or the ``skyhive`` command line (``skyhive run``, ``validate``, ``bench``).
"""

from skyhive.scenario.load import ScenarioError, load_scenario
from skyhive.sim import Simulation

__all__ = ["ScenarioError", "Simulation", "__version__", "load_scenario"]
__version__ = "0.1.0"
