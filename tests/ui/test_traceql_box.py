"""The search page's TraceQL box in a real browser (headless Chromium, as tests/ui/test_ui.py)
against a real ``spanhouse serve`` holding traces sent by the OTel SDK: completion offers the
attribute names and values that were sent, keyboard-navigable; Run lists the matching traces
with links to the trace view; a metrics query draws its series; a bad query's 400 shows
inline. Every expected value is derived from what the test sent."""

from __future__ import annotations

import re

import pytest

from tests.ui.test_ui import browser  # noqa: F401  (a fixture, reused)
from tests.ui.traces import Shop, shop_served


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    def send(shop: Shop) -> dict:
        return {"seed": shop.seed_trace(2),
                "products": [shop.product_page(4 + i, ms, "u-1")
                             for i, ms in enumerate([110, 130])],
                "errors": [shop.failed_checkout(10 + i, ms) for i, ms in enumerate([300, 320])]}

    with shop_served(tmp_path_factory.mktemp("traceql") / "data", send) as served:
        yield served


@pytest.fixture
def page(browser, shop):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light",
                                  locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def suggestions(page) -> list[str]:
    page.wait_for_selector("#traceql-suggestions li")
    return page.eval_on_selector_all("#traceql-suggestions li", "ls => ls.map(l => l.dataset.value)")


def test_completion_offers_sent_attribute_names_then_their_values(page, shop):
    server, _, _ = shop
    page.goto(server.ui_url + "/search")
    box = page.locator("#traceql-input")
    box.click()
    box.type("{ span.http")
    names = suggestions(page)
    assert "span.http.route" in names           # the SDK's spans carry http.route
    # keyboard: move to it and accept with Enter
    for _ in range(names.index("span.http.route")):
        box.press("ArrowDown")
    assert page.get_attribute("#traceql-suggestions li[aria-selected=true]",
                              "data-value") == "span.http.route"
    box.press("Enter")
    assert box.input_value() == "{ span.http.route"
    box.type(" = ")
    values = suggestions(page)
    assert '"/products"' in values               # the only route sent
    box.press("Tab")
    assert box.input_value() == '{ span.http.route = "/products"'
    assert page.is_hidden("#traceql-suggestions")


def test_running_a_spanset_query_lists_the_matching_traces(page, shop):
    server, _, ids = shop
    page.goto(server.ui_url + "/search")
    page.fill("#traceql-input", '{ resource.service.name = "payment" && status = error }')
    page.click("#traceql-run")
    page.wait_for_selector("#traceql-results tr[data-trace-id]")
    assert "q=" in page.url                       # the URL reproduces the result
    listed = page.eval_on_selector_all("#traceql-results tr[data-trace-id]",
                                       "rs => rs.map(r => r.dataset.traceId)")
    assert sorted(listed) == sorted(ids["errors"])
    row = f"#traceql-results tr[data-trace-id='{ids['errors'][0]}']"
    assert "charge_payment" in page.inner_text(row)          # the matched span
    page.click(f"{row} td:first-child a")
    page.wait_for_url(re.compile(f"/trace/{ids['errors'][0]}$"))


def test_a_metrics_query_draws_its_series(page, shop):
    server, sent, _ = shop
    query = "{ status = error } | count_over_time() by (resource.service.name)"
    page.goto(server.ui_url + "/search")
    page.fill("#traceql-input", query)
    page.click("#traceql-run")
    page.wait_for_selector("#traceql-chart rect.bar")
    drawn = page.eval_on_selector_all(
        "#traceql-chart rect.bar", "rs => rs.map(r => [r.dataset.stack, Number(r.dataset.value)])")
    totals: dict[str, float] = {}
    for stack, value in drawn:
        totals[stack] = totals.get(stack, 0) + value
    # every failed checkout has one error span in each of these services; nothing is sampled
    failed = sum(1 for info in sent.sent.values() if info["kind"] == "error")
    assert totals == {f"resource.service.name={service}": pytest.approx(failed)
                      for service in ("api-gateway", "checkout", "payment")}
    assert "sampling-aware" in page.inner_text("#traceql-note")


def test_a_bad_query_shows_the_servers_message_inline(page, shop):
    server, _, _ = shop
    page.goto(server.ui_url + "/search")
    page.fill("#traceql-input", "{ .a = }")
    page.click("#traceql-run")
    page.wait_for_selector("#traceql-error")
    message = page.inner_text("#traceql-error")
    assert re.search(r"col(umn)? \d+", message), message
    assert page.locator("#traceql-input").input_value() == "{ .a = }"   # kept for fixing
