"""skyhive.record: the run's MCAP log (Foxglove schemas, crash-safe) and its JSON summary.

``McapRecorder`` writes drones, manned vehicles, geofences and events;
``read_messages`` reads a log back, complete or cut short by a crash;
``attach_recorder`` hooks a recorder to a ``Simulation``; ``scene`` builds Foxglove messages (bottom layer: the
concerns use it for their own topics, through ``Recordable.record_frame``).

``scene`` imports nothing of skyhive; ``writer`` / ``reader`` may import the bottom layer and ``world``; ``attach``
(an interface) may import ``sim``.  See docs/recording.md.
"""

from skyhive.record.reader import is_complete, read_messages, readable_prefix
from skyhive.record.writer import McapRecorder, write_summary_json

__all__ = ["McapRecorder", "is_complete", "read_messages", "readable_prefix", "write_summary_json"]
