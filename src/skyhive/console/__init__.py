"""The operator's browser console: watch and task a running swarm live, or replay a recorded run.

* ``stream``  -- the wire format: one binary frame per update (a small JSON header, then packed NumPy arrays),
  JSON text messages for the slowly changing picture (fences, tasks) and for replies to operator actions.
* ``picture`` -- reads a ``Simulation`` from outside and builds those messages (never writes to it).
* ``actions`` -- the operator's actions: validated pydantic models, applied between ticks through the public
  APIs of the systems (mission orders flooded from a ground station, the alert list, geofence switches), each
  logged as an event.
* ``live``    -- runs a simulation in real time (or faster) on its own thread and publishes frames.
* ``replay``  -- the same frames from an MCAP log (``skyhive.record.reader``), with a timeline.
* ``app``     -- the Starlette web app: the page, ``/healthz``, the WebSocket stream, token checks, per-client
  frame dropping so a slow browser never stalls the simulation.
* ``static/`` -- the page (plain HTML, CSS and JavaScript drawing on a Canvas; no build step, no CDN).

``skyhive console SCENARIO`` and ``skyhive console --replay run.mcap`` start it (docs/console.md).
"""
