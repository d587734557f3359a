// Compare: attribute values over-represented in slow or failing traces. Trace counts and shares
// are estimates (traces weighted by their sampling AdjustedCount); stored counts come second.
import { h, api, pageParams, navigate, urlWith, fmtPct, rangeControl, windowParams, errorBox,
         emptyState } from "../lib.js";
import { fmtCount } from "./charts.js";
import { catalogPickers } from "./pickers.js";

const KIND_TEXT = { status_message: "status message", "exception.type": "exception" };

export async function mount(app) {
  document.title = "Compare · Spanhouse";
  const params = pageParams();
  const range = rangeControl(params);
  const where = h("input", { name: "where", value: params.where || "duration>p95", size: 16, "aria-label": "Where",
                             placeholder: "duration>p95, duration>1.5s, error", list: "where-forms" });
  const forms = h("datalist", { id: "where-forms" },
    ["duration>p95", "duration>p99", "duration>p50", "duration>1s", "error"].map(v => h("option", { value: v })));
  const { services, operations } = catalogPickers({ service: params.service || "", operation: params.operation || "",
                                                    spanKind: "server" });
  const form = h("form", { class: "filters", id: "compare-form" }, h("p", { class: "form-title" }, "What is different about…"),
    h("label", { class: "field" }, h("span", {}, "Selection"), where, forms),
    h("label", { class: "field" }, h("span", {}, "Root service"), services),
    h("label", { class: "field" }, h("span", {}, "Root operation"), operations), range.el,
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Compare")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    navigate(urlWith("/compare", { where: where.value.trim(), service: services.value,
                                   operation: operations.value, ...range.values() }));
  });
  const out = h("section", { class: "results" });
  app.append(form, out);
  if (!params.where) {
    out.append(emptyState("Choose a selection to compare against the rest of the window",
      "duration>p95 (the slowest 5%), duration>1.5s, or error."));
    return;
  }
  out.append(h("p", { class: "muted" }, "Comparing…"));
  let body;
  try {
    body = await api("/api/v1/compare", { where: params.where, service: params.service,
                                          operation: params.operation, ...windowParams(params) });
  } catch (err) { out.replaceChildren(errorBox(err)); return; }
  const d = body.data;
  const traces = g => g.estimated_traces ?? g.traces;
  out.replaceChildren(h("p", { id: "compare-headline" }, h("strong", {}, d.selection.description), ": ",
    h("span", { "data-testid": "selection-traces" }, `est. ${fmtCount(traces(d.selection))} traces`),
    ` against est. ${fmtCount(traces(d.baseline))} others`,
    h("span", { class: "muted small" }, ` · stored: ${d.selection.traces} against ${d.baseline.traces}`,
      d.sampled ? " (attributes counted over a sample)" : "")));
  if (!d.attributes.length) {
    out.append(emptyState("Nothing stands out",
      d.selection.traces ? "No attribute value is over-represented in the selection." : "The selection is empty in this window."));
    return;
  }
  out.append(h("table", { class: "grid-table", id: "compare-table" },
    h("thead", {}, h("tr", {}, ["Attribute", "Value", "In selection (est.)", "In the rest (est.)", "Lift", "Stored traces", ""]
      .map(t => h("th", {}, t)))),
    h("tbody", {}, d.attributes.map(a => h("tr", { class: a.signal === "low" ? "low-signal" : "", "data-key": a.key },
      h("td", { class: "mono" }, a.key, a.kind && KIND_TEXT[a.kind] ? h("div", { class: "chip-kind" }, KIND_TEXT[a.kind]) : "",
        a.merged_keys?.length > 1 ? h("div", { class: "muted small" }, `also ${a.merged_keys.filter(k => k !== a.key).join(", ")}`) : ""),
      h("td", {}, a.value),
      h("td", { class: "num" }, shareBar(a.share_selection), countText(a.count_selection)),
      h("td", { class: "num" }, shareBar(a.share_baseline), countText(a.count_baseline)),
      h("td", { class: "num" }, a.lift === null ? "only here" : `×${a.lift.toFixed(1)}`),
      h("td", { class: "num muted small" }, a.traces_selection !== undefined ? `${a.traces_selection} / ${a.traces_baseline}` : "–"),
      h("td", {}, h("a", { href: searchUrl(a, params) }, "traces →")))))),
  h("p", { class: "muted small" }, "Shares and counts weight each trace by its sampling count; stored traces: selection / rest."));
}

// The traces behind a row: an attribute is a search filter; a status message or an exception
// type (not searchable attributes) leads to the failing traces.
function searchUrl(a, params) {
  const filter = a.kind && a.kind !== "attribute" ? { status: "error" } : { attr: `${a.key}=${a.value}` };
  return urlWith("/search", { ...filter, ...windowParams(params), sort: "slowest" });
}

function countText(x) {
  return x === undefined ? "" : h("div", { class: "muted small" }, `${fmtCount(x)} trace${Math.abs(x - 1) < 0.05 ? "" : "s"}`);
}

function shareBar(x) {
  return h("span", { class: "rate" }, h("span", { class: "rate-bar" }, h("span", { style: { width: fmtPct(x) } })), " ", fmtPct(x, 1));
}
