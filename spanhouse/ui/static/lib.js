// Small helpers shared by the views: DOM building, the API client, formatting, time ranges.

export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
                 : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "style" && typeof v === "object") {
      // custom properties ("--svc") only take through setProperty
      for (const [p, x] of Object.entries(v)) if (p.startsWith("--")) el.style.setProperty(p, x); else el.style[p] = x;
    }
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (!svg && k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// GET a Spanhouse /api/v1 (or Jaeger /api) path; params may repeat keys (arrays).
export async function api(path, params = {}, pending = null) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one !== undefined && one !== null && one !== "") qs.append(k, one);
    }
  }
  const url = qs.toString() ? `${path}?${qs}` : path;
  let response;
  try {
    response = await (pending || fetch(url, { headers: { Accept: "application/json" } }));
  } catch (e) {
    throw new ApiError(0, "the Spanhouse server is not reachable");
  }
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) {
    const message = body?.error?.message || body?.errors?.[0]?.msg || response.statusText;
    throw new ApiError(response.status, message);
  }
  return body;
}

// Query-string parameters of the page URL as {key: value | [values]} for repeatable keys.
export function pageParams(repeatable = ["attr", "key"]) {
  const out = {};
  const qs = new URLSearchParams(location.search);
  for (const [k, v] of qs) {
    if (repeatable.includes(k)) (out[k] ||= []).push(v);
    else out[k] = v;
  }
  return out;
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("spanhouse:navigate"));
}

export function urlWith(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one !== undefined && one !== null && one !== "") qs.append(k, one);
    }
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms >= 60000) return `${(ms / 60000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10000 ? 1 : 2)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  if (ms > 0) return `${Math.round(ms * 1000)} µs`;
  return "0 ms";
}

export function fmtPct(x, digits = 0) {
  if (x === null || x === undefined) return "–";
  return `${(x * 100).toFixed(digits)}%`;
}

// Times as the CLI prints them: 24-hour clock, whatever the browser's locale.
export function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit",
                                       minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

export function fmtClock(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

// Service colours: a palette of 14 that reads on both themes (no red: red means error).
export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
                        "#ff9da7", "#499894", "#a0cbe8", "#b6992d", "#d4a6c8", "#8cd17d", "#bab0ac"];
function hashColour(name) {
  let hash = 0;
  for (const c of name || "") hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}
// Deterministic colour of a service seen alone (search list, map): hashed into the palette.
export function serviceColour(name) { return hashColour(name); }

// Colours for the services of one trace: distinct, by order of appearance, hashing past the palette.
export function serviceColours(names) {
  const map = new Map();
  names.forEach((n, k) => { if (!map.has(n)) map.set(n, k < PALETTE.length ? PALETTE[k] : hashColour(n)); });
  return name => map.get(name) || hashColour(name);
}

// The time-range control shared by the views: presets set `since`, custom sets `start`/`end`.
export const PRESETS = ["5m", "15m", "1h", "6h", "24h", "7d"];

export function rangeControl(params, { defaultSince = "1h" } = {}) {
  const custom = !!params.start;
  const preset = h("select", { name: "since", "aria-label": "Time range" },
    PRESETS.map(p => h("option", { value: p, selected: !custom && (params.since || defaultSince) === p },
                       `Last ${p}`)),
    h("option", { value: "custom", selected: custom }, "Custom…"));
  const toLocal = iso => {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  };
  const start = h("input", { type: "datetime-local", name: "start", value: toLocal(params.start),
                             "aria-label": "From" });
  const end = h("input", { type: "datetime-local", name: "end", value: toLocal(params.end),
                           "aria-label": "To" });
  const customBox = h("span", { class: "custom-range", hidden: !custom }, start, " – ", end);
  preset.addEventListener("change", () => { customBox.hidden = preset.value !== "custom"; });
  const el = h("label", { class: "field" }, h("span", {}, "Time range"), h("span", { class: "row" }, preset, customBox));
  return {
    el,
    values() {
      if (preset.value !== "custom") return { since: preset.value };
      const out = {};
      if (start.value) out.start = new Date(start.value).toISOString();
      if (end.value) out.end = new Date(end.value).toISOString();
      if (!out.start) out.since = defaultSince;
      return out;
    },
  };
}

export function windowParams(params, defaultSince = "1h") {
  if (params.start) return { start: params.start, end: params.end };
  return { since: params.since || defaultSince, end: params.end };
}

export function errorBox(err) {
  const msg = err instanceof ApiError && err.status === 0
    ? "The Spanhouse server is not reachable. Is `spanhouse serve` running?"
    : err.message || String(err);
  return h("div", { class: "error-box", role: "alert" }, h("strong", {}, "Error: "), msg);
}

export function emptyState(title, hint) {
  return h("div", { class: "empty" }, h("p", { class: "empty-title" }, title),
           hint ? h("p", { class: "muted" }, hint) : null);
}

export const NO_TRACES_HINT = "Is your exporter pointing at :4317 (OTLP/gRPC) or :4318 (OTLP/HTTP)? " +
  "Try a wider time range.";

export function traceLink(traceId, text) {
  return h("a", { href: `/trace/${traceId}`, class: "mono", "data-trace-link": traceId }, text || traceId.slice(0, 16));
}
