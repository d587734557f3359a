// The service map: a layered SVG graph of /api/v1/dependencies (parent service -> child
// service). Edges carry the ESTIMATED calls and error rate (spans weighted by their sampling
// AdjustedCount) and the callee's p50/p95; calls whose trace context was lost (a client span
// naming a service that never saw it as a parent) are dashed "context lost" edges. Drawn by
// hand: a few dozen nodes need no graph library, and a layered layout keeps calls flowing left
// to right; an edge skipping columns is routed through the gaps between boxes, never under one.
import { h, api, pageParams, navigate, urlWith, fmtPct, fmtMs, serviceColour, rangeControl, windowParams,
         errorBox, emptyState, NO_TRACES_HINT } from "../lib.js";
import { fmtCount } from "./charts.js";

const LABEL_STYLE = "font-size:11px;paint-order:stroke;stroke:var(--panel);stroke-width:4px;stroke-linejoin:round";
const NW = 170, NH = 40, GX = 170, GY = 44, PAD = 24, CHAR = 6.4, LINE = 13;

// One shape for old and new servers: the estimate when the API gives it, else the stored count.
function normalise(e) {
  const calls = e.calls ?? e.callCount ?? 0, errors = e.errors ?? e.errorCount ?? 0;
  return { ...e, kind: e.kind || "call", calls, errors,
           rate: e.error_rate ?? (calls ? errors / calls : 0),
           storedCalls: e.stored_calls ?? e.callCount, storedErrors: e.stored_errors ?? e.errorCount,
           estimated: e.calls !== undefined };
}

export async function mount(app) {
  document.title = "Service map · Spanhouse";
  const params = pageParams();
  const range = rangeControl(params);
  const form = h("form", { class: "filters" }, h("p", { class: "form-title" }, "Service map"), range.el,
    h("div", { class: "field actions" }, h("span", {}, " "), h("button", { type: "submit", class: "primary" }, "Show")));
  form.addEventListener("submit", e => { e.preventDefault(); navigate(urlWith("/map", range.values())); });
  const out = h("section", { class: "results" }, h("p", { class: "muted" }, "Loading…"));
  app.append(form, out);
  let body;
  try { body = await api("/api/v1/dependencies", windowParams(params)); }
  catch (err) { out.replaceChildren(errorBox(err)); return; }
  const edges = (body.data || []).map(normalise);
  if (!edges.length) {
    out.replaceChildren(emptyState("No calls between services in this window", NO_TRACES_HINT));
    return;
  }
  out.replaceChildren(graph(edges), legend(edges), edgeTable(edges, windowParams(params)));
}

function layers(edges) {
  const nodes = [...new Set(edges.flatMap(e => [e.parent, e.child]))].sort();
  const out = new Map(nodes.map(n => [n, []]));
  const indeg = new Map(nodes.map(n => [n, 0]));
  for (const e of edges) if (e.parent !== e.child) { out.get(e.parent).push(e.child); indeg.set(e.child, indeg.get(e.child) + 1); }
  // longest path from a source; cycles are cut by bounding the depth by the node count
  const depth = new Map(nodes.map(n => [n, 0]));
  let queue = nodes.filter(n => indeg.get(n) === 0);
  if (!queue.length) queue = [nodes[0]];
  for (let round = 0; round < nodes.length && queue.length; round++) {
    const next = new Set();
    for (const n of queue) for (const c of out.get(n)) {
      if (depth.get(c) < depth.get(n) + 1 && depth.get(n) + 1 < nodes.length) { depth.set(c, depth.get(n) + 1); next.add(c); }
    }
    queue = [...next];
  }
  const columns = [];
  for (const n of nodes) (columns[depth.get(n)] ||= []).push(n);
  // order each column by the mean row of its callers (barycentre): fewer crossing edges
  const parents = new Map(nodes.map(n => [n, edges.filter(e => e.child === n && e.parent !== n).map(e => e.parent)]));
  const row = new Map();
  return columns.filter(Boolean).map((col, ci) => {
    if (ci > 0) {
      const centre = n => { const ps = parents.get(n).filter(p => row.has(p));
                            return ps.length ? ps.reduce((a, p) => a + row.get(p), 0) / ps.length : Infinity; };
      col.sort((a, b) => centre(a) - centre(b) || a.localeCompare(b));
    }
    col.forEach((n, r) => row.set(n, r - (col.length - 1) / 2));
    return col;
  });
}

// The label of an edge: calls and error rate (estimates), then the callee's latency.
function labelLines(e) {
  const calls = `${e.estimated ? "est. " : ""}${fmtCount(e.calls)} call${e.calls === 1 ? "" : "s"}`;
  const first = e.kind === "context_lost" ? [`context lost · ${calls}`] : [calls];
  if (e.errors) first.push({ testid: "edge-error-rate", text: `${fmtPct(e.rate, e.rate < 0.1 ? 1 : 0)} err` });
  const lines = [first];
  if (e.p50_ms !== undefined && e.p50_ms !== null) lines.push([`p50 ${fmtMs(e.p50_ms)} · p95 ${fmtMs(e.p95_ms)}`]);
  return lines;
}

const lineText = parts => parts.map(p => typeof p === "string" ? p : p.text).join(" · ");

// Waypoints of an edge from column ca to column cb > ca: through each column between them at
// the gap (between two boxes, or above / below them) nearest the straight line.
function route(a, b, ca, cb, columns, pos, shift) {
  const start = { x: a.x + NW, y: a.y + NH / 2 + shift }, end = { x: b.x, y: b.y + NH / 2 + shift };
  const points = [start];
  for (let c = ca + 1; c < cb; c++) {
    const boxes = columns[c].map(n => pos.get(n).y);
    const gaps = [boxes[0] - GY / 2, ...boxes.map(y => y + NH + GY / 2)];
    const x = pos.get(columns[c][0]).x;
    const straight = start.y + (end.y - start.y) * (x + NW / 2 - start.x) / (end.x - start.x);
    const y = gaps.reduce((best, g) => Math.abs(g - straight) < Math.abs(best - straight) ? g : best) + shift / 2;
    points.push({ x: x - 20, y }, { x: x + NW + 20, y });
  }
  points.push(end);
  return points;
}

// A smooth path through points with horizontal tangents (flat through the gaps).
function smooth(points) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1], q = points[i], mx = (p.x + q.x) / 2;
    d += ` C${mx},${p.y} ${mx},${q.y} ${q.x},${q.y}`;
  }
  return d;
}

function graph(edges) {
  const columns = layers(edges);
  const rows = Math.max(...columns.map(c => c.length));
  const W = PAD * 2 + columns.length * NW + (columns.length - 1) * GX;
  const H = PAD * 2 + rows * NH + (rows - 1) * GY;
  const pos = new Map(), column = new Map();
  columns.forEach((col, ci) => {
    const offset = (H - (col.length * NH + (col.length - 1) * GY)) / 2;
    col.forEach((n, ri) => { pos.set(n, { x: PAD + ci * (NW + GX), y: offset + ri * (NH + GY) }); column.set(n, ci); });
  });
  const marker = (id, cls) => h("svg:marker", { id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 10, markerHeight: 10,
                                                markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
                                h("svg:path", { d: "M0,0 L10,5 L0,10 z", class: cls }));
  const svg = h("svg:svg", { class: "service-map", id: "service-map", role: "img", "aria-label": "Service dependency graph" },
    h("svg:defs", {}, marker("arrow", "arrow"), marker("arrow-err", "arrow err"), marker("arrow-lost", "arrow lost")));
  // label blocks already placed, and the boxes: a label overlapping one moves to the nearest free place
  const taken = [...pos.values()].map(p => ({ x: p.x + NW / 2, y: p.y + NH / 2, w: NW + 4, h: NH + 4 }));
  const labels = [];  // every label is drawn again above every edge, so no later edge crosses one
  let minX = 0, minY = 0, maxX = W, maxY = H;
  for (const e of edges) {
    const a = pos.get(e.parent), b = pos.get(e.child);
    const lost = e.kind === "context_lost";
    const shift = lost ? 8 : 0;   // a lost edge beside a call edge of the same pair stays visible
    let d, cx, cy;   // the path, and the centre of its label
    if (e.parent === e.child) {
      d = `M${a.x + NW - 30},${a.y} C${a.x + NW - 10},${a.y - 40} ${a.x + NW + 30},${a.y - 10} ${a.x + NW},${a.y + 10}`;
      cx = a.x + NW; cy = a.y - 36;
    } else if (column.get(e.child) > column.get(e.parent)) {
      const points = route(a, b, column.get(e.parent), column.get(e.child), columns, pos, shift);
      d = smooth(points);
      // on the flat stretch through the first gap when the edge skips columns (unambiguous),
      // else mid-way between the columns, where the edges of one caller have fanned out
      const [p, q] = points.length > 2 ? [points[1], points[2]] : [points[0], points[1]];
      cx = (p.x + q.x) / 2; cy = (p.y + q.y) / 2;
    } else {   // a call back to an earlier column (or within one): a loop below the boxes
      const x1 = a.x + NW / 2, y1 = a.y + NH, x2 = b.x + NW / 2 + shift, y2 = b.y + NH;
      const low = Math.max(y1, y2) + GY;
      d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
      cx = (x1 + x2) / 2; cy = low;
    }
    const lines = labelLines(e);
    const width = Math.max(...lines.map(l => lineText(l).length)) * CHAR, height = lines.length * LINE;
    const free = y => !taken.some(t => Math.abs(t.x - cx) < (t.w + width) / 2 && Math.abs(t.y - y) < (t.h + height) / 2);
    const offsets = [0];
    for (let k = 1; k <= 12; k++) offsets.push(k * LINE / 2, -k * LINE / 2);
    cy += offsets.find(o => free(cy + o)) ?? 0;
    taken.push({ x: cx, y: cy, w: width, h: height });
    const lx = cx, ly = cy - height / 2 + LINE - 3;   // the first line's baseline
    minX = Math.min(minX, cx - width / 2 - 4); maxX = Math.max(maxX, cx + width / 2 + 4);
    minY = Math.min(minY, cy - height / 2 - 4); maxY = Math.max(maxY, cy + height / 2 + 4);
    const labelId = `edge-label-${labels.length}`;
    labels.push([`#${labelId}`, { x: cx - width / 2 - 2, y: cy - height / 2, width: width + 4, height }]);
    const cls = "edge" + (e.errors ? " has-error" : "") + (lost ? " context-lost" : "");
    svg.append(h("svg:g", { class: cls, "data-edge": `${e.parent}->${e.child}`, "data-kind": e.kind },
      h("svg:path", { d, "marker-end": lost ? "url(#arrow-lost)" : e.errors ? "url(#arrow-err)" : "url(#arrow)",
                      "stroke-dasharray": lost ? "6 4" : null,
                      "stroke-width": Math.min(1.5 + Math.log10(e.calls + 1) * 1.5, 6).toFixed(1) }),
      h("svg:text", { x: lx, y: ly, "text-anchor": "middle", class: "edge-label", id: labelId,
                      // inline, so the copy in the label layer (a <use>: no stylesheet reaches it) looks the same
                      style: `${LABEL_STYLE};fill:var(${lost ? "--bn" : e.errors ? "--err" : "--fg"})` },
        lines.map((parts, i) => h("svg:tspan", { x: lx, dy: i ? LINE : 0, class: i ? "latency" : null,
                                                 style: i ? "fill:var(--muted)" : null },
          parts.map((p, j) => [j ? " · " : "", typeof p === "string" ? p
            : h("svg:tspan", { "data-testid": p.testid }, p.text)])))),
      h("svg:title", {}, edgeTitle(e))));
  }
  svg.append(h("svg:g", { class: "label-layer", "aria-hidden": "true" },
    labels.map(([, box]) => h("svg:rect", { ...box, rx: 3, class: "label-bg" })),
    labels.map(([ref]) => h("svg:use", { href: ref }))));
  for (const [n, p] of pos) {
    svg.append(h("svg:a", { href: urlWith("/search", { service: n }), "data-service": n, class: "node" },
      h("svg:rect", { x: p.x, y: p.y, width: NW, height: NH, rx: 8, style: `--svc:${serviceColour(n)}` }),
      h("svg:text", { x: p.x + NW / 2, y: p.y + NH / 2 + 5, "text-anchor": "middle" },
        n.length > 22 ? n.slice(0, 21) + "…" : n),
      h("svg:title", {}, n)));
  }
  // the view box holds every label, however far it was pushed
  const vw = maxX - minX, vh = maxY - minY;
  svg.setAttribute("viewBox", `${minX.toFixed(0)} ${minY.toFixed(0)} ${vw.toFixed(0)} ${vh.toFixed(0)}`);
  svg.style.maxWidth = `${Math.ceil(vw)}px`;
  return h("figure", { class: "chart map-figure" }, svg);
}

function edgeTitle(e) {
  const what = e.kind === "context_lost"
    ? `${e.parent} called ${e.peer || e.child} but the trace context was lost (no span of ${e.child} in these traces)`
    : `${e.parent} → ${e.child}`;
  return `${what}\n${fmtCount(e.calls)} calls, ${fmtCount(e.errors)} errors${e.estimated ? " (estimated)" : ""}` +
    (e.estimated ? `\nstored: ${e.storedCalls} calls, ${e.storedErrors} errors` : "") +
    (e.p50_ms !== undefined && e.p50_ms !== null ? `\np50 ${fmtMs(e.p50_ms)}, p95 ${fmtMs(e.p95_ms)}` : "");
}

function legend(edges) {
  const estimated = edges.some(e => e.estimated);
  return h("p", { class: "muted small map-legend" },
    estimated ? "Calls and error rates are estimates (spans weighted by their sampling count); latency is the callee's p50 / p95. " : "",
    edges.some(e => e.kind === "context_lost")
      ? [h("span", { class: "lost-key" }, "- - -"), " context lost: the caller's client spans name the service, but no span of it joined their trace (propagation is broken)."]
      : "");
}

function edgeTable(edges, win) {
  return h("table", { class: "grid-table", id: "edge-table" },
    h("thead", {}, h("tr", {}, ["Caller", "Callee", "Calls (est.)", "Error rate (est.)", "p50", "p95", "Stored calls / errors", ""]
      .map(t => h("th", {}, t)))),
    h("tbody", {}, [...edges].sort((a, b) => b.calls - a.calls).map(e => h("tr", { "data-edge": `${e.parent}->${e.child}`, "data-kind": e.kind },
      h("td", {}, e.parent), h("td", {}, e.child, e.kind === "context_lost" ? h("span", { class: "lost-badge" }, "context lost") : ""),
      h("td", { class: "num", "data-testid": "edge-calls" }, fmtCount(e.calls)),
      h("td", { class: "num" + (e.errors ? " err" : ""), "data-testid": "edge-error-rate" }, fmtPct(e.rate, 1)),
      h("td", { class: "num" }, fmtMs(e.p50_ms)), h("td", { class: "num" }, fmtMs(e.p95_ms)),
      h("td", { class: "num muted" }, `${e.storedCalls ?? "–"} / ${e.storedErrors ?? "–"}`),
      h("td", {}, h("a", { href: urlWith("/search", { service: e.child, ...win }) }, "traces →"))))));
}
