"""MAVLink 2 endpoints: real ground stations and SDKs fly skyhive drones (``skyhive serve``).

``serve.py`` runs the simulation locked to wall-clock time and polls the UDP
endpoints between ticks (one process, non-blocking sockets, a selector).
``server.py`` owns the sockets, parsing, signing policy and telemetry;
``vehicle.py`` is the PX4-style protocol behaviour of one exposed drone
(commands, parameters, missions); ``control.py`` is the DECIDE-phase system
that turns ground-station intents into velocity intents, so the core safety
filter still guards every command.  ``control.py`` writes the simulation's ``ControlMask`` (who commands each drone);
a drone handed back holds through the ``hold`` port.

An interface: may import everything below ``sim`` and ``sim`` itself; nothing imports it but ``cli``.
See docs/mavlink.md.
"""
