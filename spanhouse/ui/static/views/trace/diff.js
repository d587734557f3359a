// Two traces side by side (/trace/A/vs/B, as Jaeger's trace diff): spans are matched by their
// path of service+operation from the root; each path's span count and total duration in A and in
// B, the differences highlighted (only in A, only in B, more or fewer calls, slower or faster).
import { h, api, fmtMs, fmtTime, serviceColours, errorBox, ApiError, emptyState } from "../../lib.js";
import { buildModel, servicesInOrder, isError } from "./model.js";

const SLOWER = 0.2;    // a path is marked slower or faster past ±20% (and 1 ms)

export async function mount(app, a, b) {
  document.title = `Trace ${String(a).slice(0, 8)} vs ${String(b).slice(0, 8)} · Spanhouse`;
  a = (a || "").toLowerCase(); b = (b || "").toLowerCase();
  app.append(h("p", { class: "muted" }, "Loading traces…"));
  let ta, tb;
  try {
    [ta, tb] = await Promise.all([a, b].map(id => api(`/api/v1/traces/${encodeURIComponent(id)}`).then(r => r.data)));
  } catch (err) {
    app.replaceChildren(err instanceof ApiError && err.status === 404
      ? emptyState("A trace to compare was not found", `${a} vs ${b}`) : errorBox(err));
    return;
  }
  const ma = buildModel(ta.spans), mb = buildModel(tb.spans);
  const colour = serviceColours([...servicesInOrder(ma), ...servicesInOrder(mb)]);
  const pa = paths(ma), pb = paths(mb);
  const keys = [...pa.keys(), ...[...pb.keys()].filter(k => !pa.has(k))];
  const counts = { onlyA: 0, onlyB: 0, calls: 0, slower: 0, faster: 0 };
  const rows = keys.map(k => {
    const x = pa.get(k), y = pb.get(k), g = x || y;
    const cls = [];
    if (!y) { cls.push("only-a"); counts.onlyA++; }
    else if (!x) { cls.push("only-b"); counts.onlyB++; }
    else if (x.count !== y.count) { cls.push("count-changed"); counts.calls++; }
    let delta = null, dcls = "";
    if (x && y) {
      delta = (y.total - x.total) / 1e6;
      if (Math.abs(delta) >= 1 && Math.abs(delta) > SLOWER * x.total / 1e6) {
        dcls = delta > 0 ? "worse" : "better";
        cls.push(delta > 0 ? "slower" : "faster");
        counts[delta > 0 ? "slower" : "faster"]++;
      }
    }
    const changed = cls.includes("count-changed");
    const num = v => h("td", { class: "num" + (changed ? " worse" : "") }, v ?? "–");
    return h("tr", { class: cls.join(" ") || null, "data-path": k },
      h("td", { class: "path", style: { paddingLeft: `${10 + g.depth * 14}px` } },
        h("span", { class: "dot", style: { background: colour(g.service) } }), " ",
        h("span", { class: "muted" }, g.service), " ", h("strong", {}, g.name),
        x?.errors || y?.errors ? h("span", { class: "err-mark" }, " ⚠") : null),
      num(x?.count), num(y?.count),
      h("td", { class: "num" }, x ? fmtMs(x.total / 1e6) : "–"), h("td", { class: "num" }, y ? fmtMs(y.total / 1e6) : "–"),
      h("td", { class: `num delta ${dcls}` }, delta === null ? "–" : `${delta < 0 ? "−" : "+"}${fmtMs(Math.abs(delta))}`));
  });
  const side = (t, label) => {
    const root = rootOf(t);
    return h("div", { id: `diff-${label.toLowerCase()}` },
      h("div", { class: "small muted" }, `Trace ${label}`),
      h("div", {}, h("span", { class: "svc", style: { "--svc": colour(root.service) } }, root.service), " ", h("strong", {}, root.name)),
      h("div", { class: "small" }, h("a", { href: `/trace/${t.trace_id}`, class: "mono" }, t.trace_id), " · ",
        fmtMs(t.duration_ms), ` · ${t.span_count} spans · `, h("span", { class: t.error_count ? "err" : "" }, `${t.error_count} errors`),
        " · ", fmtTime(t.start)));
  };
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  app.replaceChildren(
    h("h1", {}, "Compare two traces"),
    h("div", { class: "diff-head" }, side(ta, "A"), side(tb, "B")),
    h("p", { id: "diff-summary" },
      `B took ${fmtMs(tb.duration_ms)} against ${fmtMs(ta.duration_ms)} for A `,
      `(${tb.duration_ms >= ta.duration_ms ? "+" : "−"}${fmtMs(Math.abs(tb.duration_ms - ta.duration_ms))}); `,
      `${plural(counts.onlyA, "path")} only in A, ${counts.onlyB} only in B, `,
      `${counts.calls} with a different number of calls, ${counts.slower} slower and ${counts.faster} faster in B. `,
      h("a", { href: `/trace/${b}/vs/${a}`, id: "diff-swap" }, "Swap A and B")),
    h("div", { class: "diff-legend" }, h("span", { class: "l-a" }, "only in A"), h("span", { class: "l-b" }, "only in B"),
      h("span", { class: "l-worse" }, "slower in B / a different number of calls"), h("span", { class: "l-better" }, "faster in B")),
    h("div", { class: "table-scroll" }, h("table", { class: "grid-table diff-table", id: "diff-table" },
      h("thead", {}, h("tr", {}, ["Service · operation (path from the root)", "Spans A", "Spans B", "Time A", "Time B", "Δ time"]
        .map(t => h("th", {}, t)))),
      h("tbody", {}, rows))));
}

function rootOf(t) {
  const ids = new Set(t.spans.map(s => s.span_id));
  return t.spans.find(s => !s.parent_span_id || !ids.has(s.parent_span_id)) || t.spans[0] || { service: "", name: "" };
}

// path key -> {service, name, depth, count, total ns, errors}, in the trace's depth-first order
function paths(m) {
  const key = new Array(m.spans.length), out = new Map();
  for (const i of m.order) {
    const s = m.spans[i], p = m.parent[i];
    key[i] = (p >= 0 && key[p] !== undefined ? key[p] + "\u0001" : "") + `${s.service}\u0000${s.name}`;
    const g = out.get(key[i]) || { service: s.service, name: s.name, depth: m.depth[i], count: 0, total: 0, errors: 0 };
    g.count++; g.total += s.duration_ns; g.errors += isError(s) ? 1 : 0;
    out.set(key[i], g);
  }
  return out;
}
