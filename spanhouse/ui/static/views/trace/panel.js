// The span panel: everything about the selected span.
import { h, fmtMs, fmtPct } from "../../lib.js";
import { isError, exceptionOf, spanTarget } from "./model.js";

export function kv(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h("p", { class: "muted small" }, "none");
  return h("table", { class: "kv" }, h("tbody", {}, entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v))))));
}

export function row(label, value) {
  return h("tr", {}, h("th", {}, label), h("td", {}, value));
}

export function spanPanel(v, i) {
  const m = v.m, s = m.spans[i];
  const bnInfo = v.bnSelf?.get(s.span_id);
  const selfMs = bnInfo?.self_time_ms ?? m.selfNs[i] / 1e6;
  const parent = m.parent[i] >= 0 ? m.spans[m.parent[i]] : null;
  const target = spanTarget(s);
  const exc = exceptionOf(s);
  const link = (j, text) => h("a", { href: "#", onclick: e => { e.preventDefault(); v.select(j, { push: true }); } }, text);
  // h() drops null children: replaceChildren() would print them as "null"
  return h("div", {},
    h("h2", {}, h("span", { class: "dot", style: { background: v.colour(s.service) } }), " ", s.name),
    target ? h("p", { class: "span-target mono" }, target) : null,
    i === v.bottleneckIdx ? h("p", { class: "bn-note" }, `This is your bottleneck: ${fmtPct(v.bnShare)} of the request.`) : null,
    i === v.originIdx ? h("p", { class: "origin-note" }, "The error starts here: no span it calls failed.") : null,
    h("table", { class: "kv facts-table" }, h("tbody", {},
      row("Service", s.service), row("Kind", s.kind),
      row("Status", h("span", { class: isError(s) ? "err" : "" },
                      s.status.code + (s.status.message ? `: ${s.status.message}` : ""))),
      exc ? row("Exception", h("span", { class: "err" }, [exc.type, exc.message].filter(Boolean).join(": "))) : null,
      row("Duration", fmtMs(s.duration_ms)), row("Self time", fmtMs(selfMs)),
      bnInfo ? row("On critical path", `${fmtMs(bnInfo.critical_path_ms)} (${fmtPct(bnInfo.share, 1)})`) : null,
      row("Starts at", `+${fmtMs(m.rel[i] / 1e6)}`),
      row("Span ID", h("span", { class: "mono" }, s.span_id)),
      row("Parent", parent ? link(m.parent[i], `${parent.service} ${parent.name}`)
                           : (s.parent_span_id ? h("span", { class: "mono" }, `${s.parent_span_id} (missing)`) : "root")),
      row("Scope", `${s.scope.name}${s.scope.version ? " " + s.scope.version : ""}`),
      s.sampling_policy ? row("Sampled by", `${s.sampling_policy} (stands for ${s.adjusted_count} spans)`) : null)),
    h("h3", {}, "Attributes"), h("div", { id: "span-attributes" }, kv(s.attributes)),
    h("h3", {}, `Events (${s.events.length})`),
    s.events.length ? h("ul", { class: "events" }, s.events.map(ev => h("li", {},
      h("span", { class: "mono small" }, `+${fmtMs((ev.time_ns - m.t0) / 1e6)}`), " ", h("strong", {}, ev.name),
      kv(ev.attributes)))) : h("p", { class: "muted small" }, "none"),
    h("h3", {}, `Links (${s.links.length})`),
    s.links.length ? h("ul", { class: "links" }, s.links.map(l => h("li", {},
      h("a", { href: `/trace/${l.trace_id}`, class: "mono" }, `${l.trace_id.slice(0, 16)}… / ${l.span_id}`),
      kv(l.attributes)))) : h("p", { class: "muted small" }, "none"),
    h("h3", {}, "Resource"), kv(s.resource_attributes));
}
