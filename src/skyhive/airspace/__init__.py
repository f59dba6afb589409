"""Airspace awareness: intruders, sensors, tracking, identification and alerts for a human operator.

Detection, tracking, identification and alerting only (never engagement).  Modules, by concern:

- ``config``: scenario sections (``Intruder``, sensors ``Radar`` / ``RfDirectionFinder`` / ``RemoteIdReceiver`` /
  ``AdsbReceiver`` / ``Camera``, ``ProtectedZone``, the ``tracker`` section ``TrackerConfig``) and their cross-checks;
- ``intruders`` (truth motion), ``sensors`` (radar, direction finders, truth labels), ``camera`` (onboard cameras
  reporting over the mesh), ``remoteid`` / ``adsb`` (codecs), ``cooperative`` (Remote ID / ADS-B on the air, track
  identification), ``tracker`` (IMM tracker), ``alerts`` (zones, alerts, their scoring), ``evaluate`` (GOSPA/OSPA,
  MOT), ``picture`` (``AirspacePicture``, the run's shared state), ``system`` (the systems and ``build(ctx)``).

May import: the bottom layer (``geo``, ``events``, ``record.scene``, ``scenario.base``), ``world``, ``systems`` (ports:
the mesh for cameras).  Never ``autonomy``, ``flight``, ``sim`` or an interface.  ``config`` imports only the bottom
layer and ``tracker``.  See docs/airspace.md.
"""
