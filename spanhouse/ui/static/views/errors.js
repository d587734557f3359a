// Errors by service: where errors start (origin) and where they are only passed on (propagates).
import { h, api, pageParams, navigate, urlWith, fmtPct, serviceColour, rangeControl, windowParams,
         errorBox, emptyState, NO_TRACES_HINT } from "../lib.js";

const ROLE_TEXT = { origin: "origin", propagates: "propagates", both: "origin + propagates" };

export async function mount(app) {
  const params = pageParams();
  const range = rangeControl(params);
  const form = h("form", { class: "filters" }, h("p", { class: "form-title" }, "Errors by service"), range.el,
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Show")));
  form.addEventListener("submit", e => { e.preventDefault(); navigate(urlWith("/errors", range.values())); });
  const out = h("section", { class: "results" }, h("p", { class: "muted" }, "Loading…"));
  app.append(form, out);
  let body;
  try { body = await api("/api/v1/errors", windowParams(params)); }
  catch (err) { out.replaceChildren(errorBox(err)); return; }
  const rows = body.data || [];
  if (!rows.length) {
    out.replaceChildren(emptyState("No errors in this window", "Good news — or " + NO_TRACES_HINT.toLowerCase()));
    return;
  }
  const win = windowParams(params);
  out.replaceChildren(
    h("p", { class: "muted small" }, "Origin: the service's error spans have no failing child, so the error starts there. ",
      "Propagates: it only passes on the errors of services it calls. Rates are estimated from sampling weights."),
    h("table", { class: "grid-table", id: "errors-table" },
      h("thead", {}, h("tr", {}, ["Service", "Role", "Error spans", "Error traces", "Requests", "Error rate",
        "Est. error rate", "Top messages", "Top operations", ""].map(t => h("th", {}, t)))),
      h("tbody", {}, rows.map(r => h("tr", { "data-service": r.service, "data-role": r.role },
        h("td", {}, h("span", { class: "svc", style: { "--svc": serviceColour(r.service) } }, r.service)),
        h("td", {}, h("span", { class: `role role-${r.role}` }, ROLE_TEXT[r.role] || r.role)),
        h("td", { class: "num" }, r.error_spans, r.origin_spans && r.origin_spans !== r.error_spans
          ? h("span", { class: "muted small" }, ` (${r.origin_spans} origin)`) : ""),
        h("td", { class: "num" }, r.error_traces),
        h("td", { class: "num" }, r.requests),
        h("td", { class: "num" }, rateBar(r.error_rate)),
        h("td", { class: "num" }, fmtPct(r.estimated_error_rate, 1)),
        h("td", {}, (r.top_messages || []).map(m => h("div", { class: "small" }, `${m.message || "(no message)"} `,
          h("span", { class: "muted" }, `×${m.count}`)))),
        h("td", {}, (r.top_operations || []).map(m => h("div", { class: "small" }, `${m.operation} `,
          h("span", { class: "muted" }, `×${m.count}`)))),
        h("td", {}, h("a", { href: urlWith("/search", { service: r.service, status: "error", ...win, sort: "slowest" }) },
          "traces →")))))));
}

function rateBar(rate) {
  return h("span", { class: "rate" }, h("span", { class: "rate-bar" }, h("span", { style: { width: fmtPct(Math.min(rate, 1)) } })),
           " ", fmtPct(rate, 1));
}
