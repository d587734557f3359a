// Per-service and per-operation statistics of one trace, and a sortable table of its spans.
import { h, fmtMs, fmtPct } from "../../lib.js";
import { isError } from "./model.js";

export function statsSection(v) {
  const m = v.m, groups = new Map(), services = new Map();
  const add = (map, key, i) => {
    const s = m.spans[i];
    const g = map.get(key) || { key, count: 0, errors: 0, total: 0, self: 0, max: 0 };
    g.count++; g.errors += isError(s) ? 1 : 0; g.total += s.duration_ns;
    g.self += m.selfNs[i]; g.max = Math.max(g.max, s.duration_ns);
    map.set(key, g);
  };
  m.spans.forEach((s, i) => { add(groups, `${s.service}\u0000${s.name}`, i); add(services, s.service, i); });
  const table = (map, id, split) => h("div", { class: "table-scroll" }, h("table", { class: "grid-table stats", id },
    h("thead", {}, h("tr", {}, [...(split ? ["Service", "Operation"] : ["Service"]), "Spans", "Errors",
      "Total", "Self time", "Avg", "Max", "Critical path"].map(t => h("th", {}, t)))),
    h("tbody", {}, [...map.values()].sort((a, b) => b.self - a.self).map(g => {
      const [svc, op] = g.key.split("\u0000");
      return h("tr", { "data-key": g.key },
        h("td", { class: "nowrap" }, h("span", { class: "dot", style: { background: v.colour(svc) } }), " ", svc),
        split ? h("td", {}, op) : null,
        h("td", { class: "num" }, g.count), h("td", { class: "num" + (g.errors ? " err" : "") }, g.errors),
        h("td", { class: "num" }, fmtMs(g.total / 1e6)), h("td", { class: "num" }, fmtMs(g.self / 1e6)),
        h("td", { class: "num" }, fmtMs(g.total / g.count / 1e6)), h("td", { class: "num" }, fmtMs(g.max / 1e6)),
        h("td", { class: "num cp-cell" }, "…"));
    }))));
  v.statsEl = h("section", { class: "stats-section" },
    h("h2", {}, "Statistics"),
    h("div", { class: "stats-grid" },
      h("div", {}, h("h3", {}, "By service"), table(services, "stats-services", false)),
      h("div", {}, h("h3", {}, "By operation"), table(groups, "stats-operations", true))));
  return v.statsEl;
}

export function fillCriticalStats(v) {
  const byKey = new Map();
  for (const s of v.bn?.spans || []) {
    for (const key of [`${s.service}\u0000${s.operation}`, s.service]) {
      byKey.set(key, (byKey.get(key) || 0) + (s.critical_path_ms || 0));
    }
  }
  v.statsEl.querySelectorAll("tr[data-key]").forEach(tr => {
    const ms = byKey.get(tr.dataset.key) || 0;
    tr.querySelector(".cp-cell").textContent = ms ? `${fmtMs(ms)} (${fmtPct(ms / (v.bn.duration_ms || 1))})` : "–";
  });
}

const COLUMNS = [
  ["service", "Service", (m, i) => m.spans[i].service],
  ["name", "Operation", (m, i) => m.spans[i].name],
  ["duration", "Duration", (m, i) => m.spans[i].duration_ns],
  ["self", "Self time", (m, i) => m.selfNs[i]],
  ["start", "Start", (m, i) => m.rel[i]],
];
const LIMIT = 1000;

// The span table: every span (the first 1,000 of the order chosen), sortable by each column.
export function spanTable(v, sort = { key: "duration", desc: true }) {
  const m = v.m;
  const [, , get] = COLUMNS.find(c => c[0] === sort.key);
  const idx = m.order.slice().sort((a, b) => {
    const x = get(m, a), y = get(m, b);
    const c = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sort.desc ? -c : c;
  });
  const render = key => () => {
    const next = { key, desc: sort.key === key ? !sort.desc : key !== "service" && key !== "name" && key !== "start" };
    v.tableEl.replaceWith(spanTable(v, next));
  };
  v.tableEl = h("div", { class: "span-table-wrap table-scroll" },
    h("table", { class: "grid-table span-table", id: "span-table", "data-sort": `${sort.key} ${sort.desc ? "desc" : "asc"}` },
      h("thead", {}, h("tr", {}, COLUMNS.map(([key, label]) => h("th", { "data-col": key,
        "aria-sort": sort.key === key ? (sort.desc ? "descending" : "ascending") : null },
        h("button", { type: "button", class: "sort", onclick: render(key) },
          label, sort.key === key ? (sort.desc ? " ↓" : " ↑") : ""))))),
      h("tbody", {}, idx.slice(0, LIMIT).map(i => {
        const s = m.spans[i];
        return h("tr", { "data-span-id": s.span_id, class: isError(s) ? "has-error" : null,
                         onclick: () => { v.showTab("waterfall"); v.select(i, { push: true }); } },
          h("td", { class: "nowrap" }, h("span", { class: "dot", style: { background: v.colour(s.service) } }), " ", s.service),
          h("td", {}, s.name), h("td", { class: "num" }, fmtMs(s.duration_ns / 1e6)),
          h("td", { class: "num" }, fmtMs(m.selfNs[i] / 1e6)), h("td", { class: "num" }, `+${fmtMs(m.rel[i] / 1e6)}`));
      }))),
    idx.length > LIMIT ? h("p", { class: "muted small" }, `The first ${LIMIT} of ${idx.length} spans in this order.`) : null);
  return v.tableEl;
}
