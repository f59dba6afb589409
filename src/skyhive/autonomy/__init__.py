"""Cooperative autonomy: what each drone decides from its own state and its inbox only.

- ``config``: scenario sections ``tasks`` (``TaskSpec``) and ``mission`` (``MissionSettings``) and their cross-checks;
- ``tasks`` (``TaskKind``, ``TASK_KINDS``, ``TaskSet``), ``cbba`` (decentralized allocation), ``transport`` /
  ``meshlink`` (the allocator over a test transport or the mesh port), ``coverage`` (lawnmower shares),
  ``baseline``; ``mission``: ``MissionSystem`` (phase DECIDE) and ``build(ctx)``.

May import: the bottom layer, ``scenario.models``, ``world``, ``systems`` (ports: ``mesh``, ``control``).  Never
``airspace``, ``flight`` internals, ``sim`` or an interface.  ``config`` imports only the bottom layer and ``tasks``.
See docs/autonomy.md.
"""
