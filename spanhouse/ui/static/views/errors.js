// Errors by service: where errors start (origin) and where they are only passed on (propagates).
// Every figure is the estimate (spans weighted by their sampling AdjustedCount) first; the raw
// stored counts come second, labelled "stored".
import { h, api, pageParams, navigate, urlWith, fmtPct, serviceColour, rangeControl, windowParams,
         errorBox, emptyState, NO_TRACES_HINT } from "../lib.js";
import { fmtCount, stackedBars } from "./charts.js";

const ROLE_TEXT = { origin: "origin", propagates: "propagates", both: "origin + propagates" };
const ROLE_ORDER = { origin: 0, both: 1, propagates: 2 };

// The estimate when the API gives one, else the stored figure (an older server).
const est = (r, key, stored) => r[key] ?? r[stored];

export async function mount(app) {
  document.title = "Errors · Spanhouse";
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
  const rows = [...(body.data || [])].sort((a, b) =>
    (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3)
    || est(b, "estimated_error_spans", "error_spans") - est(a, "estimated_error_spans", "error_spans")
    || a.service.localeCompare(b.service));
  if (!rows.length) {
    out.replaceChildren(emptyState("No errors in this window", "Good news — or " + NO_TRACES_HINT.toLowerCase()));
    return;
  }
  out.replaceChildren(...[
    h("p", { class: "muted small" }, "Origin: the service's error spans have no failing child, so the error starts there. ",
      "Propagates: it only passes on the errors of services it calls. ",
      h("strong", {}, "est."), " figures are estimates: each stored span counts for the spans sampling dropped beside it; ",
      "“stored” figures count only the spans kept."),
    overTime(rows, rows[0].series_step_ms),
    table(rows, windowParams(params))].filter(Boolean));
}

// The failing requests of the origin services over time, stacked (the propagating services
// pass on the same failures, so stacking them would count a failure twice).
function overTime(rows, step) {
  if (!rows[0].series?.length || !step) return null;
  const starts = rows[0].series.map(b => b.t_ns !== undefined ? b.t_ns / 1e6 : Date.parse(b.t));
  const origins = rows.filter(r => r.role !== "propagates");
  const stacks = (origins.length ? origins : rows).map(r => {
    const requests = r.series.map(b => b.errors || 0);
    const values = requests.some(v => v > 0) ? requests : r.series.map(b => b.error_spans || 0);
    return { name: r.service, colour: serviceColour(r.service), values };
  });
  return h("figure", { class: "chart", id: "errors-over-time" },
    stackedBars({ id: "errors-chart", starts, step, stacks, what: "failing requests" }),
    h("figcaption", { class: "muted" }, `failing requests over time (est.), per ${stepText(step)}, by origin service: `,
      stacks.map(s => h("span", { class: "legend-item" }, h("span", { class: "dot", style: { background: s.colour } }), " ", s.name))));
}

function stepText(ms) {
  if (ms % 3600000 === 0) return `${ms / 3600000} h`;
  if (ms % 60000 === 0) return `${ms / 60000} min`;
  return `${ms / 1000} s`;
}

function table(rows, win) {
  return h("table", { class: "grid-table", id: "errors-table" },
    h("thead", {}, h("tr", {}, ["Service", "Role", "Error rate (est.)", "Failing requests (est.)", "Requests (est.)",
      "Stored", "Top messages", "Top operations", ""].map(t => h("th", {}, t)))),
    h("tbody", {}, rows.map(r => {
      const rate = est(r, "estimated_error_rate", "error_rate");
      return h("tr", { "data-service": r.service, "data-role": r.role },
        h("td", {}, h("span", { class: "svc", style: { "--svc": serviceColour(r.service) } }, r.service)),
        h("td", {}, h("span", { class: `role role-${r.role}` }, ROLE_TEXT[r.role] || r.role)),
        h("td", { class: "num headline" }, rateBar(rate)),
        h("td", { class: "num", "data-testid": "error-requests" },
          fmtCount(r.estimated_error_requests ?? est(r, "estimated_error_spans", "error_spans"))),
        h("td", { class: "num", "data-testid": "requests" }, fmtCount(est(r, "estimated_requests", "requests"))),
        h("td", { class: "stored small muted", "data-testid": "stored" },
          h("div", {}, `${r.error_spans} error span${r.error_spans === 1 ? "" : "s"}`,
            r.origin_spans && r.origin_spans !== r.error_spans ? ` (${r.origin_spans} origin)` : ""),
          h("div", {}, `${r.error_traces} trace${r.error_traces === 1 ? "" : "s"} · ${r.requests} requests`),
          h("div", {}, `rate ${fmtPct(r.error_rate, 1)} stored`)),
        h("td", {}, (r.top_messages || []).map(m => h("div", { class: "small" }, `${m.message || "(no message)"} `,
          h("span", { class: "muted" }, `×${fmtCount(m.estimated_count ?? m.count)}`)))),
        h("td", {}, (r.top_operations || []).map(m => h("div", { class: "small", title: m.operation },
          m.label || m.operation, " ", h("span", { class: "muted" }, `×${fmtCount(m.estimated_count ?? m.count)}`)))),
        h("td", {}, h("a", { href: urlWith("/search", { service: r.service, status: "error", ...win, sort: "slowest" }) },
          "traces →")));
    })));
}

function rateBar(rate) {
  return h("span", { class: "rate" }, h("span", { class: "rate-bar" }, h("span", { style: { width: fmtPct(Math.min(rate, 1)) } })),
           " ", h("span", { "data-testid": "error-rate" }, fmtPct(rate, 1)));
}
