"""The web UI in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright
against a real ``spanhouse serve`` holding traces sent by the OTel SDK. Every expected value is
derived from what the test sent. Screenshots of the main views go to docs/screenshots/."""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.conftest import REPO, start_server
from tests.ui.traces import HUGE_ROOT, HUGE_WORKERS, Shop, send_huge_trace, wait_stored

if not os.path.exists(CHROMIUM):
    pytest.skip(f"needs the Debian package chromium ({CHROMIUM}): apt-get install -y chromium",
                allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    pytest.skip("needs the pip package playwright", allow_module_level=True)

SCREENSHOTS = REPO / "docs" / "screenshots"
HUGE_SPANS = 10_000

REQUESTS: list[str] = []      # every URL any page of this module asked for
PAGE_ERRORS: list[str] = []   # uncaught exceptions in the pages


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("ui") / "data")
    shop = Shop(server.grpc_endpoint)
    ids = {"seed": shop.seed_trace(2),
           "products": [shop.product_page(4 + i, ms, "u-42" if i % 2 else "u-1")
                        for i, ms in enumerate([2500, 1200, 110, 130])],
           "errors": [shop.failed_checkout(10 + i, ms) for i, ms in enumerate([300, 320])]}
    shop.flush()
    ids["huge"] = send_huge_trace(server.http_url, HUGE_SPANS)
    wait_stored(server, shop, HUGE_SPANS)
    yield server, shop, ids
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, shop):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("request", lambda request: REQUESTS.append(request.url))
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    yield page
    context.close()


def url(shop, path: str) -> str:
    return shop[0].ui_url + path


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def listed(page) -> list[str]:
    return page.eval_on_selector_all("#trace-list tbody tr", "rows => rows.map(r => r.dataset.traceId)")


def plotted(page) -> list[str]:
    return page.eval_on_selector_all("#scatter circle.point", "cs => cs.map(c => c.dataset.traceId)")


def test_search_list_and_scatter_agree(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/search?since=1h&limit=100"))
    page.wait_for_selector("#trace-list")
    everything = set(sent.sent) | {ids["huge"]}
    assert sorted(listed(page)) == sorted(plotted(page)) == sorted(everything)
    assert page.inner_text("#result-count").startswith(f"{len(everything)} traces")
    errors_plotted = page.eval_on_selector_all("#scatter circle.point.error", "cs => cs.map(c => c.dataset.traceId)")
    assert sorted(errors_plotted) == sorted(ids["errors"])
    screenshot(page, "search")

    # the failing checkouts, slowest first, from a URL
    page.goto(url(shop, "/search?service=payment&status=error&since=1h&sort=slowest"))
    page.wait_for_selector("#trace-list")
    assert listed(page) == plotted(page) == list(reversed(ids["errors"]))

    # the form writes its query into the URL (so the URL reproduces the view)
    page.goto(url(shop, "/search"))
    page.wait_for_selector("#trace-list")
    page.fill("textarea[name=attr]", "user.id=u-42\ndb.system=sqlite")
    page.click("#search-form button[type=submit]")
    page.wait_for_url("**attr=user.id%3Du-42**")
    # each filter may match any span: the seed's trace has user.id=u-42 and a sqlite query too
    expected = ids["products"][1::2] + [ids["seed"]]
    page.wait_for_function(f"document.querySelectorAll('#trace-list tbody tr').length === {len(expected)}")
    assert sorted(listed(page)) == sorted(plotted(page)) == sorted(expected)


def test_start_page_asks_the_seed_questions_in_one_click(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/"))
    page.click("[data-quick=slowest]")
    page.wait_for_selector("#trace-list")
    assert "sort=slowest" in page.url
    durations = [sent.sent[t]["duration_ms"] if t in sent.sent else 2000 for t in listed(page)]
    assert durations == sorted(durations, reverse=True) and durations[0] == 2500
    page.click("[data-quick=find]")
    page.fill("#find-form input[name=value]", "u-42")
    page.fill("#find-form input[name=window]", "1h")
    page.click("#find-form button[type=submit]")
    page.wait_for_selector("#trace-list")
    assert sorted(listed(page)) == sorted(ids["products"][1::2] + [ids["seed"]])


def test_trace_view_marks_the_bottleneck_and_shows_span_details(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, f"/trace/{ids['seed']}"))
    page.wait_for_selector("#bottleneck .bn-title")
    banner = page.inner_text("#bottleneck")
    assert "This is your bottleneck" in banner
    assert "product-service" in banner and "SELECT products" in banner and "65%" in banner
    marked = page.locator(".wf-row.bottleneck")
    assert marked.count() == 1
    assert "SELECT products" in marked.inner_text() and "bottleneck 65%" in marked.inner_text()
    assert page.locator(".wf-row.on-cp").count() == 5   # every span of the seed's trace is on its path

    page.locator(".wf-row", has_text="SELECT products").click()
    panel = page.inner_text("#span-panel")
    assert "This is your bottleneck" in panel and "Self time" in panel and "120 ms" in panel
    attributes = page.inner_text("#span-attributes")
    assert "db.system" in attributes and "sqlite" in attributes and "SELECT * FROM products" in attributes
    assert "service.name" in page.inner_text("#span-panel")

    # keyboard: down to the cache call, left twice to the parent, find within the trace
    page.keyboard.press("ArrowDown")
    assert "GET products:list" in page.inner_text("#span-panel h2")
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#span-panel h2").strip().endswith("GET /products")
    page.fill("#find-in-trace", "verify")
    page.keyboard.press("Enter")
    assert "verify_token" in page.inner_text("#span-panel h2")
    assert page.inner_text("#find-count") == "1 of 1"
    stats = page.inner_text("#stats-operations")
    assert "SELECT products" in stats and "auth-service" in stats
    page.fill("#find-in-trace", "")
    page.locator(".wf-row", has_text="SELECT products").click()
    screenshot(page, "trace")


def test_huge_trace_renders_within_two_seconds(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/"))          # the app's modules are loaded (and cached) once
    page.wait_for_selector("#trace-list")
    started = time.monotonic()
    page.goto(url(shop, f"/trace/{ids['huge']}"))
    page.wait_for_selector("#waterfall[data-ready] .wf-row")
    elapsed = time.monotonic() - started
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const api = performance.getEntriesByType('resource').find(r => r.name.includes('/api/v1/traces/'));
        return {dom: nav.domContentLoadedEventEnd, apiStart: api.startTime, apiEnd: api.responseEnd,
                ready: performance.getEntriesByName('spanhouse:waterfall-ready')[0].startTime}; }""")
    print(f"{HUGE_SPANS}-span trace rendered in {elapsed:.2f} s", timing)
    assert elapsed < 2.0, f"the {HUGE_SPANS}-span trace took {elapsed:.2f} s to render"
    rows = page.locator(".wf-row").count()
    assert 0 < rows < 200, rows                      # virtualised: only the rows in view exist
    assert f"{HUGE_SPANS}" in page.inner_text(".trace-head")

    # still responsive: jump to the end with the keyboard, then collapse and expand
    page.focus("#waterfall")
    started = time.monotonic()
    page.keyboard.press("End")
    page.wait_for_selector(".wf-row.selected")
    assert time.monotonic() - started < 0.5
    assert "tail" in page.inner_text("#span-panel h2")
    page.click("text=Collapse")
    visible_rows = 1 + 100 + (HUGE_SPANS - 1 - 100 * 99)   # the root, its calls and the tail spans
    assert page.eval_on_selector(".wf-spacer", "s => s.offsetHeight") == visible_rows * 24
    page.wait_for_selector("#bottleneck .bn-title", timeout=15_000)


def test_errors_page_names_the_origin(page, shop):
    page.goto(url(shop, "/errors?since=1h"))
    page.wait_for_selector("#errors-table")
    roles = dict(page.eval_on_selector_all(
        "#errors-table tbody tr", "rows => rows.map(r => [r.dataset.service, r.dataset.role])"))
    assert roles == {"payment": "origin", "checkout": "propagates", "api-gateway": "propagates"}
    assert "origin" in page.inner_text("#errors-table tr[data-service=payment]")
    assert "card declined" in page.inner_text("#errors-table tr[data-service=payment]")
    screenshot(page, "errors")


def test_service_map_shows_the_calls(page, shop):
    page.goto(url(shop, "/map?since=1h"))
    page.wait_for_selector("#service-map")
    edges = page.eval_on_selector_all("#service-map [data-edge]", "es => es.map(e => e.dataset.edge)")
    assert sorted(edges) == sorted(
        ["api-gateway->auth-service", "api-gateway->product-service", "api-gateway->checkout",
         "checkout->payment", *(f"{HUGE_ROOT}->{w}" for w in HUGE_WORKERS)])
    assert "2 calls · 100% err" in page.text_content("#service-map [data-edge='checkout->payment'] text")
    nodes = page.eval_on_selector_all("#service-map [data-service]", "ns => ns.map(n => n.dataset.service)")
    assert set(nodes) == {"api-gateway", "auth-service", "product-service", "checkout", "payment",
                          HUGE_ROOT, *HUGE_WORKERS}
    screenshot(page, "map")


def test_doctor_findings_link_to_traces(page, shop):
    page.goto(url(shop, "/doctor?since=1h"))
    page.wait_for_selector("#findings")
    codes = page.eval_on_selector_all("#findings [data-code]", "fs => fs.map(f => f.dataset.code)")
    assert "no_business_context" in codes
    # each finding's count: the estimate first, the stored count second (the shop's spans are
    # all kept, so here the two are equal), as the API reports them
    server = shop[0]
    findings = {f["code"]: f for f in server.get("/api/v1/doctor", params={"since": "1h"})
                .json()["data"]["findings"]}
    finding = findings["no_business_context"]
    shown = page.locator("#findings [data-code=no_business_context]")
    assert shown.locator("[data-testid=finding-count]").inner_text() == \
        f"est. {round(finding['estimated_count']):,}"
    assert f"stored {finding['count']:,}" in shown.locator("[data-testid=finding-stored]").inner_text()
    screenshot(page, "doctor")
    link = page.locator("#findings a[data-trace-link]").first
    trace_id = link.get_attribute("data-trace-link")
    link.click()
    page.wait_for_url(f"**/trace/{trace_id}")
    page.wait_for_selector("#waterfall[data-ready]")


def test_compare_and_endpoint_bottleneck(page, shop):
    page.goto(url(shop, "/bottleneck?endpoint=api-gateway%20GET%20/products&since=1h"))
    page.wait_for_selector("#endpoint-bottleneck")
    first = page.inner_text("#endpoint-bottleneck tbody tr:first-child")
    assert "product-service" in first and "SELECT products" in first
    page.goto(url(shop, "/compare?where=error&since=1h"))
    page.wait_for_selector(".results p >> text=traces against")


def test_empty_states_and_dark_theme(page, shop):
    page.goto(url(shop, "/search?service=payment&min_duration=1h"))
    page.wait_for_selector(".empty")
    assert "is your exporter pointing at :4317" in page.inner_text(".empty").lower()
    page.goto(url(shop, "/trace/" + "0" * 31 + "1"))
    assert "not found" in page.inner_text(".empty")
    page.click("#theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.goto(url(shop, f"/trace/{shop[2]['seed']}"))
    page.wait_for_selector("#bottleneck .bn-title")
    page.locator(".wf-row", has_text="SELECT products").click()
    screenshot(page, "trace-dark")


def test_pages_only_talk_to_the_server(page, shop):
    server, sent, ids = shop
    for path in ("/", "/errors", "/map", "/doctor", "/compare?where=duration>p95", f"/trace/{ids['seed']}"):
        page.goto(url(shop, path))
        page.wait_for_load_state("networkidle")
    origin = urlsplit(server.ui_url).netloc
    foreign = sorted({u for u in REQUESTS if urlsplit(u).scheme not in ("data", "blob")
                      and urlsplit(u).netloc != origin})
    assert REQUESTS and not foreign, foreign
    assert not PAGE_ERRORS, PAGE_ERRORS
