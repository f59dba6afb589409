"""The grid: values, ranges, seeds, dotted paths (index and name), run ids."""

from __future__ import annotations

import pytest

from skyhive.experiments.grid import Axis, parse_seeds, parse_values, parse_vary, tasks_of
from skyhive.experiments.paths import PathError, resolve, set_path
from tests.experiments.helpers import small_scenario


def test_values_are_yaml_scalars_and_ranges_include_stop() -> None:
    assert parse_values("0.1,2,cbba,true") == [0.1, 2, "cbba", True]
    assert parse_values("0:0.3:0.1") == [0.0, 0.1, 0.2, 0.3]
    assert parse_values("2:10:4") == [2, 6, 10]
    assert parse_values("1:3") == [1, 2, 3]
    assert parse_values("10:0:-5,99") == [10, 5, 0, 99]
    assert parse_values("0:1:0.4") == [0.0, 0.4, 0.8]  # stop not on a step: not included
    assert parse_values("[1, 2],[3, 4]") == [[1, 2], [3, 4]]
    assert parse_values("{a: 1, b: 2}") == [{"a": 1, "b": 2}]


@pytest.mark.parametrize("text", ["0:1:0", "0:1:-0.5", "1,,2", "0:1e6:0.001"])
def test_bad_values_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_values(text)


def test_vary_and_seeds() -> None:
    assert parse_vary("wind.speed_mps = 0,5") == Axis("wind.speed_mps", (0, 5))
    for bad in ("wind.speed_mps", "=1,2", "wind.speed_mps="):
        with pytest.raises(ValueError, match="PATH=V1"):
            parse_vary(bad)
    assert parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    assert parse_seeds(4) == [4]
    assert parse_seeds([3, 1]) == [3, 1]
    for bad in ("3-1", "a", "-1", ""):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_grid_is_every_combination_times_every_seed_with_stable_ids() -> None:
    axes = [Axis("a", (1, 2, 3)), Axis("b", ("x", "y"))]
    tasks = tasks_of(axes, [0, 1])
    assert len(tasks) == 12
    assert {(t.values["a"], t.values["b"], t.seed) for t in tasks} == {
        (a, b, s) for a in (1, 2, 3) for b in ("x", "y") for s in (0, 1)}
    ids = [t.run_id for t in tasks]
    assert len(set(ids)) == 12
    assert ids == [t.run_id for t in tasks_of(axes, [0, 1])]  # same sweep, same ids (resume relies on it)
    assert tasks_of([], [4, 5])[1].values == {} and tasks_of([], [4, 5])[1].seed == 5


def test_paths_by_index_by_name_and_new_sections() -> None:
    doc = small_scenario()
    assert set_path(doc, "fleets.alpha.count", 9) == "fleets.0.count"
    assert doc["fleets"][0]["count"] == 9
    assert set_path(doc, "fleets.0.vehicle.max_speed_mps", 7.5) == "fleets.0.vehicle.max_speed_mps"
    assert doc["fleets"][0]["vehicle"] == {"max_speed_mps": 7.5}  # a section absent in the file is created
    assert resolve(doc, "airspace.geofences.ops.ceiling_m") == "airspace.geofences.0.ceiling_m"
    assert "ceiling_m" not in doc["airspace"]["geofences"][0]  # resolve changes nothing
    with pytest.raises(PathError, match=r"no item named 'beta'.*'alpha'"):
        set_path(doc, "fleets.beta.count", 1)
    with pytest.raises(PathError, match="index 3 is beyond the 1 item"):
        set_path(doc, "fleets.3.count", 1)
    with pytest.raises(PathError, match=r"wind\.speed_mps is a value"):
        set_path(doc, "wind.speed_mps.x", 1)
    with pytest.raises(PathError):
        set_path(doc, "wind..speed_mps", 1)
