"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) that may reach nothing but the
gateway: HR of a ministry signs in, sees exactly its ministry's numbers, drills into a unit; a screenshot
is kept as a test artefact (var/test-artifacts/)."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from playwright.sync_api import Browser, Route, expect

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import PASSWORD_HASH_OF
from tests.gateway.test_ide import browser  # noqa: F401  # the fixture: Debian's Chromium, headless
from tests.live import serving

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


@pytest.fixture(scope="module")
def gateway(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


def _count(url: str, token: str, unit: str) -> int:
    query = "query($u: ID) { officials(filter: {unit: $u}) { totalCount } }"
    body = httpx2.post(
        f"{url}/graphql", json={"query": query, "variables": {"u": unit}}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    return int(body["data"]["officials"]["totalCount"])


def _token(url: str, username: str) -> str:
    answer = httpx2.post(f"{url}/auth/token", data={"username": username, "password": PASSWORD_HASH_OF}).json()
    return str(answer["access_token"])


def test_hr_of_a_ministry_sees_its_own_numbers_and_drills_into_a_unit(gateway: str, browser: Browser) -> None:  # noqa: F811
    origin = urlsplit(gateway)
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_gateway(route: Route) -> None:
        if urlsplit(route.request.url)[:2] == origin[:2]:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="vi-VN")
    try:
        page = context.new_page()
        page.route("**/*", only_the_gateway)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{gateway}/dashboard")
        page.fill("input[name=username]", "hr.BNV")
        page.fill("input[name=password]", PASSWORD_HASH_OF)
        page.click("button[type=submit]")

        trail = page.locator("#trail button")
        board = page.locator("#board")
        expect(board, f"the board did not open; the browser said {errors}").to_have_attribute("data-shown", "BNV")
        headcount = page.locator("#headcount .totals")
        expect(headcount).to_contain_text("Tổng")
        token = _token(gateway, "hr.BNV")
        # The ministry's units add up to the ministry (officials of its own level aside), and nothing of
        # any other ministry is counted: the page reads only what hr.BNV may read.
        shown = int(headcount.inner_text().split(":")[1].replace(".", "").strip())
        assert 0 < shown <= _count(gateway, token, "BNV")
        expect(page.locator("#pyramid svg")).to_be_visible()
        expect(page.locator("#staffing .totals")).to_contain_text("Biên chế")

        first = page.locator("#headcount .bar.clickable").first
        child = first.get_attribute("data-code")
        assert child is not None and child.startswith("BNV.")
        first.click()
        expect(board).to_have_attribute("data-shown", child)  # drawn again, for the unit
        expect(trail.last).to_have_attribute("data-unit", child)
        staffed = page.locator("#staffing text").first
        expect(staffed).to_contain_text(page.locator("#trail button").last.inner_text()[:20])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-hr.BNV.png"), full_page=True)
        assert elsewhere == [] and errors == [], (elsewhere, errors)
    finally:
        context.close()


def test_the_page_and_its_files_come_from_the_gateway_and_nothing_else(gateway: str) -> None:
    page = httpx2.get(f"{gateway}/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    for name in ("dashboard.js", "dashboard.css"):
        asset = httpx2.get(f"{gateway}/dashboard/{name}")
        text = asset.text.replace("http://www.w3.org/2000/svg", "")  # a namespace's name, never fetched
        assert asset.status_code == 200 and "http://" not in text and "https://" not in text
    assert httpx2.get(f"{gateway}/dashboard/../gateway/app.py").status_code == 404
