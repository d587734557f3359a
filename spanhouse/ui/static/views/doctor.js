// The trace doctor: instrumentation mistakes, each with the fix and example traces.
import { h, api, pageParams, navigate, urlWith, fmtPct, fmtTime, rangeControl, windowParams, errorBox,
         emptyState, traceLink } from "../lib.js";
import { fmtCount } from "./charts.js";

export async function mount(app) {
  document.title = "Doctor · Spanhouse";
  const params = pageParams();
  const range = rangeControl(params);
  const keys = h("input", { name: "key", value: (params.key || []).join(" "), placeholder: "user.id order.id tenant.id",
                            "aria-label": "Business keys", size: 28 });
  const form = h("form", { class: "filters" }, h("p", { class: "form-title" }, "Trace doctor"), range.el,
    h("label", { class: "field" }, h("span", {}, "Business keys"), keys),
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Examine")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    navigate(urlWith("/doctor", { ...range.values(), key: keys.value.split(/[\s,]+/).filter(Boolean) }));
  });
  const out = h("section", { class: "results" }, h("p", { class: "muted" }, "Examining…"));
  app.append(form, out);
  let body;
  try { body = await api("/api/v1/doctor", { ...windowParams(params), key: params.key }); }
  catch (err) { out.replaceChildren(errorBox(err)); return; }
  const d = body.data;
  const s = d.sampling || {};
  out.replaceChildren(...[checked(d),
    h("p", { class: "muted small", "data-testid": "doctor-volume" },
      `est. ${fmtCount(s.estimated_spans ?? s.spans ?? 0)} spans in the window · ${fmtCount(s.spans ?? 0)} stored`,
      s.rate !== undefined ? ` · sampling keeps ${fmtPct(s.rate, 1)}` : "",
      d.elapsed_ms !== undefined ? ` · examined in ${Math.round(d.elapsed_ms)} ms` : "")].filter(Boolean));
  if (!s.spans) { out.append(emptyState("No traces in this window", "Is your exporter pointing at :4317?")); return; }
  if (!d.findings.length) { out.append(emptyState("No findings", "The instrumentation looks healthy in this window.")); return; }
  out.append(h("div", { class: "findings", id: "findings" }, d.findings.map(f =>
    h("article", { class: `finding sev-${f.severity}`, "data-code": f.code },
      h("header", {}, h("span", { class: `sev sev-${f.severity}` }, f.severity), " ", h("strong", {}, f.title),
        h("span", { class: "muted small" }, ` · ${f.code} · `), ...findingCount(f)),
      f.services?.length ? h("p", { class: "small" }, h("span", { class: "muted" }, "Services: "), f.services.join(", ")) : null,
      h("p", { class: "fix" }, h("span", { class: "muted" }, "Fix: "), f.fix),
      f.examples?.length ? h("p", { class: "small examples" }, h("span", { class: "muted" }, "Examples: "),
        [...new Set(f.examples)].slice(0, 5).map(id => [traceLink(id), " "])) : null))));
}

// A finding's count: the estimate under sampling (weighted by AdjustedCount) first, what is
// stored second (an older server sends no estimate: the stored count stands for it).
function findingCount(f) {
  return [h("strong", { class: "small", "data-testid": "finding-count",
                        title: "estimated under sampling (each stored span stands for its AdjustedCount)" },
            `est. ${fmtCount(f.estimated_count ?? f.count)}`),
          h("span", { class: "muted small", "data-testid": "finding-stored" }, ` · stored ${fmtCount(f.count)}`)];
}

// Which span of time was examined: the newest spans wait (their children may still arrive).
function checked(d) {
  const w = d.checked_window;
  if (!w) return null;
  const covered = d.covered_seconds;
  return h("p", { class: "checked-window", id: "checked-window" },
    h("span", { class: "muted" }, "Checked: "), h("strong", {}, `${fmtTime(w.start)} – ${fmtTime(w.end)}`),
    covered !== undefined && covered !== null ? h("span", { class: "muted" }, ` (spans cover ${coveredText(covered)})`) : "",
    w.note ? h("span", { class: "muted small" }, ` · ${w.note.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, fmtTime)}`) : "");
}

function coveredText(s) {
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s)} s`;
}
