"""Scenario files: the pydantic schema (models), loading with every error at once (load), and the bottom layer
every concern's config builds on (base: ``Section``, ``Point``, ``WellClear``, ``Problem``, ``CheckInput``).

``base`` imports only ``geo``; ``models`` and ``load`` assemble the concerns' ``config`` modules (their sections,
``CROSS_CHECKS`` and ``UNION_TAGS``) and may import nothing else above the bottom layer.
"""

from skyhive.scenario.base import Problem
from skyhive.scenario.load import ScenarioError, load_scenario, scenario_from_dict
from skyhive.scenario.models import SCHEMA_VERSION, Scenario

__all__ = ["SCHEMA_VERSION", "Problem", "Scenario", "ScenarioError", "load_scenario", "scenario_from_dict"]
