"""The MAVLink mission protocol of one vehicle: upload, download, clear, feasibility check, fence uploads.

A mixin of ``Vehicle`` (``vehicle.py``), kept apart so each file holds one
concern.  Uploads are checked item by item as they arrive (frames, commands,
coordinates), then as a whole the way PX4's mission feasibility checker does
(items outside the vehicle's or the scenario's keep-in, inside a keep-out, above
a fence ceiling, below the ground): a refused upload is answered with the
MISSION_ACK code and a STATUSTEXT that says why, and the previous mission stays.
A fence upload is answered when its geometry is built (``fence_upload.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pymavlink.dialects.v20 import common as mav

from skyhive.mavlink.fence_upload import MAX_FENCE_ITEMS, VehicleFence, check_fence_item

if TYPE_CHECKING:
    from skyhive.geo.fences import FencePrism
    from skyhive.mavlink.params import ParamStore
    from skyhive.sim import Simulation

# mission items the simulated navigator flies; other NAV commands are refused at upload
NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TIME, NAV_RTL, NAV_LAND, NAV_TAKEOFF = 16, 17, 19, 20, 21, 22
FLOWN = {NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TIME, NAV_RTL, NAV_LAND, NAV_TAKEOFF}
DO_CHANGE_SPEED, DO_JUMP = 178, 177
FENCE_INCLUSION, FENCE_EXCLUSION = 5001, 5002
FRAMES_AMSL = {mav.MAV_FRAME_GLOBAL, mav.MAV_FRAME_GLOBAL_INT}
FRAMES_REL = {mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
              mav.MAV_FRAME_GLOBAL_TERRAIN_ALT, mav.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT}
FRAMES_OK = FRAMES_AMSL | FRAMES_REL | {mav.MAV_FRAME_MISSION}
UPLOAD_RETRY_S = 1.0
UPLOAD_GIVE_UP_S = 5.0
MAX_MISSION_ITEMS = 1000
BELOW_GROUND_M = 0.5  # a flown item more than this below the ground (home) is refused
MAV_SEVERITY_CRITICAL, MAV_SEVERITY_WARNING, MAV_SEVERITY_INFO = 2, 4, 6


def is_home_marker(items: list[Any], seq: int) -> bool:
    """Item 0 of a QGC WPL file (``wp load``): a NAV_WAYPOINT flagged current, in the absolute frame, at home.

    ArduPilot stores it as home; here it is passed over (reached at once) and exempt from the feasibility
    check, so a standard WPL file flies its real items."""
    it = items[seq]
    return (seq == 0 and len(items) > 1 and it.command == NAV_WAYPOINT and it.current == 1
            and it.frame in (mav.MAV_FRAME_GLOBAL, mav.MAV_FRAME_GLOBAL_INT))


@dataclass
class Upload:
    mission_type: int
    count: int
    items: list[Any] = field(default_factory=list)
    last_wall: float = 0.0
    retries: int = 0
    src: tuple[int, int] = (255, 190)
    addr: Any = None  # the ground station's UDP address: re-requests and the answer go there


class MissionProtocol:
    """Mission, fence and rally transfers of a ``Vehicle`` (the attributes below are the vehicle's)."""

    sim: Simulation
    i: int
    mav: Any
    params: ParamStore
    missions: dict[int, list[Any]]
    upload: Upload | None
    current: int
    counters: dict[str, int]
    fence: VehicleFence
    _fence_items_pending: list[Any]

    if TYPE_CHECKING:
        def send(self, msg: Any) -> None: ...
        def say(self, severity: int, text: str) -> None: ...
        def home_z(self) -> float: ...
        def _item_target(self, item: Any) -> np.ndarray: ...
        def _set_current(self, seq: int) -> bool: ...
        def _mission_stored(self, items: list[Any]) -> None: ...
        def reply_address(self) -> Any: ...

    def _on_mission_count(self, m: Any, now: float) -> None:
        mtype = getattr(m, "mission_type", 0)
        if mtype not in self.missions:
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_UNSUPPORTED, mtype))
            return
        if m.count == 0:
            self._store(mtype, [])
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(), mav.MAV_MISSION_ACCEPTED,
                                                  mtype))
            return
        if m.count > (MAX_FENCE_ITEMS if mtype == 1 else MAX_MISSION_ITEMS):
            self.say(MAV_SEVERITY_WARNING, f"Upload refused: {m.count} items, too many")
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(), mav.MAV_MISSION_NO_SPACE,
                                                  mtype))
            return
        self.upload = Upload(mtype, int(m.count), last_wall=now, src=(m.get_srcSystem(), m.get_srcComponent()),
                             addr=self.reply_address())
        self._request_next()

    def _request_next(self) -> None:
        u = self.upload
        assert u is not None
        self.send(self.mav.mission_request_int_encode(u.src[0], u.src[1], len(u.items), u.mission_type))

    def _on_mission_item(self, m: Any, now: float) -> None:
        # a float item (MAVLink 1 era): stored as the equivalent MISSION_ITEM_INT
        is_global = m.frame in FRAMES_AMSL | FRAMES_REL
        scale = 1e7 if is_global else 1.0
        x = int(m.x * scale) if math.isfinite(m.x) and abs(m.x * scale) < 2**31 else 2**31
        y = int(m.y * scale) if math.isfinite(m.y) and abs(m.y * scale) < 2**31 else 2**31
        if x == 2**31 or y == 2**31:
            self.upload = None
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_INVALID_PARAM5_X, getattr(m, "mission_type", 0)))
            return
        item = self.mav.mission_item_int_encode(m.target_system, m.target_component, m.seq, m.frame, m.command,
                                                m.current, m.autocontinue, m.param1, m.param2, m.param3, m.param4,
                                                x, y, m.z, getattr(m, "mission_type", 0))
        self._on_mission_item_int(item, now, src=(m.get_srcSystem(), m.get_srcComponent()))

    def _on_mission_item_int(self, m: Any, now: float, src: tuple[int, int] | None = None) -> None:
        u = self.upload
        src = src or (m.get_srcSystem(), m.get_srcComponent())
        if u is None or getattr(m, "mission_type", 0) != u.mission_type:
            self.counters["protocol_drops"] += 1  # an item nobody asked for
            return
        if m.seq != len(u.items):
            self.counters["protocol_drops"] += 1
            self._request_next()  # out of order: ask again for the one we need
            return
        error = self._check_item(m, u.mission_type)
        if error != mav.MAV_MISSION_ACCEPTED:
            self._refuse_upload(src, error, u.mission_type, f"item {m.seq} refused")
            return
        u.items.append(m)
        u.last_wall = now
        u.retries = 0
        if len(u.items) < u.count:
            self._request_next()
            return
        if u.mission_type == 0:
            problem = self._infeasible(u.items)
            if problem is not None:
                self._refuse_upload(src, problem[0], 0, problem[1])
                return
        self.upload = None
        result = self._store(u.mission_type, u.items, src)
        if result is not None:  # None: a fence, answered once its geometry is built
            self.send(self.mav.mission_ack_encode(src[0], src[1], result, u.mission_type))

    def _refuse_upload(self, src: tuple[int, int], code: int, mtype: int, why: str) -> None:
        self.upload = None
        self.say(MAV_SEVERITY_CRITICAL, f"{'Geofence' if mtype == 1 else 'Mission'} rejected: {why}")
        self.send(self.mav.mission_ack_encode(src[0], src[1], code, mtype))

    def _infeasible(self, items: list[Any]) -> tuple[int, str] | None:
        """PX4's feasibility check: (MISSION_ACK code, why) for the first item the vehicle must not fly to."""
        flown = [k for k, it in enumerate(items) if it.command in FLOWN - {NAV_RTL}
                 and it.frame != mav.MAV_FRAME_MISSION and not is_home_marker(items, k)]
        if not flown:
            return None
        pts = np.array([self._item_target(items[k]) for k in flown])
        ground = self.home_z() - BELOW_GROUND_M
        for k, z in zip(flown, pts[:, 2], strict=True):
            if z < ground and items[k].command != NAV_LAND:
                return int(mav.MAV_MISSION_INVALID_PARAM7), f"item {k} below the ground"
        check = pts.copy()
        check[:, 2] = np.maximum(check[:, 2], ground + BELOW_GROUND_M + 0.01)  # landings: where they touch down
        outside = self.sim.fences.breaches(check, np.ones(len(flown), bool))
        if outside.any():
            k = flown[int(np.flatnonzero(outside)[0])]
            return int(mav.MAV_MISSION_DENIED), f"item {k} outside scenario fence"
        for k, pt in zip(flown, check, strict=True):
            why = self.fence.violation(pt)
            if why is not None:
                return int(mav.MAV_MISSION_DENIED), f"item {k} {why}"
        return None

    def _check_item(self, m: Any, mtype: int) -> int:
        if mtype == 1:
            problem = check_fence_item(m)
            if problem is not None:
                self.say(MAV_SEVERITY_CRITICAL, f"Geofence item {m.seq}: {problem[1]}")
                return problem[0]
            return mav.MAV_MISSION_ACCEPTED
        if mtype == 2:
            return mav.MAV_MISSION_ACCEPTED
        if m.frame not in FRAMES_OK:
            return mav.MAV_MISSION_UNSUPPORTED_FRAME
        if m.frame != mav.MAV_FRAME_MISSION and m.command in FLOWN:
            if abs(m.x) > 90e7:
                return mav.MAV_MISSION_INVALID_PARAM5_X
            if abs(m.y) > 180e7:
                return mav.MAV_MISSION_INVALID_PARAM6_Y
            if not math.isfinite(m.z) and m.command != NAV_RTL:
                return mav.MAV_MISSION_INVALID_PARAM7
        if m.command < 100 and m.command not in FLOWN:
            return mav.MAV_MISSION_UNSUPPORTED  # a navigation command the simulated navigator cannot fly
        if m.command == DO_JUMP:
            return mav.MAV_MISSION_UNSUPPORTED
        if m.command in FLOWN and m.frame == mav.MAV_FRAME_MISSION and m.command != NAV_RTL:
            return mav.MAV_MISSION_UNSUPPORTED_FRAME
        return mav.MAV_MISSION_ACCEPTED

    def _store(self, mtype: int, items: list[Any], src: tuple[int, int] = (255, 190)) -> int | None:
        """Keep an uploaded list; the MISSION_ACK result, or None for a fence that is answered later."""
        if mtype == 1:
            self._fence_items_pending = list(items)
            result = self.on_fence(items, src)
            if result is None or result != mav.MAV_MISSION_ACCEPTED:
                return result
        self.missions[mtype] = list(items)
        if mtype == 0:
            self.counters["mission_uploads"] += 1
            self._mission_stored(items)
        return int(mav.MAV_MISSION_ACCEPTED)

    def on_fence(self, items: list[Any], src: tuple[int, int]) -> int | None:
        """Replaced by the server, which builds the fence off the tick and calls ``fence_answer``."""
        self.set_fence([])
        return int(mav.MAV_MISSION_ACCEPTED)

    def set_fence(self, prisms: list[FencePrism]) -> None:
        self.fence = VehicleFence(list(prisms))

    def fence_answer(self, src: tuple[int, int], code: int, why: str, prisms: list[FencePrism]) -> None:
        """The server finished (or refused) a fence upload: keep it and answer the ground station."""
        if code == mav.MAV_MISSION_ACCEPTED:
            self.set_fence(prisms)
            self.missions[1] = list(self._fence_items_pending)
        else:
            self.say(MAV_SEVERITY_CRITICAL, f"Geofence rejected: {why}")
        self._fence_items_pending = []
        self.send(self.mav.mission_ack_encode(src[0], src[1], code, 1))

    def check_upload(self, now: float) -> None:
        """Re-request a stalled upload item; give up after a while (called by the server for open uploads)."""
        u = self.upload
        if u is None or now - u.last_wall < UPLOAD_RETRY_S * (u.retries + 1):
            return
        if now - u.last_wall > UPLOAD_GIVE_UP_S:
            self.upload = None
            self.send(self.mav.mission_ack_encode(u.src[0], u.src[1], mav.MAV_MISSION_OPERATION_CANCELLED,
                                                  u.mission_type))
            return
        u.retries += 1
        self._request_next()

    def _on_mission_request_list(self, m: Any, now: float) -> None:
        mtype = getattr(m, "mission_type", 0)
        if mtype not in self.missions:
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_UNSUPPORTED, mtype))
            return
        self.send(self.mav.mission_count_encode(m.get_srcSystem(), m.get_srcComponent(), len(self.missions[mtype]),
                                                mtype))

    def _stored_item(self, m: Any) -> Any | None:
        items = self.missions.get(getattr(m, "mission_type", 0))
        if items is None or not 0 <= m.seq < len(items):
            self.counters["protocol_drops"] += 1
            self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(),
                                                  mav.MAV_MISSION_INVALID_SEQUENCE, getattr(m, "mission_type", 0)))
            return None
        return items[m.seq]

    def _on_mission_request_int(self, m: Any, now: float) -> None:
        it = self._stored_item(m)
        if it is not None:
            self.send(self.mav.mission_item_int_encode(
                m.get_srcSystem(), m.get_srcComponent(), it.seq, it.frame, it.command,
                int(it.seq == self.current), it.autocontinue, it.param1, it.param2, it.param3, it.param4,
                it.x, it.y, it.z, it.mission_type))

    def _on_mission_request(self, m: Any, now: float) -> None:
        it = self._stored_item(m)
        if it is not None:
            is_global = it.frame in FRAMES_AMSL | FRAMES_REL
            x = it.x / 1e7 if is_global else float(it.x)
            y = it.y / 1e7 if is_global else float(it.y)
            self.send(self.mav.mission_item_encode(
                m.get_srcSystem(), m.get_srcComponent(), it.seq, it.frame, it.command, int(it.seq == self.current),
                it.autocontinue, it.param1, it.param2, it.param3, it.param4, x, y, it.z, it.mission_type))

    def _on_mission_clear_all(self, m: Any, now: float) -> None:
        mtype = getattr(m, "mission_type", 0)
        if mtype == mav.MAV_MISSION_TYPE_ALL:
            for t in list(self.missions):
                self._store(t, [])
        elif mtype in self.missions:
            self._store(mtype, [])
        self.send(self.mav.mission_ack_encode(m.get_srcSystem(), m.get_srcComponent(), mav.MAV_MISSION_ACCEPTED,
                                              mtype))

    def _on_mission_set_current(self, m: Any, now: float) -> None:
        if not self._set_current(int(m.seq)):
            self.counters["protocol_drops"] += 1

    def _on_mission_ack(self, m: Any, now: float) -> None:
        return  # the end of a download: nothing to do
