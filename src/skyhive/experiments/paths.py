"""Dotted paths into a scenario document: ``wind.speed_mps``, ``fleets.0.count``, ``fleets.rescue.count``.

A part that names a list item may be its index or its ``name`` (fleets, geofences, manned vehicles, ground
stations) or ``id`` (tasks).  Sections that are absent in the file are created on the way (``wind.gusts.sigma_mps``
on a scenario without gusts), so the scenario's own validation then says whether the field exists.
"""

from __future__ import annotations

from typing import Any


class PathError(ValueError):
    """A path that cannot be followed in the scenario document; ``where`` is the part of it that failed."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(message)


def _list_index(items: list[Any], part: str, where: str) -> int:
    if part.lstrip("-").isdigit():
        k = int(part)
        if not 0 <= k < len(items):
            raise PathError(where, f"index {k} is beyond the {len(items)} item(s) of this list")
        return k
    for k, item in enumerate(items):
        if isinstance(item, dict) and part in (item.get("name"), item.get("id")):
            return k
    names = [str(item.get("name", item.get("id"))) for item in items if isinstance(item, dict)]
    known = ", ".join(repr(n) for n in names if n != "None") or "none has a name"
    raise PathError(where, f"no item named {part!r} in this list ({known})")


def resolve(doc: dict[str, Any], path: str) -> str:
    """The path with list items named by their index, as the scenario's own error messages write it."""
    return set_path(doc, path, None, dry_run=True)


def set_path(doc: dict[str, Any], path: str, value: Any, dry_run: bool = False) -> str:
    """Set ``value`` at ``path`` in ``doc`` (in place, unless ``dry_run``); return the resolved path."""
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise PathError(path, "a path is field names joined by dots, e.g. wind.speed_mps or fleets.0.count")
    node: Any = doc
    resolved: list[str] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join([*resolved, part])
        if isinstance(node, dict):
            resolved.append(part)
            if last:
                if not dry_run:
                    node[part] = value
            else:
                child = node.get(part)
                if child is None:
                    child = {}
                    if not dry_run:
                        node[part] = child
                node = child
        elif isinstance(node, list):
            k = _list_index(node, part, where)
            resolved.append(str(k))
            if last:
                if not dry_run:
                    node[k] = value
            else:
                node = node[k]
        else:
            kind = type(node).__name__
            raise PathError(".".join(resolved), f"{'.'.join(resolved)} is a value ({kind}), not a section: "
                                                f"it has no field {part!r}")
    return ".".join(resolved)
