// Search (and the start page): the filter form, a scatter plot of the results and the list.
// The scatter is hand-drawn SVG: one <circle> per trace (size by span count, red with errors),
// so each point is a link-like element the list and the tests can match one to one.
import { h, api, pageParams, navigate, urlWith, fmtMs, fmtTime, serviceColour, rangeControl,
         windowParams, errorBox, emptyState, NO_TRACES_HINT } from "../lib.js";
import { fmtCount, logTicks, linearTicks, timeTicks } from "./charts.js";
import { catalogPickers } from "./pickers.js";
import { traceqlBox } from "./traceql.js";

const ATTR_PLACEHOLDER = "user.id=u-42   (one per line)\nhttp.route   db.statement~SELECT.*";
// The trace diff (helper U2's route): the one place the search page spells its URL.
export const TRACE_DIFF_URL = (a, b) => `/trace/${encodeURIComponent(a)}/vs/${encodeURIComponent(b)}`;
const SORTS = [["recent", "Most recent"], ["slowest", "Slowest"], ["most_spans", "Most spans"],
               ["most_errors", "Most errors"]];

export async function mount(app, { home }) {
  const params = pageParams();
  const findMode = !!(params.key || params.value) && location.pathname === "/search";
  document.title = `${findMode ? "Find a request" : "Search"} · Spanhouse`;
  app.append(h("section", { class: "quick" },
    h("span", { class: "muted" }, "Ask:"),
    h("a", { class: "button", href: "/search?since=1h&sort=slowest&limit=20", "data-quick": "slowest" },
      "Slowest in the last hour"),
    h("a", { class: "button", href: "/errors?since=1h", "data-quick": "errors" }, "Errors by service"),
    h("a", { class: "button", href: "/search?key=user.id&value=&window=15m", "data-quick": "find" },
      "Find a user's request")));

  const traceql = findMode ? null : traceqlBox(params);   // views/traceql.js; runs ?q=
  if (traceql) app.append(traceql.el);
  const form = findMode ? findForm(params) : searchForm(params);
  app.append(form);
  const results = h("section", { class: "results" });
  app.append(results);

  const ran = findMode ? (params.value ? runFind(results, params) : null)
                       : traceql.run ? traceql.run(results) : runSearch(results, params);
  if (!ran) results.append(emptyState("Enter the attribute value to look for",
    "e.g. user.id = u-42 around 10:31 (times: RFC 3339, HH:MM, “20m ago” or “now”)."));
  await ran;
}

function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

function searchForm(params) {
  const { services: service, operations: operation } = catalogPickers(params);
  const attrs = h("textarea", { name: "attr", rows: 2, spellcheck: false, "aria-label": "Attributes",
                                class: "attr-box", title: "one per line: key=value, key (present) or key~regex",
                                placeholder: ATTR_PLACEHOLDER },
                  (params.attr || []).join("\n"));
  const minD = h("input", { name: "min_duration", value: params.min_duration || "", placeholder: "e.g. 250ms",
                            size: 8, "aria-label": "Min duration" });
  const maxD = h("input", { name: "max_duration", value: params.max_duration || "", placeholder: "e.g. 5s",
                            size: 8, "aria-label": "Max duration" });
  const status = h("select", { name: "status", "aria-label": "Status" },
    [["", "any"], ["error", "error"], ["ok", "ok"], ["unset", "unset"]].map(([v, t]) =>
      h("option", { value: v, selected: (params.status || "") === v }, t)));
  const range = rangeControl(params);
  const limit = h("input", { name: "limit", type: "number", min: 1, max: 10000, value: params.limit || 20,
                             "aria-label": "Limit", style: { width: "6em" } });
  const sort = h("select", { name: "sort", "aria-label": "Sort" },
    SORTS.map(([v, t]) => h("option", { value: v, selected: (params.sort || "recent") === v }, t)));

  const form = h("form", { class: "filters", id: "search-form" },
    field("Service", service), field("Operation", operation), field("Attributes", attrs),
    h("div", { class: "field" }, h("span", {}, "Duration"), h("span", { class: "row" }, minD, "–", maxD)),
    field("Status", status), range.el, field("Limit", limit), field("Sort", sort),
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Search")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    const attr = attrs.value.split("\n").map(s => s.trim()).filter(Boolean);
    navigate(urlWith("/search", {
      service: service.value, operation: operation.value, attr, min_duration: minD.value.trim(),
      max_duration: maxD.value.trim(), status: status.value, ...range.values(),
      limit: limit.value, sort: sort.value === "recent" ? "" : sort.value }));
  });
  return form;
}

function findForm(params) {
  const key = h("input", { name: "key", value: [].concat(params.key || [])[0] || "user.id", "aria-label": "Attribute key", size: 14 });
  const value = h("input", { name: "value", value: params.value || "", "aria-label": "Attribute value",
                             placeholder: "u-42", autofocus: true, size: 14 });
  const at = h("input", { name: "at", value: params.at || "now", "aria-label": "Around",
                          placeholder: "10:31, 20m ago, now", size: 14 });
  const win = h("input", { name: "window", value: params.window || "15m", "aria-label": "Window", size: 6 });
  const form = h("form", { class: "filters", id: "find-form" },
    h("p", { class: "form-title" }, "The traces of a user's request around a time"),
    field("Key", key), field("Value", value), field("Around", at), field("± window", win),
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Find")),
    h("div", { class: "field actions" }, h("span", {}, " "), h("a", { href: "/search" }, "Back to search")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    navigate(urlWith("/search", { key: key.value.trim(), value: value.value.trim(),
                                  at: at.value.trim(), window: win.value.trim() }));
  });
  return form;
}

async function runSearch(results, params) {
  const query = { service: params.service, operation: params.operation, attr: params.attr,
                  status: params.status, min_duration: params.min_duration,
                  max_duration: params.max_duration, ...windowParams(params),
                  limit: params.limit || 20, sort: params.sort };
  await show(results, () => api("/api/v1/search", query));
}

async function runFind(results, params) {
  await show(results, () => api("/api/v1/find", {
    key: [].concat(params.key || [])[0], value: params.value, at: params.at, window: params.window }));
}

async function show(results, fetcher) {
  results.append(h("p", { class: "muted" }, "Searching…"));
  let body;
  try { body = await fetcher(); } catch (err) { results.replaceChildren(errorBox(err)); return; }
  const traces = body.data || [];
  results.replaceChildren();
  if (!traces.length) {
    results.append(emptyState("No traces in this window", NO_TRACES_HINT));
    return;
  }
  // the traces listed are stored ones; under sampling each stands for estimated_count traces
  const standFor = traces.reduce((a, t) => a + (t.estimated_count ?? 1), 0);
  results.append(h("p", { class: "summary", id: "result-count" },
    `${traces.length} trace${traces.length === 1 ? "" : "s"}`,
    Math.abs(standFor - traces.length) >= 0.5
      ? h("span", { "data-testid": "stand-for" }, ` stored, standing for est. ${fmtCount(standFor)} traces after sampling`) : "",
    body.query?.start ? ` · ${fmtTime(body.query.start)} – ${fmtTime(body.query.end)}` : ""));
  results.append(scatter(traces), list(traces));
}

function scatter(traces) {
  const W = 1000, H = 220, L = 64, R = 16, T = 12, B = 28;
  const xs = traces.map(t => Date.parse(t.start));
  const ys = traces.map(t => Math.max(t.duration_ms, 0.001));
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x1 - x0 < 1000) { x0 -= 30000; x1 += 30000; }
  const pad = (x1 - x0) * 0.03;   // keep edge points (and big circles) inside the plot
  x0 -= pad; x1 += pad;
  const yMax = Math.max(...ys), yMin = Math.min(...ys);
  const log = yMax / yMin > 50;
  const yf = log ? v => Math.log10(v) : v => v;
  const lo = log ? yf(yMin) - 0.1 : 0, hi = yf(yMax) * (log ? 1 : 1.08) + (log ? 0.1 : 0);
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = y => T + (1 - (yf(y) - lo) / ((hi - lo) || 1)) * (H - T - B);
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "scatter", id: "scatter", role: "img",
                             "aria-label": "Traces: start time by duration" });
  // axes and ticks: durations at 1-2-5 steps (per decade on a log scale), times at round steps
  svg.append(h("svg:line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }),
             h("svg:line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (const yv of log ? logTicks(10 ** lo, 10 ** hi) : linearTicks(hi)) {
    const y = py(yv);
    svg.append(h("svg:line", { x1: L, y1: y, x2: W - R, y2: y, class: "grid" }),
               h("svg:text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "tick y-tick", "data-ms": yv }, fmtMs(yv)));
  }
  for (const [xv, label] of timeTicks(x0, x1)) {
    svg.append(h("svg:text", { x: px(xv), y: H - 8, "text-anchor": "middle", class: "tick x-tick" }, label));
  }
  traces.forEach((t, i) => {
    const r = Math.min(3 + Math.sqrt(t.span_count), 16);
    const a = h("svg:a", { href: `/trace/${t.trace_id}` },
      h("svg:circle", { cx: px(xs[i]).toFixed(1), cy: py(ys[i]).toFixed(1), r: r.toFixed(1),
                        class: t.error_count ? "point error" : "point", "data-trace-id": t.trace_id },
        h("svg:title", {}, `${t.root_service}: ${t.root_operation}\n${fmtMs(t.duration_ms)} · ` +
                           `${t.span_count} spans · ${t.error_count} errors\n${fmtTime(t.start)}`)));
    svg.append(a);
  });
  return h("figure", { class: "chart" }, svg,
    h("figcaption", { class: "muted" }, "start time × duration", log ? " (log scale)" : "",
      " · size: span count · ", h("span", { class: "legend-error" }, "●"), " has errors"));
}

// The result list; a tick box per row picks traces for the side-by-side diff (two at most: a
// third pick drops the oldest).
function list(traces) {
  const picked = [];
  const diff = h("a", { class: "button", id: "compare-picked", "aria-disabled": "true" }, "Compare the two picked traces");
  const hint = h("span", { class: "muted small", id: "pick-hint" }, "Tick two traces to compare them side by side.");
  const update = () => {
    boxes.forEach(b => { b.checked = picked.includes(b.dataset.pick); });
    const ready = picked.length === 2;
    if (ready) diff.setAttribute("href", TRACE_DIFF_URL(picked[0], picked[1]));
    else diff.removeAttribute("href");
    diff.setAttribute("aria-disabled", String(!ready));
    hint.textContent = ready ? `${picked[0].slice(0, 8)}… vs ${picked[1].slice(0, 8)}…`
      : picked.length ? "Tick one more trace." : "Tick two traces to compare them side by side.";
  };
  const boxes = traces.map(t => h("input", { type: "checkbox", class: "pick", "data-pick": t.trace_id,
    "aria-label": `Pick trace ${t.trace_id} to compare`, onchange: e => {
      const i = picked.indexOf(t.trace_id);
      if (e.target.checked && i < 0) picked.push(t.trace_id);
      if (!e.target.checked && i >= 0) picked.splice(i, 1);
      if (picked.length > 2) picked.shift();
      update();
    } }));
  const table = h("table", { class: "grid-table", id: "trace-list" },
    h("thead", {}, h("tr", {}, h("th", { title: "Pick two to compare" }, "⇄"), ["Root", "Duration", "Spans", "Errors", "Services", "Start"]
      .map(t => h("th", {}, t)))),
    h("tbody", {}, traces.map((t, i) => h("tr", { "data-trace-id": t.trace_id, class: t.error_count ? "has-error" : "" },
      h("td", { class: "pick-cell" }, boxes[i]),
      h("td", {}, h("a", { href: `/trace/${t.trace_id}` },
        h("span", { class: "svc", style: { "--svc": serviceColour(t.root_service) } }, t.root_service),
        " ", h("strong", {}, t.root_operation)),
        h("div", { class: "mono muted small" }, t.trace_id,
          (t.estimated_count ?? 1) > 1.5 ? h("span", { class: "weight", title: "this stored trace stands for this many traces after sampling" },
            ` · ×${fmtCount(t.estimated_count)} est.`) : "")),
      h("td", { class: "num" }, fmtMs(t.duration_ms)),
      h("td", { class: "num" }, t.span_count),
      h("td", { class: "num" + (t.error_count ? " err" : "") }, t.error_count),
      h("td", {}, (t.services || []).map(s => h("span", { class: "chip", style: { "--svc": serviceColour(s) } }, s))),
      h("td", { class: "nowrap" }, fmtTime(t.start))))));
  update();
  return h("div", { class: "trace-list-box" }, h("p", { class: "pick-bar" }, diff, " ", hint), table);
}
