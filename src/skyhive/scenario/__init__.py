"""Scenario files: the pydantic schema (models), loading with every error at once (load)."""

from skyhive.scenario.load import Problem, ScenarioError, load_scenario, scenario_from_dict
from skyhive.scenario.models import SCHEMA_VERSION, Scenario

__all__ = ["SCHEMA_VERSION", "Problem", "Scenario", "ScenarioError", "load_scenario", "scenario_from_dict"]
