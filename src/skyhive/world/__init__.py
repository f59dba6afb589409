"""The world state: drones and manned vehicles as struct-of-arrays (``world``), its construction from the scenario
(``build``), and the one spatial index per tick shared by comms, safety and sensing (``spatial``, ``kernels``).

May import: the bottom layer and ``scenario.models``.  Never ``flight``, a concern, ``sim`` or an interface.
"""
