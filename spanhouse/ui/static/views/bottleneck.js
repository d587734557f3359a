// The aggregate bottleneck of an endpoint: which operations hold its critical path.
import { h, api, pageParams, navigate, urlWith, fmtPct, fmtMs, rangeControl, windowParams, errorBox,
         emptyState } from "../lib.js";

export async function mount(app) {
  const params = pageParams();
  const range = rangeControl(params);
  const endpoint = h("input", { name: "endpoint", value: params.endpoint || "", size: 32, list: "endpoints",
                                placeholder: "api-gateway GET /checkout", "aria-label": "Endpoint" });
  const options = h("datalist", { id: "endpoints" });
  const form = h("form", { class: "filters" }, h("p", { class: "form-title" }, "Bottlenecks of an endpoint"),
    h("label", { class: "field" }, h("span", {}, "Endpoint (service operation)"), endpoint, options), range.el,
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Analyse")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    navigate(urlWith("/bottleneck", { endpoint: endpoint.value.trim(), ...range.values() }));
  });
  // suggest root endpoints seen recently
  api("/api/v1/search", { since: "1h", limit: 200 }).then(b => {
    for (const e of new Set((b.data || []).map(t => `${t.root_service} ${t.root_operation}`))) options.append(h("option", { value: e }));
  }).catch(() => {});
  const out = h("section", { class: "results" });
  app.append(form, out);
  if (!params.endpoint && !params.service) {
    out.append(emptyState("Choose an endpoint", "A root service and operation, e.g. “api-gateway GET /checkout”."));
    return;
  }
  out.append(h("p", { class: "muted" }, "Analysing…"));
  let body;
  try {
    body = await api("/api/v1/bottleneck", { endpoint: params.endpoint, service: params.service,
                                             operation: params.operation, ...windowParams(params) });
  } catch (err) { out.replaceChildren(errorBox(err)); return; }
  const d = body.data;
  const w = d.window, p = d.previous_window;
  out.replaceChildren(h("p", {}, h("strong", {}, `${d.service} ${d.operation}`), `: ${w.traces} traces, median ${fmtMs(w.median_duration_ms)}`,
    h("span", { class: "muted" }, ` · previous window: ${p.traces} traces, median ${fmtMs(p.median_duration_ms)}`),
    w.capped ? h("span", { class: "muted" }, ` (first ${d.max_traces} of ${w.total_traces})`) : ""));
  if (!d.operations.length) {
    out.append(emptyState("No traces of this endpoint in this window", "Check the service and operation names."));
    return;
  }
  out.append(h("table", { class: "grid-table", id: "endpoint-bottleneck" },
    h("thead", {}, h("tr", {}, ["Service", "Operation", "Median", "p95", "Share", "Traces on path", "Previous", "Change"]
      .map(t => h("th", {}, t)))),
    h("tbody", {}, d.operations.map((o, k) => h("tr", { class: k === 0 ? "top" : "" },
      h("td", {}, o.service), h("td", {}, o.operation, k === 0 ? h("span", { class: "bn-badge" }, "bottleneck") : ""),
      h("td", { class: "num" }, fmtMs(o.median_ms)), h("td", { class: "num" }, fmtMs(o.p95_ms)),
      h("td", { class: "num" }, h("span", { class: "rate" }, h("span", { class: "rate-bar" }, h("span", { style: { width: fmtPct(o.share) } })),
        " ", fmtPct(o.share))),
      h("td", { class: "num" }, o.traces_on_path),
      h("td", { class: "num" }, o.previous ? fmtMs(o.previous.median_ms) : "–"),
      h("td", { class: "num" }, changeText(o.change)))))));
}

function changeText(c) {
  if (!c) return "–";
  const up = c.median_ms > 0;
  const ratio = c.median_ratio === null ? "" : ` (${up ? "+" : ""}${fmtPct(c.median_ratio)})`;
  return h("span", { class: up ? "err" : "" }, `${up ? "+" : c.median_ms < 0 ? "−" : ""}${fmtMs(Math.abs(c.median_ms))}${ratio}`);
}
