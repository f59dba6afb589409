"""MAVLink 2 both ways: ground stations fly skyhive drones (``skyhive serve``); skyhive flies real vehicles (``fly``).

``serve.py`` runs the simulation locked to wall-clock time and polls the UDP
endpoints between ticks (one process, non-blocking sockets, a selector).
``server.py`` owns the sockets, parsing, signing policy and telemetry;
``vehicle.py`` is the PX4-style protocol behaviour of one exposed drone
(commands, parameters, missions); ``control.py`` is the DECIDE-phase system
that turns ground-station intents into velocity intents, so the core safety
filter still guards every command.  ``control.py`` writes the simulation's ``ControlMask`` (who commands each drone);
a drone handed back holds through the ``hold`` port.  ``offboard.py`` lets served vehicles follow PX4 offboard /
GUIDED-style setpoints.

The other direction, ``skyhive fly`` (docs/vehicles.md): ``config.py`` is the ``fleets[].external`` scenario section
(bottom layer only); ``gcs.py`` is one external PX4 / ArduPilot vehicle's ground-station link (telemetry into a
struct-of-arrays, commands, setpoints); ``external.py`` puts external vehicles into the world each tick and sends
the safety layer's commands back out; ``fly.py`` is the wall-clock loop.

An interface: may import everything below ``sim`` and ``sim`` itself; nothing imports it but ``cli``.
See docs/mavlink.md.
"""
