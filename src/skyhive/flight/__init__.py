"""Flight: dynamics, wind, battery, failsafes, failures, the built-in waypoint behaviour and the safety filter.

Exports ``Dynamics``, ``WindField``, ``WaypointFollower`` (also the ``hold`` port), ``Failsafe``, ``Timeline``,
``MannedMotion``, ``SafetyFilter`` / ``SafetyMonitor`` (the one safety layer every command passes) and the numba
``kernels`` of the tick.  May import: the bottom layer, ``scenario.models``, ``world``, ``systems``.  Never
``comms``, ``autonomy``, ``airspace``, ``sim`` or an interface.  See docs/flight.md.
"""
