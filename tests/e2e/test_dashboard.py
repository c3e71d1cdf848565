"""The dashboard in a real browser: `ecompipe serve --demo` (emulator, sample_data through the
state machine, then the app), opened by Playwright in headless Chromium (Debian's package; .ci/run
installs it when missing). The charts and the runs table must show what the API serves, and the
values must be the sample data's: compared with one run of the same files in a fresh moto."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE
from tests.support.helpers import one_shot_kpis, read_dir

# one worker for the module: its `serve --demo` (a state machine run, ~14 s) is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("dashboard")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_url():
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOMPIPE_", "AWS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecompipe", "serve", "--demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"ecompipe serve --demo exited {proc.returncode}:\n{proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("ecompipe serve --demo did not answer /health within 240 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_the_dashboard_shows_the_demo_data(demo_url: str, browser, tmp_path: Path, aws_env) -> None:
    want_orders, want_categories = one_shot_kpis(read_dir(SAMPLE))
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(demo_url + "/")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)

    bars = page.locator("#chart-revenue rect.bar[data-date]")
    shown = {b.get_attribute("data-date"): b.get_attribute("data-revenue") for b in bars.all()}
    assert shown == {r["order_date"]: f"{r['total_revenue']:.2f}" for r in want_orders}
    dots = page.locator("#chart-revenue circle[data-orders]").all()
    assert [int(d.get_attribute("data-orders")) for d in dots] == [r["total_orders"] for r in want_orders]
    rates = page.locator("#chart-returns circle[data-rate]").all()
    assert [Decimal(d.get_attribute("data-rate")) for d in rates] == [r["return_rate"] for r in want_orders]

    per_category: dict[str, Decimal] = {}
    for r in want_categories:
        per_category[r["category"]] = per_category.get(r["category"], Decimal(0)) + r["daily_revenue"]
    cats = page.locator("#chart-categories rect.bar[data-category]").all()
    assert {c.get_attribute("data-category"): Decimal(c.get_attribute("data-revenue")) for c in cats} == per_category
    total = sum(r["total_revenue"] for r in want_orders)
    assert page.locator("[data-card=revenue] .value").inner_text() == f"{total:,.2f}"

    runs = _get(demo_url + "/api/runs")
    [run] = runs
    row = page.locator(f"#runs tr[data-run-id='{run['run_id']}']")
    assert row.locator(".status").inner_text() == "SUCCEEDED"
    cells = {k: row.locator(f"td[data-field={k}]").inner_text() for k in ("accepted", "rejected", "pending")}
    report = _get(demo_url + run["report_url"])
    totals = report["totals"]
    assert cells == {k: str(totals[k]) for k in ("accepted", "rejected", "pending")}
    assert row.locator("td[data-field=dates]").inner_text() == str(run["affected_dates"])  # one task: no groups
    assert totals["rejected"] > 0 and totals["pending"] > 0  # sample_data holds bad rows on purpose

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    row.locator("a", has_text="report").click()
    page.wait_for_selector("#report-panel:not([hidden]) table")
    assert report["batch_id"] in page.locator("#report-title").inner_text()
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert errors == []
    if os.environ.get("DASHBOARD_SCREENSHOT"):  # docs/img/dashboard.png is refreshed this way
        shutil.copy(tmp_path / "dashboard.png", os.environ["DASHBOARD_SCREENSHOT"])


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_the_question_box_and_the_errors_panel(demo_url: str, browser) -> None:
    """A question typed in the box shows the API's answer: its table, its SQL, its interpretation;
    the errors panel shows the rejected rows of the batch by reason; a question the grammar cannot
    read shows its sentence as text (markup in it stays text)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(demo_url + "/")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)

    panel = _post(demo_url + "/api/sql", {"sql": page.evaluate("REJECTIONS_SQL")})
    shown = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("#errors tbody tr").all()]
    assert shown == [[str(v) for v in row] for row in panel["rows"]] and panel["rows"]

    day = _get(demo_url + "/api/kpis/orders")[0]["order_date"]
    question = f"revenue by category on {day}"
    page.fill("#question", question)
    page.click("#ask button[type=submit]")
    page.wait_for_selector("#answer:not([hidden])")
    want = _post(demo_url + "/api/queries", {"question": question})
    rows = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("#answer-table tbody tr").all()]
    assert rows == [[str(v) for v in row] for row in want["rows"]] and want["rows"]
    assert page.locator("#interpretation").inner_text() == f"Understood as: {want['interpretation']}"
    assert page.locator("#answer-sql").text_content() == want["sql"]

    hostile = "<img src=x onerror=alert(1)> revenue"
    page.fill("#question", hostile)
    page.click("#ask button[type=submit]")
    page.wait_for_selector("#ask-error:not([hidden])")
    assert page.locator("#ask-error").inner_text().startswith(f"I don't understand '{hostile}'")
    assert page.locator("#ask-panel img").count() == 0
    assert errors == []


def test_the_range_is_read_from_the_address_and_kept_in_it(demo_url: str, browser) -> None:
    """?from=&to= in the address sets the range (a view shared as a link shows the same days), and
    choosing a range writes it back into the address."""
    days = [r["order_date"] for r in _get(demo_url + "/api/kpis/orders")]
    first, second = days[0], days[1]
    page = browser.new_page()
    page.goto(f"{demo_url}/?from={first}&to={first}")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    assert (page.input_value("#from"), page.input_value("#to")) == (first, first)
    bars = page.locator("#chart-revenue rect.bar[data-date]").all()
    assert [b.get_attribute("data-date") for b in bars] == [first]
    # the range's top products: the answer of the same question to the API
    top = _post(demo_url + "/api/queries", {"question": f"top 10 products by revenue between {first} and {first}"})
    shown = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("#top-products tbody tr").all()]
    assert shown == [["" if v is None else str(v) for v in row] for row in top["rows"]] and top["rows"]
    assert top["columns"] == ["product", "name", "revenue"]
    page.fill("#to", second)
    page.locator("#range").evaluate("form => form.requestSubmit()")
    page.wait_for_function(f"location.search === '?from={first}&to={second}'")
    page.goto(f"{demo_url}/?from=<script>&to={second}")  # not a date: ignored, never used
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    assert page.input_value("#to") == second and page.input_value("#from") != "<script>"


def test_the_problems_alerts_and_events_panels_show_the_feeds(demo_url: str, browser) -> None:
    """One place for every workload: the problems feed, the alerts feed and the real-time side, as
    the API gives them, every value as text."""
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.goto(demo_url + "/")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    problems = _get(demo_url + "/api/errors?page_size=20")["items"]
    shown = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("#problems tbody tr").all()]
    want = [[p["source"], p["kind"], p["day"], p["batch_id"], p["file"], p["line"], p["reason"], p["detail"]]
            for p in problems]  # fmt: skip
    assert shown == [["" if v is None else str(v) for v in row] for row in want] and problems
    assert {p["source"] for p in problems} == {"batch"}  # the demo runs the batch pipeline only
    alerts = _get(demo_url + "/api/alerts")["items"]
    shown_alerts = page.locator("#alerts tbody tr").all()
    assert len(shown_alerts) == max(1, len(alerts))
    activity = _get(demo_url + "/api/events/activity")
    tables = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("#event-tables tbody tr").all()]
    assert tables == ([[t, str(n)] for t, n in activity["tables"].items()] or [["no events tables here"]])
