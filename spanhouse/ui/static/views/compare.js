// Compare: attribute values over-represented in slow or failing traces.
import { h, api, pageParams, navigate, urlWith, fmtPct, fmtMs, rangeControl, windowParams, errorBox,
         emptyState } from "../lib.js";

export async function mount(app) {
  const params = pageParams();
  const range = rangeControl(params);
  const where = h("input", { name: "where", value: params.where || "duration>p95", size: 16, "aria-label": "Where",
                             placeholder: "duration>p95, duration>1.5s, error" });
  const service = h("input", { name: "service", value: params.service || "", size: 14, "aria-label": "Service" });
  const operation = h("input", { name: "operation", value: params.operation || "", size: 14, "aria-label": "Operation" });
  const form = h("form", { class: "filters" }, h("p", { class: "form-title" }, "What is different about…"),
    h("label", { class: "field" }, h("span", {}, "Selection"), where),
    h("label", { class: "field" }, h("span", {}, "Service"), service),
    h("label", { class: "field" }, h("span", {}, "Operation"), operation), range.el,
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Compare")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    navigate(urlWith("/compare", { where: where.value.trim(), service: service.value.trim(),
                                   operation: operation.value.trim(), ...range.values() }));
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
  out.replaceChildren(h("p", {}, h("strong", {}, d.selection.description), ": ",
    `${d.selection.traces} traces against ${d.baseline.traces} others`,
    d.sampled ? h("span", { class: "muted" }, " (sampled)") : ""));
  if (!d.attributes.length) {
    out.append(emptyState("Nothing stands out",
      d.selection.traces ? "No attribute value is over-represented in the selection." : "The selection is empty in this window."));
    return;
  }
  out.append(h("table", { class: "grid-table", id: "compare-table" },
    h("thead", {}, h("tr", {}, ["Attribute", "Value", "In selection", "In the rest", "Lift", ""].map(t => h("th", {}, t)))),
    h("tbody", {}, d.attributes.map(a => h("tr", {},
      h("td", { class: "mono" }, a.key), h("td", {}, a.value),
      h("td", { class: "num" }, shareBar(a.share_selection)), h("td", { class: "num" }, shareBar(a.share_baseline)),
      h("td", { class: "num" }, a.lift === null ? "only here" : `×${a.lift.toFixed(1)}`),
      h("td", {}, h("a", { href: urlWith("/search", { attr: `${a.key}=${a.value}`, ...windowParams(params), sort: "slowest" }) },
        "traces →")))))));
}

function shareBar(x) {
  return h("span", { class: "rate" }, h("span", { class: "rate-bar" }, h("span", { style: { width: fmtPct(x) } })), " ", fmtPct(x, 1));
}
