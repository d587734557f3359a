// The trace view: the waterfall (virtualised rows on a common time axis), the critical path and
// the bottleneck from /api/v1/bottleneck/{id}, the span panel and per-service/operation stats.
import { h, api, fmtMs, fmtPct, fmtTime, serviceColour, errorBox, emptyState, ApiError } from "../lib.js";

const ROW = 24;        // px per waterfall row; fixed so rows can be virtualised
const OVERSCAN = 12;

export async function mount(app, { path }) {
  const traceId = (path[0] || "").toLowerCase();
  app.append(h("p", { class: "muted" }, "Loading trace ", h("span", { class: "mono" }, traceId), "…"));
  let body;
  try {
    const prefetch = window.spanhouseTracePrefetch;
    window.spanhouseTracePrefetch = null;   // only for the first view: later navigations fetch anew
    body = await api(`/api/v1/traces/${encodeURIComponent(traceId)}`, {},
                     prefetch?.id === traceId ? prefetch.response : null);
  } catch (err) {
    app.replaceChildren(err instanceof ApiError && err.status === 404
      ? emptyState(`Trace ${traceId} not found`,
                   "It may be outside the retention window, sampled away, or its spans are still arriving.")
      : errorBox(err));
    return;
  }
  const view = new TraceView(app, body.data);
  // asked after the trace, not beside it: both queries share the store, and the waterfall first
  api(`/api/v1/bottleneck/${encodeURIComponent(traceId)}`)
    .then(b => view.setBottleneck(b.data), () => view.setBottleneck(null));
  return () => view.destroy();
}

class TraceView {
  constructor(app, trace) {
    this.trace = trace;
    this.spans = trace.spans;
    this.buildModel();
    this.collapsed = new Set();
    this.selected = -1;
    this.matches = null;          // Set of span indexes matching the find box, or null
    this.cp = new Map();          // span index -> [[start, end] relative ns] on the critical path
    this.bottleneckIdx = -1;
    this.selfNs = this.computeSelfTimes();
    this.render(app);
    this.computeVisible();
    this.drawRows();
    this.waterfall.dataset.ready = "true";
    performance.mark("spanhouse:waterfall-ready");
    this.onResize = () => this.drawRows();
    window.addEventListener("resize", this.onResize);
  }

  destroy() { window.removeEventListener("resize", this.onResize); }

  buildModel() {
    const n = this.spans.length;
    this.index = new Map();
    this.spans.forEach((s, i) => this.index.set(s.span_id, i));
    this.t0 = Infinity;
    let end = -Infinity;
    for (const s of this.spans) {
      if (s.start_ns < this.t0) this.t0 = s.start_ns;
      if (s.start_ns + s.duration_ns > end) end = s.start_ns + s.duration_ns;
    }
    this.total = Math.max(end - this.t0, 1);
    this.rel = new Float64Array(n);
    this.parent = new Int32Array(n).fill(-1);
    this.children = Array.from({ length: n }, () => []);
    const roots = [];
    this.spans.forEach((s, i) => {
      this.rel[i] = s.start_ns - this.t0;
      const p = s.parent_span_id ? this.index.get(s.parent_span_id) : undefined;
      if (p === undefined || p === i) roots.push(i);
      else { this.parent[i] = p; this.children[p].push(i); }
    });
    const byStart = (a, b) => this.rel[a] - this.rel[b];
    for (const c of this.children) if (c.length > 1) c.sort(byStart);
    roots.sort(byStart);
    // depth-first order and depth, iteratively (a 10,000-deep chain must not blow the stack)
    this.order = [];
    this.depth = new Int32Array(n);
    const stack = roots.slice().reverse().map(i => [i, 0]);
    const seen = new Uint8Array(n);
    while (stack.length) {
      const [i, d] = stack.pop();
      if (seen[i]) continue;
      seen[i] = 1;
      this.depth[i] = d;
      this.order.push(i);
      const c = this.children[i];
      for (let k = c.length - 1; k >= 0; k--) stack.push([c[k], d + 1]);
    }
    for (let i = 0; i < n; i++) if (!seen[i]) { this.order.push(i); }   // parent cycles
    const root = roots[0] ?? 0;
    this.root = this.spans[root];
  }

  computeSelfTimes() {
    // a span's self time: its duration minus the union of its children's time inside it
    const out = new Float64Array(this.spans.length);
    this.spans.forEach((s, i) => {
      const start = this.rel[i], end = start + s.duration_ns;
      const iv = this.children[i].map(c => [Math.max(this.rel[c], start),
                                           Math.min(this.rel[c] + this.spans[c].duration_ns, end)])
        .filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
      let covered = 0, curA = -1, curB = -1;
      for (const [a, b] of iv) {
        if (a > curB) { covered += curB - curA; curA = a; curB = b; }
        else if (b > curB) curB = b;
      }
      covered += curB - curA;
      out[i] = Math.max(s.duration_ns - covered, 0);
    });
    return out;
  }

  computeVisible() {
    const visible = [];
    let skipDepth = -1;
    for (const i of this.order) {
      if (skipDepth >= 0) {
        if (this.depth[i] > skipDepth) continue;
        skipDepth = -1;
      }
      visible.push(i);
      if (this.collapsed.has(i) && this.children[i].length) skipDepth = this.depth[i];
    }
    this.visible = visible;
    this.rowOf = new Map(visible.map((i, r) => [i, r]));
    this.spacer.style.height = `${visible.length * ROW}px`;
  }

  render(app) {
    const t = this.trace, root = this.root;
    this.bannerEl = h("div", { class: "bottleneck-banner pending", id: "bottleneck" },
                      h("span", { class: "muted" }, "Finding the critical path…"));
    this.findInput = h("input", { type: "search", id: "find-in-trace", placeholder: "Find in trace (/)",
                                  "aria-label": "Find in trace", spellcheck: false });
    this.findCount = h("span", { class: "muted small", id: "find-count" });
    this.findInput.addEventListener("input", () => this.find(this.findInput.value));
    this.findInput.addEventListener("keydown", e => {
      if (e.key === "Enter") { e.preventDefault(); this.nextMatch(e.shiftKey ? -1 : 1); }
      if (e.key === "Escape") { this.findInput.value = ""; this.find(""); this.waterfall.focus(); }
    });
    const axis = h("div", { class: "wf-axis" },
      [0, 0.25, 0.5, 0.75, 1].map(f => h("span", { class: "wf-tick", style: { left: `${f * 100}%` } },
                                         fmtMs(this.total * f / 1e6))));
    this.spacer = h("div", { class: "wf-spacer" });
    this.scroller = h("div", { class: "wf-scroll" }, this.spacer);
    this.scroller.addEventListener("scroll", () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawRows(); });
    });
    this.spacer.addEventListener("click", e => {
      const row = e.target.closest(".wf-row");
      if (!row) return;
      const i = Number(row.dataset.index);
      if (e.target.closest(".wf-toggle")) this.toggle(i);
      this.select(i, { scroll: false });
      this.waterfall.focus({ preventScroll: true });
    });
    this.waterfall = h("div", { class: "waterfall", id: "waterfall", tabindex: 0, role: "tree",
                                "aria-label": "Spans of the trace; arrow keys move, left/right collapse and expand" },
      h("div", { class: "wf-header" }, h("div", { class: "wf-label" }, "Service · operation"), axis),
      this.scroller);
    this.waterfall.addEventListener("keydown", e => this.onKey(e));
    this.panel = h("aside", { class: "span-panel", id: "span-panel" },
                   h("p", { class: "muted" }, "Click a span (or use ↑ ↓) to see its details."));
    app.replaceChildren(
      h("section", { class: "trace-head" },
        h("h1", {}, h("span", { class: "svc", style: { "--svc": serviceColour(root.service) } }, root.service),
          " ", root.name),
        h("div", { class: "facts" },
          fact("Trace", h("span", { class: "mono", id: "trace-id" }, t.trace_id)),
          fact("Duration", fmtMs(t.duration_ms)), fact("Spans", t.span_count),
          fact("Errors", h("span", { class: t.error_count ? "err" : "" }, t.error_count)),
          fact("Services", t.services.length), fact("Start", fmtTime(t.start)),
          h("a", { href: `/api/v1/traces/${t.trace_id}`, class: "small" }, "JSON"))),
      this.bannerEl,
      h("div", { class: "toolbar" }, this.findInput, this.findCount,
        h("button", { type: "button", onclick: () => this.expandAll() }, "Expand all"),
        h("button", { type: "button", onclick: () => this.collapseToDepth(1) }, "Collapse"),
        h("span", { class: "legend" }, h("span", { class: "cp-swatch" }), " critical path",
          h("span", { class: "bn-swatch" }), " bottleneck"),
        h("span", { class: "muted small keys" }, "keys: ↑↓ move · ←→ collapse/expand · Enter toggle · / find")),
      h("div", { class: "trace-body" }, this.waterfall, this.panel),
      this.statsSection());
  }

  drawRows() {
    const top = this.scroller.scrollTop, height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.visible.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const rows = [];
    for (let r = first; r < last; r++) rows.push(this.row(this.visible[r], r));
    this.spacer.replaceChildren(...rows);
  }

  row(i, r) {
    const s = this.spans[i];
    const hasKids = this.children[i].length > 0;
    const left = this.rel[i] / this.total * 100, width = Math.max(s.duration_ns / this.total * 100, 0.15);
    const cls = ["wf-row"];
    if (i === this.selected) cls.push("selected");
    if (s.status.code === "error") cls.push("error");
    if (this.cp.has(i)) cls.push("on-cp");
    if (i === this.bottleneckIdx) cls.push("bottleneck");
    if (this.matches) cls.push(this.matches.has(i) ? "match" : "dim");
    const bar = h("div", { class: "wf-bar", style: { left: `${left}%`, width: `${width}%`,
                                                     background: serviceColour(s.service) } });
    for (const [a, b] of this.cp.get(i) || []) {
      bar.append(h("div", { class: "cp-seg", style: {
        left: `${(a - this.rel[i]) / (s.duration_ns || 1) * 100}%`,
        width: `${Math.max((b - a) / (s.duration_ns || 1) * 100, 0.5)}%` } }));
    }
    const durLeft = left + width > 82;
    const label = h("span", { class: "wf-dur", style: durLeft ? { right: `${100 - left + 0.5}%` }
                                                           : { left: `${left + width + 0.5}%` } },
                    fmtMs(s.duration_ms));
    const badge = i === this.bottleneckIdx
      ? h("span", { class: "bn-badge", title: "this is your bottleneck" }, `bottleneck ${fmtPct(this.bnShare)}`) : null;
    return h("div", { class: cls.join(" "), style: { top: `${r * ROW}px` }, role: "treeitem",
                      "data-index": i, "data-span-id": s.span_id, "aria-level": this.depth[i] + 1,
                      "aria-expanded": hasKids ? String(!this.collapsed.has(i)) : null,
                      "aria-selected": String(i === this.selected) },
      h("div", { class: "wf-label", style: { paddingLeft: `${6 + Math.min(this.depth[i], 40) * 14}px` } },
        h("span", { class: "wf-toggle" }, hasKids ? (this.collapsed.has(i) ? "▸" : "▾") : ""),
        h("span", { class: "dot", style: { background: serviceColour(s.service) } }),
        h("span", { class: "wf-service" }, s.service), " ",
        h("span", { class: "wf-name" }, s.name),
        s.status.code === "error" ? h("span", { class: "err-mark", title: s.status.message }, " ⚠") : null,
        badge),
      h("div", { class: "wf-track" }, bar, label));
  }

  toggle(i) {
    if (!this.children[i].length) return;
    if (this.collapsed.has(i)) this.collapsed.delete(i); else this.collapsed.add(i);
    this.computeVisible();
    this.drawRows();
  }

  expandAll() { this.collapsed.clear(); this.computeVisible(); this.drawRows(); }

  collapseToDepth(d) {
    this.collapsed = new Set(this.order.filter(i => this.depth[i] >= d && this.children[i].length));
    this.computeVisible();
    if (this.selected >= 0 && !this.rowOf.has(this.selected)) this.selected = this.visible[0];
    this.drawRows();
  }

  reveal(i) {
    let changed = false;
    for (let p = this.parent[i]; p >= 0; p = this.parent[p]) {
      if (this.collapsed.delete(p)) changed = true;
    }
    if (changed) this.computeVisible();
  }

  select(i, { scroll = true } = {}) {
    if (i < 0 || i >= this.spans.length) return;
    this.reveal(i);
    this.selected = i;
    if (scroll) {
      const y = this.rowOf.get(i) * ROW, top = this.scroller.scrollTop, hgt = this.scroller.clientHeight;
      if (y < top) this.scroller.scrollTop = y;
      else if (y + ROW > top + hgt) this.scroller.scrollTop = y + ROW - hgt;
    }
    this.drawRows();
    this.showPanel(i);
  }

  onKey(e) {
    if (e.target === this.findInput) return;
    const r = this.rowOf.get(this.selected) ?? -1;
    const go = row => { e.preventDefault(); this.select(this.visible[Math.max(0, Math.min(row, this.visible.length - 1))]); };
    switch (e.key) {
      case "ArrowDown": case "j": return go(r + 1);
      case "ArrowUp": case "k": return go(Math.max(r - 1, 0));
      case "PageDown": return go(r + Math.floor(this.scroller.clientHeight / ROW));
      case "PageUp": return go(r - Math.floor(this.scroller.clientHeight / ROW));
      case "Home": return go(0);
      case "End": return go(this.visible.length - 1);
      case "ArrowRight":
        e.preventDefault();
        if (this.selected < 0) return go(0);
        if (this.collapsed.has(this.selected)) this.toggle(this.selected);
        else if (this.children[this.selected].length) this.select(this.children[this.selected][0]);
        return;
      case "ArrowLeft":
        e.preventDefault();
        if (this.selected < 0) return go(0);
        if (this.children[this.selected].length && !this.collapsed.has(this.selected)) this.toggle(this.selected);
        else if (this.parent[this.selected] >= 0) this.select(this.parent[this.selected]);
        return;
      case "Enter": case " ":
        e.preventDefault();
        if (this.selected >= 0) this.toggle(this.selected);
        return;
      case "/":
        e.preventDefault();
        this.findInput.focus();
        return;
    }
  }

  find(text) {
    const q = text.trim().toLowerCase();
    if (!q) { this.matches = null; this.matchList = []; this.findCount.textContent = ""; this.drawRows(); return; }
    const hit = v => String(v).toLowerCase().includes(q);
    this.matches = new Set();
    this.spans.forEach((s, i) => {
      if (hit(s.service) || hit(s.name) || s.span_id === q || hit(s.status.message) ||
          Object.entries(s.attributes).some(([k, v]) => hit(k) || hit(v))) this.matches.add(i);
    });
    this.matchList = this.order.filter(i => this.matches.has(i));
    this.matchPos = -1;
    this.findCount.textContent = `${this.matchList.length} match${this.matchList.length === 1 ? "" : "es"}`;
    this.drawRows();
  }

  nextMatch(step) {
    if (!this.matchList?.length) return;
    this.matchPos = (this.matchPos + step + this.matchList.length) % this.matchList.length;
    this.findCount.textContent = `${this.matchPos + 1} of ${this.matchList.length}`;
    this.select(this.matchList[this.matchPos]);
  }

  setBottleneck(b) {
    if (!b) {
      this.bannerEl.classList.remove("pending");
      this.bannerEl.replaceChildren(h("span", { class: "muted" }, "The critical path could not be computed."));
      return;
    }
    this.bn = b;
    for (const seg of b.critical_path || []) {
      const i = this.index.get(seg.span_id);
      if (i === undefined) continue;
      if (!this.cp.has(i)) this.cp.set(i, []);
      this.cp.get(i).push([seg.start_ns - this.t0, seg.end_ns - this.t0]);
    }
    this.bnSelf = new Map((b.spans || []).map(s => [s.span_id, s]));
    const bn = b.bottleneck;
    this.bannerEl.classList.remove("pending");
    if (!bn) {
      this.bannerEl.replaceChildren(h("span", { class: "muted" }, "No bottleneck: the trace has no critical path."));
      return;
    }
    this.bottleneckIdx = this.index.get(bn.span_id) ?? -1;
    this.bnShare = bn.share;
    const open = h("a", { href: "#", id: "bottleneck-span", onclick: e => {
      e.preventDefault(); if (this.bottleneckIdx >= 0) { this.select(this.bottleneckIdx); this.waterfall.focus(); } } },
      h("span", { class: "svc", style: { "--svc": serviceColour(bn.service) } }, bn.service), " › ",
      h("strong", {}, bn.operation), bn.db_system ? ` (${bn.db_system})` : "");
    this.bannerEl.replaceChildren(
      h("div", {}, h("span", { class: "bn-title" }, "This is your bottleneck: "), open,
        ` — ${fmtMs(bn.critical_path_ms)} on the critical path, `,
        h("strong", { class: "bn-share" }, fmtPct(bn.share)), ` of the ${fmtMs(b.duration_ms)} request.`),
      h("div", { class: "cp-path small" }, h("span", { class: "muted" }, "Path: "),
        (b.path || []).map((p, k) => [k ? " → " : "",
          h("span", { class: "hop" + (p.span_ids?.includes(bn.span_id) ? " hop-bn" : "") },
            `${p.service} ${p.operation === b.root?.operation && p.service === b.root?.service ? "" : p.operation + " "}`,
            h("span", { class: "muted" }, fmtMs(p.time_ms)))])));
    this.drawRows();
    if (this.selected >= 0) this.showPanel(this.selected);
    this.fillCriticalStats();
  }

  showPanel(i) {
    const s = this.spans[i];
    const kv = obj => {
      const entries = Object.entries(obj || {});
      if (!entries.length) return h("p", { class: "muted small" }, "none");
      return h("table", { class: "kv" }, h("tbody", {}, entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) =>
        h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v))))));
    };
    const bnInfo = this.bnSelf?.get(s.span_id);
    const selfMs = bnInfo?.self_time_ms ?? this.selfNs[i] / 1e6;
    const parent = this.parent[i] >= 0 ? this.spans[this.parent[i]] : null;
    this.panel.replaceChildren(
      h("h2", {}, h("span", { class: "dot", style: { background: serviceColour(s.service) } }), " ", s.name),
      i === this.bottleneckIdx ? h("p", { class: "bn-note" }, `This is your bottleneck: ${fmtPct(this.bnShare)} of the request.`) : null,
      h("table", { class: "kv facts-table" }, h("tbody", {},
        row("Service", s.service), row("Kind", s.kind),
        row("Status", h("span", { class: s.status.code === "error" ? "err" : "" },
                        s.status.code + (s.status.message ? `: ${s.status.message}` : ""))),
        row("Duration", fmtMs(s.duration_ms)), row("Self time", fmtMs(selfMs)),
        bnInfo ? row("On critical path", `${fmtMs(bnInfo.critical_path_ms)} (${fmtPct(bnInfo.share, 1)})`) : null,
        row("Starts at", `+${fmtMs(this.rel[i] / 1e6)}`),
        row("Span ID", h("span", { class: "mono" }, s.span_id)),
        row("Parent", parent ? h("a", { href: "#", onclick: e => { e.preventDefault(); this.select(this.parent[i]); } },
                                 `${parent.service} ${parent.name}`)
                             : (s.parent_span_id ? h("span", { class: "mono" }, `${s.parent_span_id} (missing)`) : "root")),
        row("Scope", `${s.scope.name}${s.scope.version ? " " + s.scope.version : ""}`),
        s.sampling_policy ? row("Sampled by", `${s.sampling_policy} (×${s.adjusted_count})`) : null)),
      h("h3", {}, "Attributes"), h("div", { id: "span-attributes" }, kv(s.attributes)),
      h("h3", {}, `Events (${s.events.length})`),
      s.events.length ? h("ul", { class: "events" }, s.events.map(ev => h("li", {},
        h("span", { class: "mono small" }, `+${fmtMs((ev.time_ns - this.t0) / 1e6)}`), " ", h("strong", {}, ev.name),
        kv(ev.attributes)))) : h("p", { class: "muted small" }, "none"),
      h("h3", {}, `Links (${s.links.length})`),
      s.links.length ? h("ul", { class: "links" }, s.links.map(l => h("li", {},
        h("a", { href: `/trace/${l.trace_id}`, class: "mono" }, `${l.trace_id.slice(0, 16)}… / ${l.span_id}`),
        kv(l.attributes)))) : h("p", { class: "muted small" }, "none"),
      h("h3", {}, "Resource"), kv(s.resource_attributes));
  }

  statsSection() {
    const groups = new Map(), services = new Map();
    const add = (map, key, i) => {
      const s = this.spans[i];
      const g = map.get(key) || { key, count: 0, errors: 0, total: 0, self: 0, max: 0, cp: 0 };
      g.count++; g.errors += s.status.code === "error" ? 1 : 0; g.total += s.duration_ns;
      g.self += this.selfNs[i]; g.max = Math.max(g.max, s.duration_ns);
      map.set(key, g);
    };
    this.spans.forEach((s, i) => { add(groups, `${s.service}\u0000${s.name}`, i); add(services, s.service, i); });
    this.statGroups = { groups, services };
    const table = (map, id, split) => h("table", { class: "grid-table stats", id },
      h("thead", {}, h("tr", {}, [...(split ? ["Service", "Operation"] : ["Service"]), "Spans", "Errors",
        "Total", "Self time", "Avg", "Max", "Critical path"].map(t => h("th", {}, t)))),
      h("tbody", {}, [...map.values()].sort((a, b) => b.self - a.self).map(g => {
        const [svc, op] = g.key.split("\u0000");
        return h("tr", { "data-key": g.key },
          h("td", {}, h("span", { class: "dot", style: { background: serviceColour(svc) } }), " ", svc),
          split ? h("td", {}, op) : null,
          h("td", { class: "num" }, g.count), h("td", { class: "num" + (g.errors ? " err" : "") }, g.errors),
          h("td", { class: "num" }, fmtMs(g.total / 1e6)), h("td", { class: "num" }, fmtMs(g.self / 1e6)),
          h("td", { class: "num" }, fmtMs(g.total / g.count / 1e6)), h("td", { class: "num" }, fmtMs(g.max / 1e6)),
          h("td", { class: "num cp-cell" }, "…"));
      })));
    this.statsEl = h("section", { class: "stats-section" },
      h("h2", {}, "Statistics"),
      h("div", { class: "stats-grid" },
        h("div", {}, h("h3", {}, "By service"), table(services, "stats-services", false)),
        h("div", {}, h("h3", {}, "By operation"), table(groups, "stats-operations", true))));
    return this.statsEl;
  }

  fillCriticalStats() {
    const byKey = new Map();
    for (const s of this.bn?.spans || []) {
      for (const key of [`${s.service}\u0000${s.operation}`, s.service]) {
        byKey.set(key, (byKey.get(key) || 0) + (s.critical_path_ms || 0));
      }
    }
    this.statsEl.querySelectorAll("tr[data-key]").forEach(tr => {
      const ms = byKey.get(tr.dataset.key) || 0;
      tr.querySelector(".cp-cell").textContent = ms ? `${fmtMs(ms)} (${fmtPct(ms / (this.bn.duration_ms || 1))})` : "–";
    });
  }
}

function fact(label, value) {
  return h("span", { class: "fact" }, h("span", { class: "muted" }, label), " ", value);
}

function row(label, value) {
  return h("tr", {}, h("th", {}, label), h("td", {}, value));
}
