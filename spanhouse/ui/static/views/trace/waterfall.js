// The waterfall's parts: one row, the time axis, the minimap (drag to zoom) and the resizable
// name column. Each takes the TraceView (views/trace.js) whose state it draws.
import { h, fmtMs, fmtPct } from "../../lib.js";
import { isError, spanTarget } from "./model.js";

export const ROW = 24;        // px per waterfall row; fixed so rows can be virtualised
const LABEL_KEY = "spanhouse.trace.labelWidth";
const TICKS = [0, 0.25, 0.5, 0.75, 1];

export function row(v, i, r) {
  const m = v.m, s = m.spans[i];
  const [a, b] = v.range, span = b - a;
  const hasKids = m.children[i].length > 0;
  const left = (m.rel[i] - a) / span * 100, width = Math.max(s.duration_ns / span * 100, 0.15);
  const cls = ["wf-row"];
  if (i === v.selected) cls.push("selected");
  if (isError(s)) cls.push("error");
  if (v.cp.has(i)) cls.push("on-cp");
  if (i === v.bottleneckIdx) cls.push("bottleneck");
  if (i === v.originIdx) cls.push("origin");
  if (v.matches) cls.push(v.matches.has(i) ? "match" : "dim");
  if (m.rel[i] + s.duration_ns < a || m.rel[i] > b) cls.push("out-of-range");
  const bar = h("div", { class: "wf-bar", style: { left: `${left}%`, width: `${width}%`, background: v.colour(s.service) } });
  for (const [x, y] of v.cp.get(i) || []) {
    bar.append(h("div", { class: "cp-seg", style: {
      left: `${(x - m.rel[i]) / (s.duration_ns || 1) * 100}%`,
      width: `${Math.max((y - x) / (s.duration_ns || 1) * 100, 0.5)}%` } }));
  }
  // the duration (and the bottleneck badge) beside the bar on the side with room, else inside
  // the bar: never over the name column
  const badge = i === v.bottleneckIdx
    ? h("span", { class: "bn-badge", title: "this is your bottleneck" }, `bottleneck ${fmtPct(v.bnShare)}`) : null;
  const trackPx = v.axisEl.clientWidth || 600, need = (fmtMs(s.duration_ms).length * 7 + (badge ? 110 : 0) + 8) / trackPx * 100;
  let place, where = "";
  if (100 - (left + width) >= need) place = { left: `${left + width + 0.5}%` };
  else if (left >= need) place = { right: `${100 - left + 0.5}%` };
  else { place = { left: `${Math.max(left, 0) + 0.5}%` }; where = " inside"; }
  const label = h("span", { class: "wf-dur" + where, style: place }, fmtMs(s.duration_ms), badge);
  const target = spanTarget(s);
  return h("div", { class: cls.join(" "), style: { top: `${r * ROW}px` }, role: "treeitem",
                    "data-index": i, "data-span-id": s.span_id, "aria-level": m.depth[i] + 1,
                    "aria-expanded": hasKids ? String(!v.collapsed.has(i)) : null,
                    "aria-selected": String(i === v.selected) },
    h("div", { class: "wf-label", style: { paddingLeft: `${6 + Math.min(m.depth[i], 40) * 14}px` },
               title: `${s.service} ${s.name}${target ? " " + target : ""}` },
      h("span", { class: "wf-toggle" }, hasKids ? (v.collapsed.has(i) ? "▸" : "▾") : ""),
      h("span", { class: "dot", style: { background: v.colour(s.service) } }),
      h("span", { class: "wf-service" }, s.service),
      h("span", { class: "wf-name" }, s.name),
      target ? h("span", { class: "wf-target" }, target) : null,
      isError(s) ? h("span", { class: "err-mark", title: s.status.message }, "⚠") : null),
    h("div", { class: "wf-track" }, bar, label));
}

export function axis(v) {
  v.ticks = TICKS.map(f => h("span", { class: "wf-tick", style: { left: `${f * 100}%` } }));
  v.axisEl = h("div", { class: "wf-axis" }, v.ticks);
  updateAxis(v);
  return v.axisEl;
}

export function updateAxis(v) {
  const [a, b] = v.range;
  TICKS.forEach((f, k) => { v.ticks[k].textContent = fmtMs((a + (b - a) * f) / 1e6); });
}

// The name column's width: dragged on its right edge, remembered in the browser.
export function labelResizer(v) {
  const host = () => v.tabs.waterfall;     // the minimap's label column follows the waterfall's
  const stored = Number(localStorage.getItem(LABEL_KEY));
  if (stored > 0) queueMicrotask(() => host().style.setProperty("--wf-label", `${stored}px`));
  const handle = h("div", { class: "wf-resize", id: "wf-resize", role: "separator", "aria-orientation": "vertical",
                            title: "Drag to widen the name column (double-click: default)" });
  handle.addEventListener("pointerdown", e => {
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    const origin = v.waterfall.getBoundingClientRect().left;
    const move = ev => {
      const w = Math.round(Math.min(Math.max(ev.clientX - origin, 120), v.waterfall.clientWidth - 160));
      host().style.setProperty("--wf-label", `${w}px`);
      localStorage.setItem(LABEL_KEY, String(w));
    };
    const up = () => { handle.removeEventListener("pointermove", move); handle.removeEventListener("pointerup", up); };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
  });
  handle.addEventListener("dblclick", () => {
    host().style.removeProperty("--wf-label");
    localStorage.removeItem(LABEL_KEY);
  });
  return handle;
}

// The minimap: every span as a thin bar over the whole trace; drag a range to zoom the waterfall.
export function minimap(v) {
  const canvas = h("canvas", { class: "mm-canvas", height: 36 });
  const shade = h("div", { class: "mm-window", hidden: true });
  const drag = h("div", { class: "mm-drag", hidden: true });
  const ticks = h("div", { class: "mm-ticks" }, TICKS.map(f => h("span", { style: { left: `${f * 100}%` } },
                                                                    fmtMs(v.m.total * f / 1e6))));
  const box = h("div", { class: "mm-box", title: "Drag to zoom the waterfall to a time range" }, canvas, shade, drag);
  const el = h("div", { class: "minimap", id: "minimap" }, h("div", { class: "mm-side" }, "Timeline: drag to zoom"),
               h("div", { class: "mm-main" }, box, ticks));
  const fraction = e => {
    const r = box.getBoundingClientRect();
    return Math.min(Math.max((e.clientX - r.left) / (r.width || 1), 0), 1);
  };
  box.addEventListener("pointerdown", e => {
    e.preventDefault();
    box.setPointerCapture(e.pointerId);
    const f0 = fraction(e);
    const move = ev => {
      const f1 = fraction(ev);
      drag.hidden = false;
      Object.assign(drag.style, { left: `${Math.min(f0, f1) * 100}%`, width: `${Math.abs(f1 - f0) * 100}%` });
    };
    const up = ev => {
      box.removeEventListener("pointermove", move);
      box.removeEventListener("pointerup", up);
      drag.hidden = true;
      const f1 = fraction(ev);
      if (Math.abs(f1 - f0) * box.clientWidth >= 3) {
        v.setRange([Math.min(f0, f1) * v.m.total, Math.max(f0, f1) * v.m.total]);
      }
    };
    box.addEventListener("pointermove", move);
    box.addEventListener("pointerup", up);
  });
  v.minimapEl = el;
  v.drawMinimap = () => {
    const m = v.m, width = box.clientWidth || 600, dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(36 * dpr);
    canvas.style.width = "100%";
    const ctx = canvas.getContext("2d"), n = m.order.length, H = canvas.height;
    const rowH = Math.max(H / Math.max(n, 1), 1);
    m.order.forEach((i, k) => {
      const s = m.spans[i];
      ctx.fillStyle = v.colour(s.service);
      ctx.fillRect(m.rel[i] / m.total * canvas.width, k / Math.max(n, 1) * H,
                   Math.max(s.duration_ns / m.total * canvas.width, 1), rowH);
    });
    const [a, b] = v.range, zoomed = a > 0 || b < m.total;
    shade.hidden = !zoomed;
    if (zoomed) Object.assign(shade.style, { left: `${a / m.total * 100}%`, width: `${(b - a) / m.total * 100}%` });
  };
  return el;
}
