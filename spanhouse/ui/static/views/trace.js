// The trace view: the error's origin first, then the bottleneck (/api/v1/bottleneck/{id}); the
// waterfall (virtualised rows on a common time axis, a minimap to zoom, a resizable name column)
// or the span table; the span panel; per-service/operation stats. The selected span (`span`) and
// the find text (`uiFind`, as Jaeger names it) live in the URL. /trace/A/vs/B compares two traces.
import { h, api, navigate, fmtMs, fmtPct, fmtTime, serviceColours, errorBox, emptyState, ApiError } from "../lib.js";
import { buildModel, errorOrigins, exceptionOf, servicesInOrder, isError } from "./trace/model.js";
import { ROW, row, axis, updateAxis, labelResizer, minimap } from "./trace/waterfall.js";
import { spanPanel } from "./trace/panel.js";
import { statsSection, fillCriticalStats, spanTable } from "./trace/stats.js";

const OVERSCAN = 12;

export async function mount(app, { path }) {
  if (path[1] === "vs") return (await import("./trace/diff.js")).mount(app, path[0], path[2]);
  const traceId = (path[0] || "").toLowerCase();
  document.title = `Trace ${traceId.slice(0, 8)} · Spanhouse`;
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
  const cleanup = () => view.destroy();
  cleanup.path = location.pathname;            // app.js: same path, new query -> restore, not remount
  cleanup.onLocation = () => view.restoreFromUrl();
  return cleanup;
}

class TraceView {
  constructor(app, trace) {
    this.trace = trace;
    this.m = buildModel(trace.spans);
    this.colour = serviceColours(servicesInOrder(this.m));
    this.collapsed = new Set();
    this.selected = -1;
    this.matches = null;          // Set of span indexes matching the find box, or null
    this.cp = new Map();          // span index -> [[start, end] relative ns] on the critical path
    this.bottleneckIdx = -1;
    this.origins = errorOrigins(this.m);
    this.originIdx = this.origins[0] ?? -1;
    this.range = [0, this.m.total];
    this.render(app);
    this.computeVisible();
    this.drawRows();
    this.drawMinimap();
    this.waterfall.dataset.ready = "true";
    performance.mark("spanhouse:waterfall-ready");
    if (!this.restoreFromUrl() && this.originIdx >= 0) this.select(this.originIdx);
    this.onResize = () => { this.drawRows(); this.drawMinimap(); };
    window.addEventListener("resize", this.onResize);
  }

  destroy() { window.removeEventListener("resize", this.onResize); }

  // ?span=<spanId>&uiFind=<text>: applied on load and on back/forward; true if a span was selected
  restoreFromUrl() {
    const qs = new URLSearchParams(location.search);
    const text = qs.get("uiFind") || "";
    if (text !== this.findInput.value) { this.findInput.value = text; this.find(text, { write: false }); }
    const i = this.m.index.get((qs.get("span") || "").toLowerCase());
    if (i === undefined) return false;
    if (i !== this.selected) this.select(i, { write: false });
    return true;
  }

  writeUrl(push) {
    const qs = new URLSearchParams(location.search);
    const set = (k, v) => { if (v) qs.set(k, v); else qs.delete(k); };
    set("span", this.selected >= 0 ? this.m.spans[this.selected].span_id : "");
    set("uiFind", this.findInput.value);
    const url = location.pathname + (qs.toString() ? `?${qs}` : "");
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  }

  computeVisible() {
    const visible = [], m = this.m;
    let skipDepth = -1;
    for (const i of m.order) {
      if (skipDepth >= 0) {
        if (m.depth[i] > skipDepth) continue;
        skipDepth = -1;
      }
      visible.push(i);
      if (this.collapsed.has(i) && m.children[i].length) skipDepth = m.depth[i];
    }
    this.visible = visible;
    this.rowOf = new Map(visible.map((i, r) => [i, r]));
    this.spacer.style.height = `${visible.length * ROW}px`;
  }

  render(app) {
    const t = this.trace, root = this.m.root;
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
    this.spacer = h("div", { class: "wf-spacer" });
    this.scroller = h("div", { class: "wf-scroll" }, this.spacer);
    this.scroller.addEventListener("scroll", () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawRows(); });
    });
    this.spacer.addEventListener("click", e => {
      const r = e.target.closest(".wf-row");
      if (!r) return;
      const i = Number(r.dataset.index);
      if (e.target.closest(".wf-toggle")) this.toggle(i);
      this.select(i, { scroll: false, push: true });
      this.waterfall.focus({ preventScroll: true });
    });
    this.waterfall = h("div", { class: "waterfall", id: "waterfall", tabindex: 0, role: "tree",
                                "aria-label": "Spans of the trace; arrow keys move, left/right collapse and expand" });
    this.waterfall.append(
      h("div", { class: "wf-header" }, h("div", { class: "wf-label" }, "Service · operation", labelResizer(this)), axis(this)),
      this.scroller);
    this.waterfall.addEventListener("keydown", e => this.onKey(e));
    this.panel = h("aside", { class: "span-panel", id: "span-panel" },
                   h("p", { class: "muted" }, "Click a span (or use ↑ ↓) to see its details."));
    this.resetZoom = h("button", { type: "button", id: "wf-zoom-reset", hidden: true,
                                   onclick: () => this.setRange([0, this.m.total]) }, "Reset zoom");
    this.tabs = { waterfall: h("div", { class: "tab-pane", id: "pane-waterfall" }, minimap(this), this.waterfall),
                  table: h("div", { class: "tab-pane", id: "pane-table", hidden: true }) };
    this.tabButtons = Object.fromEntries(["waterfall", "table"].map(k => [k, h("button", {
      type: "button", role: "tab", class: "tab", id: `tab-${k}`, onclick: () => this.showTab(k) },
      k === "waterfall" ? "Waterfall" : "Span table")]));
    app.replaceChildren(...[
      h("section", { class: "trace-head" },
        h("h1", {}, h("span", { class: "svc", style: { "--svc": this.colour(root.service) } }, root.service),
          " ", root.name),
        h("div", { class: "facts" },
          fact("Trace", h("span", { class: "mono", id: "trace-id" }, t.trace_id)),
          fact("Duration", fmtMs(t.duration_ms)), fact("Spans", t.span_count),
          fact("Errors", h("span", { class: t.error_count ? "err" : "" }, t.error_count)),
          fact("Services", t.services.length), fact("Start", fmtTime(t.start)),
          h("a", { href: `/api/v1/traces/${t.trace_id}`, class: "small" }, "JSON"), this.compareForm())),
      this.originBanner(),
      this.bannerEl,
      h("div", { class: "toolbar" }, h("span", { class: "tabs", role: "tablist" }, Object.values(this.tabButtons)),
        this.findInput, this.findCount,
        h("button", { type: "button", onclick: () => this.expandAll() }, "Expand all"),
        h("button", { type: "button", onclick: () => this.collapseToDepth(1) }, "Collapse"),
        this.resetZoom,
        h("span", { class: "legend" }, h("span", { class: "cp-swatch" }), " critical path",
          h("span", { class: "bn-swatch" }), " bottleneck"),
        h("span", { class: "muted small keys" }, "keys: ↑↓ move · ←→ collapse/expand · Enter toggle · / find")),
      h("div", { class: "trace-body" }, h("div", { class: "trace-main" }, this.tabs.waterfall, this.tabs.table), this.panel),
      statsSection(this)].filter(Boolean));   // no error: no origin banner (and no "null")
    this.tabButtons.waterfall.setAttribute("aria-selected", "true");
  }

  // "Compare with" another trace: /trace/THIS/vs/OTHER
  compareForm() {
    const input = h("input", { name: "other", id: "compare-with", placeholder: "Compare with trace ID", size: 22,
                               "aria-label": "Compare with trace ID", spellcheck: false });
    return h("form", { class: "compare-with small", onsubmit: e => {
      e.preventDefault();
      const other = input.value.trim().toLowerCase();
      if (other) navigate(`/trace/${this.trace.trace_id}/vs/${encodeURIComponent(other)}`);
    } }, input);
  }

  // The first thing a failing trace shows: where the error starts (the deepest failing span).
  originBanner() {
    if (this.originIdx < 0) return null;
    const s = this.m.spans[this.originIdx], exc = exceptionOf(s);
    const failing = this.m.spans.filter(isError).length;
    const others = this.origins.length - 1;
    return h("div", { class: "origin-banner", id: "error-origin", role: "alert" },
      h("div", {}, h("span", { class: "origin-title" }, "The error starts here: "),
        h("a", { href: `?span=${s.span_id}`, id: "error-origin-span" },
          h("span", { class: "svc", style: { "--svc": this.colour(s.service) } }, s.service), " › ", h("strong", {}, s.name)),
        s.status.message ? [" — ", h("span", { class: "err", id: "error-origin-message" }, s.status.message)] : null),
      exc ? h("div", { class: "origin-exception mono", id: "error-origin-exception" },
              [exc.type, exc.message].filter(Boolean).join(": ")) : null,
      h("div", { class: "small muted" },
        failing > 1 ? `${failing - 1 - others} failing span${failing - 1 - others === 1 ? "" : "s"} above it only pass the error on. ` : "",
        others > 0 ? `${others} other span${others === 1 ? "" : "s"} fail on their own.` : ""));
  }

  showTab(name) {
    for (const [k, pane] of Object.entries(this.tabs)) {
      pane.hidden = k !== name;
      this.tabButtons[k].setAttribute("aria-selected", String(k === name));
    }
    if (name === "table") this.tabs.table.replaceChildren(spanTable(this));
    else { this.drawRows(); this.drawMinimap(); }
  }

  setRange(range) {
    this.range = range;
    this.resetZoom.hidden = range[0] <= 0 && range[1] >= this.m.total;
    updateAxis(this);
    this.drawRows();
    this.drawMinimap();
  }

  drawRows() {
    const top = this.scroller.scrollTop, height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.visible.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const rows = [];
    for (let r = first; r < last; r++) rows.push(row(this, this.visible[r], r));
    this.spacer.replaceChildren(...rows);
  }

  toggle(i) {
    if (!this.m.children[i].length) return;
    if (this.collapsed.has(i)) this.collapsed.delete(i); else this.collapsed.add(i);
    this.computeVisible();
    this.drawRows();
  }

  expandAll() { this.collapsed.clear(); this.computeVisible(); this.drawRows(); }

  collapseToDepth(d) {
    const m = this.m;
    this.collapsed = new Set(m.order.filter(i => m.depth[i] >= d && m.children[i].length));
    this.computeVisible();
    if (this.selected >= 0 && !this.rowOf.has(this.selected)) this.selected = this.visible[0];
    this.drawRows();
  }

  reveal(i) {
    let changed = false;
    for (let p = this.m.parent[i]; p >= 0; p = this.m.parent[p]) {
      if (this.collapsed.delete(p)) changed = true;
    }
    if (changed) this.computeVisible();
  }

  // write: false when restoring from the URL; push: true for a click (back returns to the last one)
  select(i, { scroll = true, write = true, push = false } = {}) {
    if (i < 0 || i >= this.m.spans.length) return;
    this.reveal(i);
    this.selected = i;
    if (scroll) {
      const y = this.rowOf.get(i) * ROW, top = this.scroller.scrollTop, hgt = this.scroller.clientHeight;
      if (y < top) this.scroller.scrollTop = y;
      else if (y + ROW > top + hgt) this.scroller.scrollTop = y + ROW - hgt;
    }
    this.drawRows();
    this.showPanel(i);
    if (write) this.writeUrl(push);
  }

  onKey(e) {
    if (e.target === this.findInput) return;
    const r = this.rowOf.get(this.selected) ?? -1, sel = this.selected, m = this.m;
    const go = x => { e.preventDefault(); this.select(this.visible[Math.max(0, Math.min(x, this.visible.length - 1))]); };
    switch (e.key) {
      case "ArrowDown": case "j": return go(r + 1);
      case "ArrowUp": case "k": return go(Math.max(r - 1, 0));
      case "PageDown": return go(r + Math.floor(this.scroller.clientHeight / ROW));
      case "PageUp": return go(r - Math.floor(this.scroller.clientHeight / ROW));
      case "Home": return go(0);
      case "End": return go(this.visible.length - 1);
      case "ArrowRight":
        e.preventDefault();
        if (sel < 0) return go(0);
        if (this.collapsed.has(sel)) this.toggle(sel);
        else if (m.children[sel].length) this.select(m.children[sel][0]);
        return;
      case "ArrowLeft":
        e.preventDefault();
        if (sel < 0) return go(0);
        if (m.children[sel].length && !this.collapsed.has(sel)) this.toggle(sel);
        else if (m.parent[sel] >= 0) this.select(m.parent[sel]);
        return;
      case "Enter": case " ":
        e.preventDefault();
        if (sel >= 0) this.toggle(sel);
        return;
      case "/":
        e.preventDefault();
        this.findInput.focus();
        return;
    }
  }

  find(text, { write = true } = {}) {
    const q = text.trim().toLowerCase();
    if (write) this.writeUrl(false);
    if (!q) { this.matches = null; this.matchList = []; this.findCount.textContent = ""; this.drawRows(); return; }
    const hit = v => String(v).toLowerCase().includes(q);
    this.matches = new Set();
    this.m.spans.forEach((s, i) => {
      if (hit(s.service) || hit(s.name) || s.span_id === q || hit(s.status.message) ||
          Object.entries(s.attributes).some(([k, v]) => hit(k) || hit(v))) this.matches.add(i);
    });
    this.matchList = this.m.order.filter(i => this.matches.has(i));
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
    this.bannerEl.classList.remove("pending");
    if (!b) {
      this.bannerEl.replaceChildren(h("span", { class: "muted" }, "The critical path could not be computed."));
      return;
    }
    this.bn = b;
    for (const seg of b.critical_path || []) {
      const i = this.m.index.get(seg.span_id);
      if (i === undefined) continue;
      if (!this.cp.has(i)) this.cp.set(i, []);
      this.cp.get(i).push([seg.start_ns - this.m.t0, seg.end_ns - this.m.t0]);
    }
    this.bnSelf = new Map((b.spans || []).map(s => [s.span_id, s]));
    const bn = b.bottleneck;
    if (!bn) {
      this.bannerEl.replaceChildren(h("span", { class: "muted" }, "No bottleneck: the trace has no critical path."));
      return;
    }
    this.bottleneckIdx = this.m.index.get(bn.span_id) ?? -1;
    this.bnShare = bn.share;
    const open = h("a", { href: `?span=${bn.span_id}`, id: "bottleneck-span" },
      h("span", { class: "svc", style: { "--svc": this.colour(bn.service) } }, bn.service), " › ",
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
    fillCriticalStats(this);
  }

  showPanel(i) { this.panel.replaceChildren(spanPanel(this, i)); }
}

function fact(label, value) {
  return h("span", { class: "fact" }, h("span", { class: "muted" }, label), " ", value);
}
