// The aggregate bottleneck of an endpoint: which operations hold its critical path. Traces and
// durations are estimates (root spans weighted by their sampling AdjustedCount); the stored
// figures follow, labelled "stored".
import { h, api, pageParams, navigate, urlWith, fmtPct, fmtMs, rangeControl, windowParams, errorBox,
         emptyState } from "../lib.js";
import { fmtCount } from "./charts.js";
import { catalogPickers } from "./pickers.js";

export async function mount(app) {
  document.title = "Bottlenecks · Spanhouse";
  const params = pageParams();
  const range = rangeControl(params);
  // the endpoint of the URL ("service operation") preselects the pickers
  const [svc, ...op] = (params.endpoint || "").trim().split(" ");
  const { services, operations } = catalogPickers({ service: params.service || svc || "",
    operation: params.operation || op.join(" "), spanKind: "server", anyService: "pick a service",
    anyOperation: "pick an operation" });
  const form = h("form", { class: "filters", id: "bottleneck-form" }, h("p", { class: "form-title" }, "Bottlenecks of an endpoint"),
    h("label", { class: "field" }, h("span", {}, "Service"), services),
    h("label", { class: "field" }, h("span", {}, "Endpoint operation"), operations), range.el,
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Analyse")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    const endpoint = services.value && operations.value ? `${services.value} ${operations.value}` : "";
    navigate(urlWith("/bottleneck", { endpoint, ...range.values() }));
  });
  const out = h("section", { class: "results" });
  app.append(form, out);
  if (!params.endpoint && !params.service) {
    out.append(emptyState("Choose an endpoint", "A service and one of its entry operations, e.g. api-gateway and “GET /checkout”."));
    return;
  }
  out.append(h("p", { class: "muted" }, "Analysing…"));
  let body;
  try {
    body = await api("/api/v1/bottleneck", { endpoint: params.endpoint, service: params.service,
                                             operation: params.operation, ...windowParams(params) });
  } catch (err) { out.replaceChildren(errorBox(err)); return; }
  const d = body.data;
  out.replaceChildren(headline(d));
  if (!d.operations.length) {
    out.append(emptyState("No traces of this endpoint in this window", "Check the service and operation names."));
    return;
  }
  out.append(h("table", { class: "grid-table", id: "endpoint-bottleneck" },
    h("thead", {}, h("tr", {}, ["Service", "Operation", "Median (est.)", "p95 (est.)", "Share", "Traces on path (est.)",
                                "Previous", "Change"].map(t => h("th", {}, t)))),
    h("tbody", {}, d.operations.map((o, k) => h("tr", { class: k === 0 ? "top" : "" },
      h("td", {}, o.service), h("td", {}, o.operation, k === 0 ? h("span", { class: "bn-badge" }, "bottleneck") : ""),
      h("td", { class: "num" }, fmtMs(o.median_ms)), h("td", { class: "num" }, fmtMs(o.p95_ms)),
      h("td", { class: "num" }, h("span", { class: "rate" }, h("span", { class: "rate-bar" }, h("span", { style: { width: fmtPct(o.share) } })),
        " ", fmtPct(o.share))),
      h("td", { class: "num" }, o.estimated_traces_on_path !== undefined
        ? [fmtCount(o.estimated_traces_on_path), h("span", { class: "muted small" }, ` (${o.traces_on_path} stored)`)]
        : o.traces_on_path),
      h("td", { class: "num" }, o.previous ? fmtMs(o.previous.median_ms) : "–"),
      h("td", { class: "num" }, changeText(o.change)))))));
}

// "est. 1,101 traces · median 133 ms · p95 1.21 s", then the stored figures and the previous window.
function headline(d) {
  const w = d.window, p = d.previous_window;
  const estimated = w.estimated_traces !== undefined;
  const traces = win => estimated ? fmtCount(win.estimated_traces) : win.traces;
  return h("div", { class: "bn-headline", id: "endpoint-headline" },
    h("p", {}, h("strong", {}, `${d.service} ${d.operation}`), ": ",
      h("span", { "data-testid": "endpoint-traces" }, `${estimated ? "est. " : ""}${traces(w)} traces`),
      " · median ", h("strong", { "data-testid": "endpoint-median" }, fmtMs(w.median_duration_ms)),
      w.p95_duration_ms !== undefined ? ` · p95 ${fmtMs(w.p95_duration_ms)}` : "",
      w.p99_duration_ms !== undefined ? ` · p99 ${fmtMs(w.p99_duration_ms)}` : "",
      estimated ? h("span", { class: "muted small" }, " (estimated: traces weighted by their sampling count)") : ""),
    h("p", { class: "muted small" },
      estimated ? `stored: ${w.stored_traces ?? w.traces} traces, median ${fmtMs(w.stored_median_duration_ms)} · ` : "",
      (p.estimated_traces ?? p.traces) ? `previous window: ${estimated ? "est. " : ""}${traces(p)} traces, median ${fmtMs(p.median_duration_ms)}`
        : "previous window: no traces",
      w.capped ? ` · critical paths of the first ${d.max_traces} of ${w.total_traces} stored traces` : ""));
}

function changeText(c) {
  if (!c) return "–";
  const up = c.median_ms > 0;
  const ratio = c.median_ratio === null ? "" : ` (${up ? "+" : ""}${fmtPct(c.median_ratio)})`;
  return h("span", { class: up ? "err" : "" }, `${up ? "+" : c.median_ms < 0 ? "−" : ""}${fmtMs(Math.abs(c.median_ms))}${ratio}`);
}
