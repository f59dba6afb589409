"""Mesh communication: every message between drones, ground stations and manned vehicles goes through here.

- ``config``: scenario sections (``RadioProfile``, ``GroundStation``, ``Comms`` with faults and built-in traffic).
- ``channel``: the radio model as vectorized formulas (log-distance path loss, shadowing, SNR -> BER -> packet
  error, Gilbert-Elliott bursts) and ``link_success_probability``, the model's expected delivery curve.
- ``system``: ``CommsSystem`` (phase TALK) with ``register_kind``, ``broadcast``, ``unicast``, ``flood`` and
  ``inbox``; ``build(sim)`` adds it when the scenario has a ``comms`` section or ground stations.
- ``kernels``: the numba loops of the hot path.

Nothing is imported here so that the scenario schema can use ``config`` without pulling in the simulator.
See docs/comms.md.
"""
