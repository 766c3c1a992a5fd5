"""The chart app in real headless Chromium, hosted the way an MCP Apps host does it: the page is read
from the server as the ui:// resource, put in a sandboxed iframe, handed a real tool result over
postMessage, and its SVG marks are read back and held against the rows of that result."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Page, Request, async_playwright

from shop_support import RawMerchant
from square_bi.server.app import build_server
from square_bi.server.chart import CHART_URI

HOST_URL = "http://chart-host.test/chart_host.html"
HOST_PAGE = Path(__file__).with_name("chart_host.html")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Keeps the sandboxed app frame in the host's renderer: out of process, its image requests escaped
    # Playwright's request events (the recorder test below caught that).
    "--disable-site-isolation-trials",
]
SCREENSHOTS_ENV = "SQUARE_BI_CHART_SCREENSHOTS"
"""Set to a folder to keep a copy of each screenshot there (how docs/chart-net-sales-by-day.png was made)."""

LAST_WEEK = {"start": "2026-10-26", "end": "2026-11-01"}
WEEK_BEFORE = {"start": "2026-10-19", "end": "2026-10-25"}


@dataclass
class Drawn:
    """What the app drew, read back from the DOM, and every request the page made."""

    data: dict[str, Any]
    kind: str
    marks: list[dict[str, str]]
    panels: list[dict[str, str]]
    facts: dict[str, dict[str, str]]
    table: list[list[str]]
    requests: list[str]
    screenshot: Path


async def real_result(db: Path, tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ui:// page and a tool result, from the server through a client that negotiated Apps."""
    client = Client(build_server(db), extensions=[advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})])
    async with client:
        page = (await client.read_resource(CHART_URI)).contents[0]
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return getattr(page, "text", ""), result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def read_back(page: Page) -> tuple[str, list[dict[str, str]], list[dict[str, str]], dict[str, dict[str, str]]]:
    app = page.frame_locator("#app")
    root = app.locator("main#app")
    kind = await root.get_attribute("data-kind") or ""
    marks = await app.locator(".mark").evaluate_all(
        "els => els.map(e => ({tag: e.tagName, metric: e.closest('svg').dataset.metric, "
        "currency: e.closest('svg').dataset.currency, height: e.getAttribute('height') ?? '', "
        "cy: e.getAttribute('cy') ?? '', ...e.dataset}))"
    )
    panels = await app.locator("svg.chart").evaluate_all("els => els.map(e => ({...e.dataset}))")
    facts = await app.locator("[data-fact]").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.fact, {text: e.querySelector('dd').textContent, "
        "warning: String(e.classList.contains('warning'))}]))"
    )
    return kind, marks, panels, facts


async def draw(
    db: Path, tool: str, arguments: dict[str, Any], screenshot: Path, *, tamper: Callable[[str], str] | None = None
) -> Drawn:
    """Host the chart page, hand it the real result of ``tool(arguments)`` and read back what it drew.

    tamper: changes the page before it is hosted (only to prove the request recorder works)."""
    html, result = await real_result(db, tool, arguments)
    if tamper:
        html = tamper(html)
    requests: list[str] = []
    errors: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 800, "height": 2000}, locale="en-US")
            page.on("request", record)
            page.on("pageerror", lambda error: errors.append(str(error)))

            async def serve_host_or_refuse(route: Any) -> None:
                if route.request.url == HOST_URL:
                    await route.fulfill(body=HOST_PAGE.read_text(), content_type="text/html")
                else:
                    await route.abort()

            await page.route("**/*", serve_host_or_refuse)
            await page.goto(HOST_URL)
            await page.evaluate(
                "([html, call]) => showApp(html, call)", [html, {"arguments": arguments, "result": result}]
            )
            app = page.frame_locator("#app")
            try:
                await app.locator("main#app[data-state=rendered]").wait_for(timeout=30_000)
            except Exception:
                state = await app.locator("main#app").text_content()
                host_log = await page.evaluate("window.hostLog")
                raise AssertionError(f"app did not render: {state!r}, host saw {host_log}, errors {errors}") from None
            kind, marks, panels, facts = await read_back(page)
            await page.wait_for_timeout(100)  # let the host apply the app's size-changed notification
            await page.locator("#app").screenshot(path=str(screenshot))
            await app.locator("button.toggle").click()
            table = await app.locator("table.data-table tbody tr").evaluate_all(
                "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))"
            )
            assert await app.locator("section.charts").is_hidden()
        finally:
            await browser.close()
    assert not errors, errors
    if folder := os.environ.get(SCREENSHOTS_ENV):
        shutil.copy(screenshot, Path(folder) / screenshot.name)
    return Drawn(result["structuredContent"], kind, marks, panels, facts, table, requests, screenshot)


def column(data: dict[str, Any], name: str) -> list[Any]:
    index = data["columns"].index(name)
    return [row[index] for row in data["rows"]]


def digits(text: str) -> Decimal:
    """A formatted amount back to a number: '$1,234.50' -> Decimal('1234.50')."""
    return Decimal("".join(ch for ch in text if ch.isdigit() or ch in ".-"))


@pytest.fixture(scope="module")
def first_location(raw_shop: RawMerchant) -> dict[str, Any]:
    return raw_shop.locations[0]


async def test_net_sales_by_day_draw_one_point_per_row_in_order_in_the_locations_currency(
    shop_db: Path, first_location: dict[str, Any], tmp_path: Path
) -> None:
    where = [{"dimension": "location__name", "op": "=", "value": first_location["name"]}]
    arguments = {
        "metrics": ["net_sales"],
        "group_by": ["metric_time__day"],
        "where": where,
        "start": WEEK_BEFORE["start"],
        "end": LAST_WEEK["end"],
    }
    drawn = await draw(shop_db, "query_metrics", arguments, tmp_path / "chart-net-sales-by-day.png")

    data = drawn.data
    assert drawn.kind == "line"
    assert len(data["rows"]) == 14, "one row per day of the two weeks"
    assert [m["tag"] for m in drawn.marks] == ["circle"] * len(data["rows"])
    assert [m["label"] for m in drawn.marks] == [str(day) for day in column(data, "metric_time__day")]
    assert [m["value"] for m in drawn.marks] == column(data, "net_sales")
    assert [int(m["row"]) for m in drawn.marks] == list(range(len(data["rows"])))
    by_value = sorted(drawn.marks, key=lambda m: Decimal(m["value"]))
    assert [float(m["cy"]) for m in by_value] == sorted((float(m["cy"]) for m in by_value), reverse=True), (
        "a larger amount is drawn higher"
    )
    assert [p["currency"] for p in drawn.panels] == [first_location["currency"]]
    money_cells = [row[data["columns"].index("net_sales")] for row in drawn.table]
    assert [digits(cell) for cell in money_cells] == [Decimal(v) for v in column(data, "net_sales")]
    assert all(not cell[0].isdigit() for cell in money_cells), "money is shown with its currency"
    assert drawn.facts["time-range"]["text"] == f"{WEEK_BEFORE['start']} to {LAST_WEEK['end']}"
    assert drawn.facts["filters"]["text"] == f"location name = {first_location['name']}"
    assert drawn.facts["grain"]["text"] == "day"
    assert drawn.facts["time-zone"]["text"] == data["time_zone"]
    assert drawn.facts["limit-hit"] == {"text": "no", "warning": "false"}
    assert drawn.screenshot.stat().st_size > 5_000


async def test_items_sold_by_item_draw_one_bar_per_row_in_the_asked_order_and_flag_the_limit(
    shop_db: Path, tmp_path: Path
) -> None:
    arguments = {"metrics": ["items_sold"], "group_by": ["item__name"], "order_by": ["-items_sold"], "limit": 5}
    drawn = await draw(shop_db, "query_metrics", arguments, tmp_path / "chart-items-sold-by-item.png")

    data = drawn.data
    assert data["limit_hit"] is True
    assert drawn.kind == "bars"
    assert [m["tag"] for m in drawn.marks] == ["rect"] * 5
    assert [m["label"] for m in drawn.marks] == column(data, "item__name")
    values = [Decimal(m["value"]) for m in drawn.marks]
    assert values == [Decimal(str(v)) for v in column(data, "items_sold")]
    assert values == sorted(values, reverse=True)
    per_item = {float(m["height"]) / float(m["value"]) for m in drawn.marks}
    assert max(per_item) - min(per_item) < 1e-6 * max(per_item), "bar heights are proportional to the values"
    assert drawn.facts["limit-hit"]["warning"] == "true"
    assert "do not add them up" in drawn.facts["limit-hit"]["text"]
    assert drawn.facts["grain"]["text"] == "none"


async def test_a_comparison_draws_current_and_previous_bars_side_by_side_per_location(
    shop_db: Path, raw_shop: RawMerchant, tmp_path: Path
) -> None:
    arguments = {
        "metrics": ["order_count", "items_sold"],
        "group_by": ["location__name"],
        "current": LAST_WEEK,
        "previous": WEEK_BEFORE,
    }
    drawn = await draw(shop_db, "compare_periods", arguments, tmp_path / "chart-compare.png")

    data = drawn.data
    assert sorted(column(data, "location__name")) == sorted(loc["name"] for loc in raw_shop.locations)
    assert drawn.kind == "compare"
    expected = [
        {
            "metric": metric,
            "label": location,
            "series": period,
            "value": str(row[data["columns"].index(f"{metric}__{period}")]),
        }
        for metric in arguments["metrics"]
        for location, row in zip(column(data, "location__name"), data["rows"], strict=True)
        for period in ("current", "previous")
    ]
    assert [{k: m[k] for k in ("metric", "label", "series", "value")} for m in drawn.marks] == expected
    assert {m["tag"] for m in drawn.marks} == {"rect"}
    assert drawn.facts["current"]["text"] == f"{LAST_WEEK['start']} to {LAST_WEEK['end']}"
    assert drawn.facts["previous"]["text"] == f"{WEEK_BEFORE['start']} to {WEEK_BEFORE['end']}"


async def test_the_app_fetches_nothing_while_drawing_and_switching_to_the_table(shop_db: Path, tmp_path: Path) -> None:
    arguments = {"metrics": ["order_count"], "group_by": ["metric_time__week", "location__name"]}
    drawn = await draw(shop_db, "query_metrics", arguments, tmp_path / "chart-orders-by-week.png")

    assert drawn.marks, "the app drew something"
    assert drawn.requests == [HOST_URL], "only the test host's own page was requested"


async def test_a_saved_query_draws_money_in_one_panel_per_currency_and_never_mixes_them(
    shop_db: Path, raw_shop: RawMerchant, tmp_path: Path
) -> None:
    drawn = await draw(shop_db, "run_saved_query", {"name": "weekly_sales_by_location"}, tmp_path / "chart-saved.png")

    data = drawn.data
    currency_of = {loc["name"]: loc["currency"] for loc in raw_shop.locations}
    assert len(set(currency_of.values())) > 1, "the demo shop sells in several currencies"
    assert drawn.kind == "line"
    net_sales = [m for m in drawn.marks if m["metric"] == "net_sales"]
    assert sorted(int(m["row"]) for m in net_sales) == list(range(len(data["rows"])))
    panels = [p for p in drawn.panels if p["metric"] == "net_sales"]
    assert sorted(p["currency"] for p in panels) == sorted(set(currency_of.values()))
    locations = column(data, "location__name")
    for mark in net_sales:
        assert mark["series"] == locations[int(mark["row"])]
        assert mark["currency"] == currency_of[mark["series"]]
    orders = [p for p in drawn.panels if p["metric"] == "order_count"]
    assert [p["currency"] for p in orders] == [""], "counts are not split by currency"


async def test_the_request_recorder_would_see_a_fetch_made_from_inside_the_app_frame(
    shop_db: Path, tmp_path: Path
) -> None:
    pixel = "http://cdn.example.test/pixel.png"
    arguments = {"metrics": ["order_count"], "group_by": ["location__name"]}
    drawn = await draw(
        shop_db,
        "query_metrics",
        arguments,
        tmp_path / "chart-tampered.png",
        tamper=lambda html: html.replace("</body>", f'<img src="{pixel}" alt=""></body>'),
    )

    assert drawn.requests == [HOST_URL, pixel]
