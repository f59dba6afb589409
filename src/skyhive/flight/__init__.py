"""Flight: dynamics, wind, battery, failsafes, failures, the built-in waypoint behaviour and the safety filter."""
