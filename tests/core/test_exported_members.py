"""The public API is exactly ``skyhive.__all__``: every public name the package defines is listed, and nothing
listed is missing (after httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import types

import skyhive


def test_all_lists_every_public_member_once() -> None:
    public = [name for name, value in vars(skyhive).items()
              if not isinstance(value, types.ModuleType) and (not name.startswith("_") or name == "__version__")]
    assert len(set(skyhive.__all__)) == len(skyhive.__all__)
    assert sorted(skyhive.__all__) == sorted(public)


def test_every_exported_name_exists() -> None:
    for name in skyhive.__all__:
        assert hasattr(skyhive, name), name
