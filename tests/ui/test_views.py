"""The other views in a real browser (as tests/ui/test_ui.py: headless Chromium, a real
``spanhouse serve``, traces sent by the OTel SDK): search's pickers, axes and "pick two"; the
errors page's estimates, order and chart; the service map's labels, routing, latency and
context-lost edges; the doctor's checked window; the catalog pickers of bottlenecks and compare;
titles and the UI's own "not found". Every expected value is derived from what the test sent."""

from __future__ import annotations

import re
from statistics import median_low

import httpx
import pytest
from opentelemetry.trace import SpanKind

from tests.ui.test_ui import browser, screenshot  # noqa: F401  (browser: a fixture, reused)
from tests.ui.traces import MS, Shop, shop_served

# The entry spans (server spans, roots) each kind of trace of tests/ui/traces.py puts in a
# service, and whether they fail: what the errors page counts as requests.
ENTRIES = {"seed": [("api-gateway", False), ("auth-service", False), ("product-service", False)],
           "product": [("api-gateway", False), ("product-service", False)],
           "error": [("api-gateway", True), ("checkout", True), ("payment", True)],
           "direct": [("api-gateway", False), ("payment", False)],
           "lost": [("checkout", False)]}


def direct_call(shop: Shop, at_min: float) -> str:
    """gateway GET /status calls payment directly: an edge skipping the checkout column."""
    t0 = shop.base + int(at_min * 60 * 10**9)
    root = shop.span("api-gateway", "GET /status", t0, 40, kind=SpanKind.SERVER)
    shop.span("payment", "GET /health", t0 + MS, 30, parent=root, kind=SpanKind.SERVER)
    return shop._record(root, kind="direct", start=t0, duration_ms=40, spans=2)


def lost_context(shop: Shop, at_min: float) -> str:
    """checkout POST /retry calls payment (a client span naming it) but payment's span never
    joins the trace: the context was not propagated."""
    t0 = shop.base + int(at_min * 60 * 10**9)
    root = shop.span("checkout", "POST /retry", t0, 60, kind=SpanKind.SERVER)
    shop.span("checkout", "POST", t0 + MS, 50, parent=root, kind=SpanKind.CLIENT,
              attributes={"peer.service": "payment", "server.address": "payment",
                          "http.request.method": "POST"})
    return shop._record(root, kind="lost", start=t0, duration_ms=60, spans=2)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    def send(shop: Shop) -> dict:
        return {"seed": shop.seed_trace(2),
                "products": [shop.product_page(4 + i, ms, "u-42" if i % 2 else "u-1")
                             for i, ms in enumerate([2500, 1200, 110, 130])],
                "errors": [shop.failed_checkout(10 + i, ms) for i, ms in enumerate([300, 320])],
                "direct": direct_call(shop, 14), "lost": lost_context(shop, 16)}

    with shop_served(tmp_path_factory.mktemp("views") / "data", send) as served:
        yield served


@pytest.fixture
def page(browser, shop):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light",
                                  locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.requests = requests
    yield page
    context.close()
    assert not errors, errors


def url(shop, path: str) -> str:
    return shop[0].ui_url + path


def pct(x: float) -> str:
    """As the UI's fmtPct(x, 1)."""
    return f"{x * 100:.1f}%"


def requests_by_service(sent: Shop) -> dict[str, list[int]]:
    """{service: [requests, failing requests]} of everything sent."""
    out: dict[str, list[int]] = {}
    for info in sent.sent.values():
        for service, failed in ENTRIES[info["kind"]]:
            counts = out.setdefault(service, [0, 0])
            counts[0] += 1
            counts[1] += failed
    return out


# ---------------------------------------------------------------------------------- search
def test_search_pickers_axes_and_title(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/search?since=1h&limit=100"))
    page.wait_for_selector("#trace-list")
    page.wait_for_selector("select[name=operation] option[data-hint=pick-service]", state="attached")
    assert page.title() == "Search · Spanhouse"
    # no service picked: the operation list says so instead of asking (a 400 without a service)
    assert not [u for u in page.requests if "/api/operations" in u and "service=" not in u]
    page.select_option("select[name=service]", "api-gateway")
    page.wait_for_function("document.querySelector('select[name=operation]').options.length > 1 && "
                           "!document.querySelector('select[name=operation] [data-hint]')")
    operations = page.eval_on_selector_all("select[name=operation] option", "os => os.map(o => o.value)")
    roots = {"seed": "GET /products", "product": "GET /products", "error": "POST /checkout",
             "direct": "GET /status"}
    gateway_operations = {roots[t["kind"]] for t in sent.sent.values() if t["kind"] in roots}
    assert operations == ["", *sorted(gateway_operations)]

    # the scatter: distinct time labels; durations on a log scale at 1-2-5 steps
    x_labels = page.eval_on_selector_all("#scatter .x-tick", "ts => ts.map(t => t.textContent)")
    assert len(x_labels) >= 2 and len(set(x_labels)) == len(x_labels), x_labels
    durations = [t["duration_ms"] for t in sent.sent.values()]
    assert max(durations) / min(durations) > 50          # so the plot is on a log scale
    y_values = page.eval_on_selector_all("#scatter .y-tick", "ts => ts.map(t => Number(t.dataset.ms))")
    assert len(y_values) >= 3 and y_values == sorted(y_values)
    for v in y_values:                                    # one significant digit: 1, 2 or 5
        assert float(f"{v:.0e}") == v and f"{v:.0e}"[0] in "125", (v, y_values)
    # every y tick and every point within the plot's range
    assert y_values[0] <= min(durations) * 10 and y_values[-1] >= max(durations) / 10

    # the attributes placeholder is not cut: its longest line fits the box
    fits = page.evaluate("""() => {
        const box = document.querySelector('textarea[name=attr]');
        const probe = document.createElement('span');
        const style = getComputedStyle(box);
        probe.style.font = style.font; probe.style.whiteSpace = 'pre'; probe.style.position = 'absolute';
        document.body.append(probe);
        const widest = Math.max(...box.placeholder.split('\\n').map(l => { probe.textContent = l; return probe.offsetWidth; }));
        probe.remove();
        const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        return [widest, box.clientWidth - padding]; }""")
    assert fits[0] <= fits[1], fits
    screenshot(page, "search")


def test_pick_two_traces_to_compare(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/search?since=1h&limit=100"))
    page.wait_for_selector("#trace-list")
    assert page.get_attribute("#compare-picked", "href") is None
    first, second, third = ids["products"][:3]
    for trace_id in (first, second):
        page.check(f"input[data-pick='{trace_id}']")
    assert page.get_attribute("#compare-picked", "href") == f"/trace/{first}/vs/{second}"
    page.check(f"input[data-pick='{third}']")       # a third pick drops the oldest
    assert not page.is_checked(f"input[data-pick='{first}']")
    assert page.get_attribute("#compare-picked", "href") == f"/trace/{second}/vs/{third}"
    response = httpx.get(url(shop, f"/trace/{second}/vs/{third}"))
    assert response.status_code == 200 and "<main id=\"app\"" in response.text


# ---------------------------------------------------------------------------------- errors
def test_errors_page_leads_with_the_estimate(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/errors?since=1h"))
    page.wait_for_selector("#errors-table")
    assert page.title() == "Errors · Spanhouse"
    counts = requests_by_service(sent)
    failing = {s: c for s, c in counts.items() if c[1]}
    rows = [tuple(r) for r in page.eval_on_selector_all(
        "#errors-table tbody tr", "rows => rows.map(r => [r.dataset.service, r.dataset.role])")]
    roles = dict(rows)
    assert set(roles) == set(failing)
    # origin first, then by failing spans (each failing service has one per failed checkout), then name
    rank = {"origin": 0, "both": 1, "propagates": 2}
    assert [s for s, _ in rows] == sorted(failing, key=lambda s: (rank[roles[s]], -failing[s][1], s))
    assert rows[0] == ("payment", "origin")
    for service, (requests, errors) in failing.items():
        row = f"#errors-table tr[data-service='{service}']"
        # the traces were stored unsampled (AdjustedCount 1): the estimate is the stored rate
        assert page.inner_text(f"{row} [data-testid=error-rate]") == pct(errors / requests)
        assert page.inner_text(f"{row} [data-testid=requests]") == str(requests)
        assert "stored" in page.inner_text(f"{row} [data-testid=stored]")
    headers = page.eval_on_selector_all("#errors-table th", "ts => ts.map(t => t.textContent)")
    assert headers[2] == "Error rate (est.)"
    # the errors over time: the origin's failures, bucket by bucket, add up to what was sent
    page.wait_for_selector("#errors-chart")
    drawn = page.eval_on_selector_all("#errors-chart rect.bar",
                                      "rs => rs.map(r => [r.dataset.stack, Number(r.dataset.value)])")
    assert {s for s, _ in drawn} == {s for s, r in roles.items() if r != "propagates"}
    assert sum(v for s, v in drawn if s == "payment") == len(ids["errors"])
    x_labels = page.eval_on_selector_all("#errors-chart .x-tick", "ts => ts.map(t => t.textContent)")
    assert len(set(x_labels)) == len(x_labels) >= 2
    # the top operation says more than a bare verb
    assert "charge_payment" in page.inner_text("#errors-table tr[data-service=payment]")
    screenshot(page, "errors")


# ---------------------------------------------------------------------------------- map
def test_service_map_labels_routes_latency_and_lost_context(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/map?since=1h"))
    page.wait_for_selector("#service-map")
    assert page.title() == "Service map · Spanhouse"
    edges = [tuple(e) for e in page.eval_on_selector_all(
        "#service-map g[data-edge]", "es => es.map(e => [e.dataset.edge, e.dataset.kind])")]
    assert sorted(edges) == sorted([
        ("api-gateway->auth-service", "call"), ("api-gateway->product-service", "call"),
        ("api-gateway->checkout", "call"), ("checkout->payment", "call"),
        ("api-gateway->payment", "call"), ("checkout->payment", "context_lost")])
    call = "#service-map g[data-edge='checkout->payment'][data-kind=call]"
    label = page.text_content(f"{call} text")
    assert f"{len(ids['errors'])} calls" in label
    assert page.text_content(f"{call} [data-testid=edge-error-rate]") == "100% err"
    # the callee's latency: charge_payment lasted each checkout's duration - 20 ms
    payment_ms = [sent.sent[t]["duration_ms"] - 20 for t in ids["errors"]]
    assert any(f"p50 {ms} ms" in label for ms in payment_ms), label
    assert f"p95 {max(payment_ms)} ms" in label or f"p95 {min(payment_ms)} ms" in label, label
    lost = "#service-map g[data-edge='checkout->payment'][data-kind=context_lost]"
    assert "context lost" in page.text_content(f"{lost} text")
    assert page.get_attribute(f"{lost} path", "stroke-dasharray")
    assert "context lost" in page.inner_text(".map-legend")
    # every label inside the drawing, none over another
    boxes = page.evaluate("""() => {
        const svg = document.getElementById('service-map'), vb = svg.viewBox.baseVal;
        return [[vb.x, vb.y, vb.width, vb.height],
                [...svg.querySelectorAll('.edge-label')].map(t => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; })]; }""")
    (vx, vy, vw, vh), labels = boxes
    for x, y, w, h in labels:
        assert vx <= x and x + w <= vx + vw and vy <= y and y + h <= vy + vh, (labels, boxes[0])
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            apart = a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
            assert apart, (a, b)
    # no edge runs under a box other than its two ends
    under = page.evaluate("""() => {
        const rects = [...document.querySelectorAll('#service-map .node')].map(n => [n.dataset.service, n.querySelector('rect').getBBox()]);
        const out = [];
        for (const g of document.querySelectorAll('#service-map g[data-edge]')) {
          const [from, to] = g.dataset.edge.split('->'), path = g.querySelector('path'), len = path.getTotalLength();
          for (let i = 0; i <= 200; i++) {
            const p = path.getPointAtLength(len * i / 200);
            for (const [name, r] of rects) {
              if (name !== from && name !== to && p.x > r.x && p.x < r.x + r.width && p.y > r.y && p.y < r.y + r.height)
                out.push([g.dataset.edge, name]);
            }
          }
        }
        return out; }""")
    assert not under, under
    row = "#edge-table tr[data-edge='checkout->payment'][data-kind=call]"
    assert page.inner_text(f"{row} [data-testid=edge-error-rate]") == pct(1)
    screenshot(page, "map")


# ---------------------------------------------------------------------------------- doctor
def test_doctor_says_which_time_was_checked(page, shop):
    report = shop[0].get("/api/v1/doctor?since=1h").json()["data"]
    if "checked_window" not in report:
        pytest.skip("the server's /api/v1/doctor does not report checked_window yet")
    page.goto(url(shop, "/doctor?since=1h"))
    page.wait_for_selector("#checked-window")
    assert page.title() == "Doctor · Spanhouse"
    checked = page.inner_text("#checked-window")
    assert checked.startswith("Checked:") and "–" in checked
    note = report["checked_window"].get("note")
    if note:   # the page asked a moment later: the times in the note may differ
        stamp = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z")
        # the note's times are shown as the page shows times (local, without the date's year)
        assert stamp.sub("", note).split("(")[-1] in checked, (note, checked)
    assert not re.search(r"\d{4}-\d\d-\d\dT", checked), checked
    # (the screenshot is test_ui.py's, whose traces give the doctor findings to show)


# ------------------------------------------------------------------- bottlenecks and compare
def test_bottleneck_picks_the_endpoint_from_the_catalog(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/bottleneck?since=1h"))
    page.wait_for_selector("#bottleneck-form select[name=service] option[value='api-gateway']", state="attached")
    assert page.title() == "Bottlenecks · Spanhouse"
    page.select_option("#bottleneck-form select[name=service]", "api-gateway")
    page.wait_for_selector("#bottleneck-form select[name=operation] option[value='GET /products']", state="attached")
    page.select_option("#bottleneck-form select[name=operation]", "GET /products")
    page.click("#bottleneck-form button[type=submit]")
    page.wait_for_selector("#endpoint-bottleneck")
    assert "endpoint=api-gateway+GET+%2Fproducts" in page.url
    durations = [t["duration_ms"] for t in sent.sent.values() if t["kind"] in ("seed", "product")]
    # unsampled: every trace weighs 1, so the estimated median is the median of what was sent
    assert page.inner_text("[data-testid=endpoint-median]") == f"{median_low(durations)} ms"
    assert f"{len(durations)} traces" in page.inner_text("[data-testid=endpoint-traces]")
    assert "stored" in page.inner_text("#endpoint-headline")
    screenshot(page, "bottleneck")


def test_compare_picks_from_the_catalog(page, shop):
    server, sent, ids = shop
    page.goto(url(shop, "/compare?where=error&since=1h"))
    page.wait_for_selector("#compare-headline")
    assert page.title() == "Compare · Spanhouse"
    page.wait_for_selector("#compare-form select[name=service] option[value='payment']", state="attached")
    services = page.eval_on_selector_all("#compare-form select[name=service] option", "os => os.map(o => o.value)")
    assert services == ["", *sorted({s for t in sent.sent.values() for s, _ in ENTRIES[t["kind"]]})]
    failed = len(ids["errors"])
    assert page.inner_text("[data-testid=selection-traces]") == f"est. {failed} traces"
    assert f"stored: {failed} against {len(sent.sent) - failed}" in page.inner_text("#compare-headline")
    screenshot(page, "compare")


# ---------------------------------------------------------------------------------- not found
def test_unknown_paths_get_the_ui_not_found_page(page, shop):
    server = shop[0]
    response = httpx.get(url(shop, "/no/such/page"))
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert httpx.get(url(shop, "/api/no-such-api")).status_code == 404
    assert "<main" not in httpx.get(url(shop, "/api/no-such-api")).text
    assert httpx.get(url(shop, "/static/no-such.js")).status_code == 404
    assert httpx.post(url(shop, "/no/such/page")).status_code == 404
    page.goto(url(shop, "/no/such/page"))
    page.wait_for_selector(".empty")
    assert "No such page" in page.inner_text(".empty")
    page.click(".empty a")                         # back to search, within the app
    page.wait_for_selector("#trace-list")
    assert page.url == server.ui_url + "/"
