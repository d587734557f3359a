// The service map: a layered SVG graph of /api/v1/dependencies (parent service -> child
// service), call counts and error rates on the edges. Drawn by hand: a few dozen nodes need no
// graph library, and a layered layout keeps calls flowing left to right.
import { h, api, pageParams, navigate, urlWith, fmtPct, serviceColour, rangeControl, windowParams,
         errorBox, emptyState, NO_TRACES_HINT } from "../lib.js";

export async function mount(app) {
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
  const edges = body.data || [];
  if (!edges.length) {
    out.replaceChildren(emptyState("No calls between services in this window", NO_TRACES_HINT));
    return;
  }
  out.replaceChildren(graph(edges), edgeTable(edges, windowParams(params)));
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

function graph(edges) {
  const columns = layers(edges);
  const NW = 170, NH = 40, GX = 150, GY = 36, PAD = 24;
  const rows = Math.max(...columns.map(c => c.length));
  const W = PAD * 2 + columns.length * NW + (columns.length - 1) * GX;
  const H = PAD * 2 + rows * NH + (rows - 1) * GY;
  const pos = new Map();
  columns.forEach((col, ci) => {
    const offset = (H - (col.length * NH + (col.length - 1) * GY)) / 2;
    col.forEach((n, ri) => pos.set(n, { x: PAD + ci * (NW + GX), y: offset + ri * (NH + GY) }));
  });
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "service-map", id: "service-map",
                             style: { maxWidth: `${W}px` }, role: "img", "aria-label": "Service dependency graph" },
    h("svg:defs", {},
      h("svg:marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 10, markerHeight: 10,
                        markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
                      h("svg:path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" })),
      h("svg:marker", { id: "arrow-err", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 10, markerHeight: 10,
                        markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
                      h("svg:path", { d: "M0,0 L10,5 L0,10 z", class: "arrow err" }))));
  for (const e of edges) {
    const a = pos.get(e.parent), b = pos.get(e.child);
    const rate = e.callCount ? e.errorCount / e.callCount : 0;
    let d, lx, ly;
    if (e.parent === e.child) {
      d = `M${a.x + NW - 30},${a.y} C${a.x + NW - 10},${a.y - 40} ${a.x + NW + 30},${a.y - 10} ${a.x + NW},${a.y + 10}`;
      lx = a.x + NW; ly = a.y - 22;
    } else {
      const forward = b.x > a.x;
      const x1 = forward ? a.x + NW : a.x + NW / 2, y1 = forward ? a.y + NH / 2 : a.y + NH;
      const x2 = forward ? b.x : b.x + NW / 2, y2 = forward ? b.y + NH / 2 : b.y;
      const mx = (x1 + x2) / 2;
      const c1 = forward ? [mx, y1] : [x1 + 60, y1 + 60], c2 = forward ? [mx, y2] : [x2 + 60, y2 - 60];
      d = `M${x1},${y1} C${c1} ${c2} ${x2},${y2}`;
      // the label sits three quarters along the curve, near its callee, where edges fan apart
      const t = 0.72, u = 1 - t;
      lx = u ** 3 * x1 + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t ** 3 * x2;
      ly = u ** 3 * y1 + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t ** 3 * y2 - 5;
    }
    svg.append(h("svg:g", { class: "edge" + (e.errorCount ? " has-error" : ""), "data-edge": `${e.parent}->${e.child}` },
      h("svg:path", { d, "marker-end": e.errorCount ? "url(#arrow-err)" : "url(#arrow)",
                      "stroke-width": Math.min(1.5 + Math.log10(e.callCount + 1) * 1.5, 6).toFixed(1) }),
      h("svg:text", { x: lx, y: ly, "text-anchor": "middle", class: "edge-label" },
        `${e.callCount} call${e.callCount === 1 ? "" : "s"}${e.errorCount ? ` · ${fmtPct(rate, rate < 0.1 ? 1 : 0)} err` : ""}`),
      h("svg:title", {}, `${e.parent} → ${e.child}: ${e.callCount} calls, ${e.errorCount} errors`)));
  }
  for (const [n, p] of pos) {
    svg.append(h("svg:a", { href: urlWith("/search", { service: n }), "data-service": n, class: "node" },
      h("svg:rect", { x: p.x, y: p.y, width: NW, height: NH, rx: 8, style: `--svc:${serviceColour(n)}` }),
      h("svg:text", { x: p.x + NW / 2, y: p.y + NH / 2 + 5, "text-anchor": "middle" },
        n.length > 22 ? n.slice(0, 21) + "…" : n)));
  }
  return h("figure", { class: "chart map-figure" }, svg);
}

function edgeTable(edges, win) {
  return h("table", { class: "grid-table", id: "edge-table" },
    h("thead", {}, h("tr", {}, ["Caller", "Callee", "Calls", "Errors", "Error rate", ""].map(t => h("th", {}, t)))),
    h("tbody", {}, [...edges].sort((a, b) => b.callCount - a.callCount).map(e => h("tr", { "data-edge": `${e.parent}->${e.child}` },
      h("td", {}, e.parent), h("td", {}, e.child), h("td", { class: "num" }, e.callCount),
      h("td", { class: "num" + (e.errorCount ? " err" : "") }, e.errorCount),
      h("td", { class: "num" }, fmtPct(e.callCount ? e.errorCount / e.callCount : 0, 1)),
      h("td", {}, h("a", { href: urlWith("/search", { service: e.child, ...win }) }, "traces →"))))));
}
