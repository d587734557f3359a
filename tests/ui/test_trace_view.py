"""The trace view in a real browser (as tests/ui/test_ui.py: headless Chromium, a real
``spanhouse serve``, traces sent by the OTel SDK): the span panel, the layout at 1024 px, the
error's origin, the URL state, the minimap, client-span targets, service colours, the span table
and the trace diff. Every expected value is derived from what the test sent."""

from __future__ import annotations

import re
import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.ui.test_ui import browser, screenshot  # noqa: F401  (browser: a fixture, reused)
from tests.ui.traces import MS, Shop, shop_served

PAYMENT_URL = "http://payment:8080/charge"
EXCEPTION = ("ValueError", "card declined: insufficient funds")


def failing_checkout(shop: Shop, at_min: float) -> tuple[str, dict]:
    """gateway POST /checkout [0,300] (error) > checkout process_order [1,291] (error) > checkout
    client span "POST" to the payment URL [2,282] (error) > payment charge_payment [3,273] (error,
    with an exception event): the error starts in charge_payment."""
    t0 = shop.base + int(at_min * 60 * 10**9)
    root = shop.span("api-gateway", "POST /checkout", t0, 300, kind=SpanKind.SERVER, error="checkout failed")
    order = shop.span("checkout", "process_order", t0 + MS, 290, parent=root, error="payment failed")
    call = shop.span("checkout", "POST", t0 + 2 * MS, 280, parent=order, kind=SpanKind.CLIENT,
                     error="502 Bad Gateway", attributes={"http.request.method": "POST", "url.full": PAYMENT_URL})
    span = shop.providers["payment"].get_tracer("shop").start_span(
        "charge_payment", context=trace.set_span_in_context(call), kind=SpanKind.SERVER, start_time=t0 + 3 * MS)
    span.add_event("exception", {"exception.type": EXCEPTION[0], "exception.message": EXCEPTION[1]},
                   timestamp=t0 + 200 * MS)
    span.set_status(Status(StatusCode.ERROR, "card declined"))
    span.end(end_time=t0 + 273 * MS)
    trace_id = shop._record(root, kind="error", start=t0, duration_ms=300, spans=4)
    ids = {"origin": format(span.get_span_context().span_id, "016x"),
           "call": format(call.get_span_context().span_id, "016x")}
    return trace_id, ids


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    def send(shop: Shop) -> dict:
        error_id, error_spans = failing_checkout(shop, 12)
        return {"seed": shop.seed_trace(2), "product": shop.product_page(4, 2500, "u-1"),
                "error": error_id, "error_spans": error_spans}

    with shop_served(tmp_path_factory.mktemp("trace-view") / "data", send) as served:
        yield served


@pytest.fixture
def context_factory(browser):  # noqa: F811
    contexts, errors = [], []

    def make(width=1440, height=900, **kw):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme="light",
                                      locale="en-US", **kw)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, errors


@pytest.fixture
def page(context_factory):
    return context_factory()


def open_trace(page, shop, trace_id, query=""):
    page.goto(shop[0].ui_url + f"/trace/{trace_id}{query}")
    page.wait_for_selector("#waterfall[data-ready]")
    page.wait_for_selector("#bottleneck:not(.pending)")


def row(page, name):
    return page.locator(".wf-row", has=page.locator(".wf-name", has_text=re.compile(f"^{re.escape(name)}$")))


def test_span_panel_never_shows_null(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["seed"])
    names = page.eval_on_selector_all(".wf-row .wf-name", "ns => ns.map(n => n.textContent)")
    assert len(names) == sent.sent[ids["seed"]]["spans"]
    for name in names:
        row(page, name).first.click()
        assert page.inner_text("#span-panel h2").strip().endswith(name)
        assert "null" not in page.inner_text("#span-panel")
    assert "null" not in page.inner_text("#app")


def test_layout_at_1024_px(context_factory, shop):
    server, sent, ids = shop
    page = context_factory(1024, 768)
    open_trace(page, shop, ids["seed"])
    page.wait_for_selector(".wf-row.bottleneck .bn-badge")
    marked = page.locator(".wf-row.bottleneck")
    name = marked.locator(".wf-name").bounding_box()
    badge = marked.locator(".bn-badge").bounding_box()
    label = marked.locator(".wf-label").bounding_box()
    assert marked.locator(".wf-name").inner_text() == "SELECT products"
    overlap = not (badge["x"] >= name["x"] + name["width"] or badge["x"] + badge["width"] <= name["x"])
    assert not overlap, (name, badge)
    assert name["x"] >= label["x"] and name["x"] + name["width"] <= label["x"] + label["width"]
    # not cut short (no ellipsis): the text's own width fits the element's
    fits = """n => { const r = document.createRange(); r.selectNodeContents(n);
                     return [r.getBoundingClientRect().width, n.getBoundingClientRect().width]; }"""
    text_w, box_w = page.eval_on_selector(".wf-row.bottleneck .wf-name", fits)
    page.screenshot(path="/tmp/u2-1024.png", full_page=True)
    assert text_w <= box_w + 0.01, (text_w, box_w)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # Statistics: the whole "Critical path" header in view, service names on one line
    for table in ("#stats-services", "#stats-operations"):
        th = page.locator(f"{table} th", has_text="Critical path")
        assert page.eval_on_selector(f"{table}", "t => t.scrollWidth <= t.parentElement.clientWidth")
        assert th.bounding_box()["x"] + th.bounding_box()["width"] <= 1024
        heights = page.eval_on_selector_all(f"{table} tbody td:first-child", "tds => tds.map(td => td.getBoundingClientRect().height)")
        single = page.eval_on_selector(f"{table} tbody td.num", "td => td.getBoundingClientRect().height")
        assert heights and all(h <= single + 0.5 for h in heights), (heights, single)
    # the name column widens by dragging its edge, and stays wide after a reload
    before = label["width"]
    handle = page.locator("#wf-resize").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=4)
    page.mouse.up()
    widened = page.locator(".wf-row.bottleneck .wf-label").bounding_box()["width"]
    assert abs(widened - (before + 60)) <= 4, (before, widened)
    page.reload()
    page.wait_for_selector("#bottleneck:not(.pending)")      # the rows are drawn again once it is in
    assert abs(page.locator(".wf-row .wf-label").first.bounding_box()["width"] - widened) <= 1
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_error_trace_shows_the_origin_first(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["error"])
    banner = page.locator("#error-origin")
    text = banner.inner_text()
    assert "payment" in text and "charge_payment" in text and "card declined" in text
    assert page.inner_text("#error-origin-exception") == f"{EXCEPTION[0]}: {EXCEPTION[1]}"
    assert "3 failing spans above it only pass the error on" in text
    # before the bottleneck banner, right under the trace's head
    assert page.evaluate("document.querySelector('.trace-head').nextElementSibling.id") == "error-origin"
    # the origin is selected on load; its link selects it again (from another span) and is in the URL
    assert page.inner_text("#span-panel h2").strip().endswith("charge_payment")
    row(page, "process_order").click()
    page.click("#error-origin-span")
    page.wait_for_url(f"**span={ids['error_spans']['origin']}")
    panel = page.inner_text("#span-panel")
    assert page.inner_text("#span-panel h2").strip().endswith("charge_payment")
    assert "The error starts here" in panel and f"{EXCEPTION[0]}: {EXCEPTION[1]}" in panel
    assert page.locator(".wf-row.origin").get_attribute("data-span-id") == ids["error_spans"]["origin"]
    screenshot(page, "trace-error")


def test_client_span_shows_its_target(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["error"])
    call = page.locator(f".wf-row[data-span-id='{ids['error_spans']['call']}']")
    assert call.locator(".wf-name").inner_text() == "POST"
    assert call.locator(".wf-target").inner_text() == PAYMENT_URL
    assert page.locator(".wf-target").count() == 1           # only the span named by its method alone
    call.click()
    assert PAYMENT_URL in page.inner_text("#span-panel .span-target")


def test_selected_span_and_find_text_live_in_the_url(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["seed"])
    select_id = row(page, "SELECT products").get_attribute("data-span-id")
    verify_id = row(page, "verify_token").get_attribute("data-span-id")
    row(page, "SELECT products").click()
    page.wait_for_url(f"**span={select_id}**")
    page.fill("#find-in-trace", "verify")
    page.wait_for_url("**uiFind=verify**")
    page.reload()
    page.wait_for_selector("#waterfall[data-ready]")
    assert page.inner_text("#span-panel h2").strip().endswith("SELECT products")
    assert page.input_value("#find-in-trace") == "verify"
    assert page.inner_text("#find-count") == "1 match"
    assert page.locator(".wf-row.match").get_attribute("data-span-id") == verify_id
    # back and forward between selected spans
    row(page, "verify_token").click()
    page.wait_for_url(f"**span={verify_id}**")
    page.go_back()
    page.wait_for_function(f"document.querySelector('.wf-row.selected')?.dataset.spanId === '{select_id}'")
    assert page.inner_text("#span-panel h2").strip().endswith("SELECT products")
    page.go_forward()
    page.wait_for_function(f"document.querySelector('.wf-row.selected')?.dataset.spanId === '{verify_id}'")
    # a shared URL opens the span (here, the trace view opened with ?span= and ?uiFind=)
    open_trace(page, shop, ids["seed"], f"?span={verify_id}&uiFind=products")
    assert page.inner_text("#span-panel h2").strip().endswith("verify_token")
    # every span of the seed's trace but verify_token has "products" in its name
    assert page.inner_text("#find-count") == f"{sent.sent[ids['seed']]['spans'] - 1} matches"


def ms(label: str) -> float:
    number, unit = label.split()
    return float(number) * {"ms": 1, "s": 1000, "µs": 0.001}[unit]


def test_minimap_drag_zooms_the_waterfall(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["seed"])
    total = sent.sent[ids["seed"]]["duration_ms"]                     # 185: the root spans the trace
    ticks = lambda: page.eval_on_selector_all(".wf-axis .wf-tick", "ts => ts.map(t => t.textContent)")
    assert ms(ticks()[0]) == 0 and ms(ticks()[-1]) == total
    width = lambda name: float(row(page, name).locator(".wf-bar").evaluate("b => parseFloat(b.style.width)"))
    before = width("SELECT products")
    assert abs(before - 120 / total * 100) < 0.1
    box = page.locator("#minimap .mm-box").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=5)
    page.mouse.move(box["x"] + box["width"] - 0.5, y, steps=5)
    page.mouse.up()
    assert abs(ms(ticks()[0]) - total / 2) <= 2 and abs(ms(ticks()[-1]) - total) <= 2, ticks()
    assert abs(width("SELECT products") - 2 * before) < 3            # half the range: bars twice as wide
    assert "out-of-range" in row(page, "verify_token").get_attribute("class")   # [2, 14] ms: left of the range
    assert "out-of-range" not in row(page, "GET products:list").get_attribute("class")
    assert page.is_visible("#minimap .mm-window")
    page.click("#wf-zoom-reset")
    assert ms(ticks()[0]) == 0 and abs(width("SELECT products") - before) < 0.1
    assert not page.is_visible("#wf-zoom-reset")


def test_services_of_a_trace_get_distinct_colours(page, shop):
    server, sent, ids = shop
    for trace_id in (ids["seed"], ids["error"]):
        open_trace(page, shop, trace_id)
        colours = dict(page.eval_on_selector_all(
            ".wf-row", "rs => rs.map(r => [r.querySelector('.wf-service').textContent, r.querySelector('.dot').style.background])"))
        assert len(colours) == len(set(colours.values())), colours
    assert set(colours) == {"api-gateway", "checkout", "payment"}
    # outside a trace (search list, map) a service's colour is hashed: the demo's services still differ
    demo = ["api-gateway", "auth-service", "product-service", "order-service", "payment-service"]
    hashed = page.evaluate("names => import('/static/lib.js').then(l => names.map(l.serviceColour))", demo)
    assert len(set(hashed)) == len(demo), dict(zip(demo, hashed))


def test_span_table_sorts(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["seed"])
    page.click("#tab-table")
    names = lambda: page.eval_on_selector_all("#span-table tbody tr td:nth-child(2)", "tds => tds.map(t => t.textContent)")
    # the seed's timings: root 185 ms, product 168, SELECT 120, verify 12, cache 3
    assert names() == ["GET /products", "GET /products", "SELECT products", "verify_token", "GET products:list"]
    page.click("#span-table th[data-col=self] button")
    # self times: SELECT 120, product 168-120-3=45, verify 12, root 185-12-168=5, cache 3
    assert names() == ["SELECT products", "GET /products", "verify_token", "GET /products", "GET products:list"]
    assert page.eval_on_selector("#span-table", "t => t.dataset.sort") == "self desc"
    page.locator("#span-table tbody tr", has_text="verify_token").click()
    assert page.is_visible("#waterfall")
    assert page.inner_text("#span-panel h2").strip().endswith("verify_token")


def test_times_use_the_24_hour_clock(page, shop):
    server, sent, ids = shop
    open_trace(page, shop, ids["seed"])
    start = page.locator(".fact", has_text="Start").inner_text()
    clock = time.strftime("%H:%M:%S", time.localtime(sent.sent[ids["seed"]]["start"] / 1e9))
    assert clock in start and "AM" not in start and "PM" not in start, (start, clock)


def test_two_traces_side_by_side(page, shop):
    server, sent, ids = shop
    page.goto(server.ui_url + f"/trace/{ids['seed']}/vs/{ids['product']}")
    page.wait_for_selector("#diff-table")
    paths = lambda cls: page.eval_on_selector_all(
        f"#diff-table tr.{cls} td.path strong", "ss => ss.map(s => s.textContent)")
    # the seed's trace calls auth and the cache; the product page does not
    assert sorted(paths("only-a")) == ["GET products:list", "verify_token"]
    assert paths("only-b") == [] and paths("count-changed") == []
    # 185 -> 2500 ms: the root, the product service and its query are all slower in B
    assert paths("slower") == ["GET /products", "GET /products", "SELECT products"]
    summary = page.inner_text("#diff-summary")
    assert "2 paths only in A, 0 only in B" in summary and "3 slower" in summary
    assert ids["seed"] in page.inner_text("#diff-a") and ids["product"] in page.inner_text("#diff-b")
    screenshot(page, "trace-diff")
    page.click("#diff-swap")
    page.wait_for_url(f"**/trace/{ids['product']}/vs/{ids['seed']}")
    page.wait_for_function("document.querySelectorAll('#diff-table tr.only-b').length === 2")
    # from a trace: "Compare with" another trace ID
    open_trace(page, shop, ids["error"])
    page.fill("#compare-with", ids["seed"])
    page.press("#compare-with", "Enter")
    page.wait_for_url(f"**/trace/{ids['error']}/vs/{ids['seed']}")
    page.wait_for_selector("#diff-table")
    # nothing in common below the root's service: every path of each trace is only in one of them
    assert len(paths("only-a")) == sent.sent[ids["error"]]["spans"]
    assert len(paths("only-b")) == sent.sent[ids["seed"]]["spans"]
