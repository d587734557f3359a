// The trace as the view needs it: tree order and depth, relative times, self times, the error's
// origin and what a client span called. Plain data, no DOM.

export function buildModel(spans) {
  const n = spans.length;
  const m = { spans, index: new Map() };
  spans.forEach((s, i) => m.index.set(s.span_id, i));
  m.t0 = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    if (s.start_ns < m.t0) m.t0 = s.start_ns;
    if (s.start_ns + s.duration_ns > end) end = s.start_ns + s.duration_ns;
  }
  m.total = Math.max(end - m.t0, 1);
  m.rel = new Float64Array(n);
  m.parent = new Int32Array(n).fill(-1);
  m.children = Array.from({ length: n }, () => []);
  const roots = [];
  spans.forEach((s, i) => {
    m.rel[i] = s.start_ns - m.t0;
    const p = s.parent_span_id ? m.index.get(s.parent_span_id) : undefined;
    if (p === undefined || p === i) roots.push(i);
    else { m.parent[i] = p; m.children[p].push(i); }
  });
  const byStart = (a, b) => m.rel[a] - m.rel[b];
  for (const c of m.children) if (c.length > 1) c.sort(byStart);
  roots.sort(byStart);
  // depth-first order and depth, iteratively (a 10,000-deep chain must not blow the stack)
  m.order = [];
  m.depth = new Int32Array(n);
  const stack = roots.slice().reverse().map(i => [i, 0]);
  const seen = new Uint8Array(n);
  while (stack.length) {
    const [i, d] = stack.pop();
    if (seen[i]) continue;
    seen[i] = 1;
    m.depth[i] = d;
    m.order.push(i);
    const c = m.children[i];
    for (let k = c.length - 1; k >= 0; k--) stack.push([c[k], d + 1]);
  }
  for (let i = 0; i < n; i++) if (!seen[i]) m.order.push(i);   // parent cycles
  m.rootIdx = roots[0] ?? 0;
  m.root = spans[m.rootIdx];
  m.selfNs = selfTimes(m);
  return m;
}

function selfTimes(m) {
  // a span's self time: its duration minus the union of its children's time inside it
  const out = new Float64Array(m.spans.length);
  m.spans.forEach((s, i) => {
    const start = m.rel[i], end = start + s.duration_ns;
    const iv = m.children[i].map(c => [Math.max(m.rel[c], start), Math.min(m.rel[c] + m.spans[c].duration_ns, end)])
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

export const isError = s => s.status.code === "error";

// The error's origins: error spans none of whose children is an error, deepest first.
export function errorOrigins(m) {
  const out = [];
  for (const i of m.order) {
    if (isError(m.spans[i]) && !m.children[i].some(c => isError(m.spans[c]))) out.push(i);
  }
  return out.sort((a, b) => m.depth[b] - m.depth[a] || m.rel[a] - m.rel[b]);
}

// The exception a span recorded (its first "exception" event), or null.
export function exceptionOf(s) {
  const ev = (s.events || []).find(e => e.name === "exception" ||
    "exception.type" in (e.attributes || {}) || "exception.message" in (e.attributes || {}));
  if (!ev) return null;
  const a = ev.attributes || {};
  return { type: a["exception.type"] || "", message: a["exception.message"] || "",
           stacktrace: a["exception.stacktrace"] || "" };
}

const TARGET_KEYS = ["url.full", "http.url", "server.address", "peer.service", "http.route", "http.target", "url.path"];
const BARE = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE|QUERY)$/i;

// What a client span called, when its name says only the method ("POST"): its URL or peer.
export function spanTarget(s) {
  if (!BARE.test((s.name || "").trim())) return "";
  const a = s.attributes || {};
  for (const k of TARGET_KEYS) if (a[k]) {
    if (k === "server.address" && a["server.port"]) return `${a[k]}:${a["server.port"]}`;
    return String(a[k]);
  }
  return "";
}

// The services of the trace in order of first appearance (depth-first order: the root's first).
export function servicesInOrder(m) {
  const seen = new Set();
  for (const i of m.order) seen.add(m.spans[i].service);
  return [...seen];
}
