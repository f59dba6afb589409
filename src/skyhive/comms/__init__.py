"""Mesh communication: every message between drones, ground stations and manned vehicles goes through here.

- ``config``: scenario sections (``RadioProfile``, ``GroundStation``, ``Comms`` with faults and built-in traffic).
- ``channel``: the radio model as vectorized formulas (log-distance path loss, shadowing, SNR -> BER -> packet
  error, Gilbert-Elliott bursts) and ``link_success_probability``, the model's expected delivery curve.
- ``system``: ``CommsSystem`` (phase TALK) with ``register_kind``, ``broadcast``, ``unicast``, ``flood`` and
  ``inbox`` -- the ``Mesh`` port of ``skyhive.systems``; ``build(ctx)`` adds it when the scenario has a ``comms``
  section, ground stations or a mission.
- ``kernels``: the numba loops of the hot path.

Nothing is imported here so that the scenario schema can use ``config`` without pulling in the simulator.
May import: the bottom layer, ``world``, ``systems``.  Never ``flight``, ``autonomy``, ``airspace``, ``sim`` or an
interface; ``config`` imports only the bottom layer.  See docs/comms.md.
"""
