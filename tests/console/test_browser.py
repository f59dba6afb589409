"""The page in a real headless Chromium (Debian's package, driven by Playwright): it loads and draws every drone,
an inspect task clicked on the map is flown to, an acknowledged alert leaves the list, a keep-out drawn on the
map is respected, and a bad action is answered on the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from skyhive.geo.frames import LocalFrame
from tests.console.conftest import Served, live_sim

FRAME = LocalFrame(47.0, 8.0, 400.0)


def lat_lon(x: float, y: float) -> tuple[float, float]:
    lat, lon, _ = FRAME.geodetic(np.array([x, y, 0.0]))
    return float(lat), float(lon)


def wait_for(page: Any, js: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = page.evaluate(js)
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {js}")


@pytest.fixture(scope="module")
def page(browser_context: Any) -> Iterator[Any]:
    served = Served(live_sim(speed=5.0))
    pg = browser_context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(served.base + "/?tiles=off")
    wait_for(pg, "window.skyhive && skyhive.S.framesIn > 2 && skyhive.S.fitted")
    pg.evaluate("Object.assign(skyhive.S.view, {cx: 100, cy: -60, scale: 1.2})")  # a known view for the clicks
    yield pg
    pg.close()
    served.close()
    assert not errors, errors


def click_at(page: Any, lat: float, lon: float) -> None:
    x, y = page.evaluate(f"skyhive.screenOf({lat}, {lon})")
    page.mouse.click(x, y)


def test_page_draws_every_drone(page: Any) -> None:
    assert page.evaluate("skyhive.droneLayerCount()") == 12
    assert page.locator("#title").inner_text().startswith("console-small")
    assert wait_for(page, "skyhive.S.fps", 10) > 0  # the map is redrawn continuously


def test_clicking_a_drone_shows_its_details(page: Any) -> None:
    page.click("#tools button[data-tool=select]")
    x, y = page.evaluate("(() => { const r = skyhive.S.pos; const [la, lo] = skyhive.toLatLon(r[0], r[1]);"
                         " return skyhive.screenOf(la, lo); })()")
    page.mouse.click(x, y)
    text = wait_for(page, "document.getElementById('details').textContent.startsWith('drone') &&"
                          " document.getElementById('details').textContent", 10)
    assert "fleet responders" in text and "status active" in text


def test_mesh_links_toggle(page: Any) -> None:
    page.check("#links")
    assert wait_for(page, "skyhive.S.links && skyhive.S.links.pairs.length", 20) >= 2
    page.uncheck("#links")
    assert page.evaluate("skyhive.S.links") is None


def test_task_clicked_on_the_map_is_flown_to(page: Any) -> None:
    lat, lon = lat_lon(-150.0, 120.0)
    page.click("#tools button[data-tool=inspect]")
    click_at(page, lat, lon)
    wait_for(page, "skyhive.S.lastReply && skyhive.S.lastReply.task", 20)
    wait_for(page, "document.querySelectorAll('#tasks li[data-task]').length === 1", 10)
    dist = wait_for(page, f"(() => {{ const d = skyhive.nearestDrone({lat}, {lon})[1]; return d < 8 ? d : 0; }})()",
                    90)
    assert dist < 8


def test_acknowledged_alert_leaves_the_list(page: Any) -> None:
    wait_for(page, "document.querySelectorAll('#alerts li[data-alert]').length > 0", 60)
    first = page.locator("#alerts li[data-alert]").last
    alert_id = first.get_attribute("data-alert")
    first.locator("button.ack").click()
    wait_for(page, f"!document.querySelector('#alerts li[data-alert=\"{alert_id}\"]')", 20)
    time.sleep(1.0)
    assert page.locator(f'#alerts li[data-alert="{alert_id}"]').count() == 0


def test_keep_out_drawn_on_the_page_is_respected(page: Any) -> None:
    page.click("#tools button[data-tool=keepout]")
    for x, y in ((150.0, -250.0), (350.0, -250.0), (350.0, -50.0), (150.0, -50.0)):
        click_at(page, *lat_lon(x, y))
        time.sleep(0.3)  # separate clicks, not a double-click
    page.click("#finish")
    wait_for(page, "skyhive.S.state.fences.some(f => f.active && f.kind === 'keep_out')", 20)
    page.evaluate("skyhive.S.maxInsideKeepOut = 0")
    lat, lon = lat_lon(250.0, -150.0)  # a task in its middle: the drones must stop at its edge
    page.click("#tools button[data-tool=inspect]")
    click_at(page, lat, lon)
    # wait until a drone presses against the keep-out, then a little longer
    wait_for(page, f"skyhive.nearestDrone({lat}, {lon})[1] < 160", 90)
    time.sleep(4.0)
    assert page.evaluate("skyhive.S.maxInsideKeepOut") == 0
    assert page.evaluate(f"skyhive.nearestDrone({lat}, {lon})[1]") > 95.0


def test_bad_action_is_answered_on_the_page(page: Any) -> None:
    page.evaluate("skyhive.send({op: 'add_task', kind: 'inspect', lat: 123, lon: 8})")
    wait_for(page, "skyhive.S.lastError && skyhive.S.lastError.problems", 10)
    assert "lat" in page.locator("#toast").inner_text()
    page.screenshot(path="out/console-test.png") if False else None


def test_replay_page_scrubs_the_timeline(browser_context: Any, tmp_path: Any) -> None:
    from skyhive.console.replay import Recording, ReplayRunner
    from skyhive.record.attach import attach_recorder
    from skyhive.sim import Simulation
    from tests.console.conftest import SCENARIO

    path = tmp_path / "run.mcap"
    sim = Simulation.from_file(SCENARIO)
    rec = attach_recorder(sim, path)
    sim.run(until=20.0)
    rec.close()
    served = Served(ReplayRunner(Recording(path), speed=1.0))
    pg = browser_context.new_page()
    try:
        pg.goto(served.base + "/?tiles=off")
        wait_for(pg, "window.skyhive && skyhive.S.framesIn > 2", 30)
        assert pg.locator("#replay").is_visible()
        assert pg.evaluate("skyhive.droneLayerCount()") == 12
        assert pg.locator("#tools button[data-tool=inspect]").is_disabled()  # a replay takes no tasks
        pg.click("#rplay")  # pause
        wait_for(pg, "skyhive.S.frame.paused", 10)
        pg.locator("#timeline").fill("15")
        pg.locator("#timeline").dispatch_event("change")
        t = wait_for(pg, "skyhive.S.frame.t >= 14.9 && skyhive.S.frame.t <= 15.1 && skyhive.S.frame.t", 10)
        assert 14.9 <= t <= 15.1
        assert pg.locator("#rtime").inner_text().startswith("15.0")
    finally:
        pg.close()
        served.close()
