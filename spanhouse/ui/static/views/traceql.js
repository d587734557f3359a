// The TraceQL box of the search page: a query line that completes attribute names (Tempo's
// /api/v2/search/tags) and, after `name =`, their values (/api/v2/search/tag/{name}/values);
// Run puts the query in the URL (?q=, so every URL reproduces its result), and the page then
// lists the matching traces or, for a metrics query, draws its series with charts.js.
// It talks to the server's Tempo API mounted under /tempo on this same origin.
import { h, navigate, urlWith, fmtMs, fmtTime, serviceColour, rangeControl, errorBox, emptyState,
         ApiError, PALETTE, NO_TRACES_HINT } from "../lib.js";
import { stackedBars } from "./charts.js";

const TEMPO = "/tempo";
const MAX_SUGGESTIONS = 12;
const METRICS_FNS = ["rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time",
                     "sum_over_time", "quantile_over_time", "histogram_over_time"];
// Series of these add up (spans per step), so they are stacked in one chart; the others
// (quantiles, averages, extremes) get a chart each: stacking them would mean nothing.
const ADDITIVE = ["rate", "count_over_time", "sum_over_time", "histogram_over_time"];
const METRICS_CALL = new RegExp(`\\|\\s*(${METRICS_FNS.join("|")})\\s*\\(`);
const STRINGS = /"(?:[^"\\]|\\.)*"|`[^`]*`/g;
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const EXAMPLE = '{ resource.service.name = "checkout" && status = error }';
const SAMPLING_NOTE = "Values are sampling-aware estimates: each stored span counts as the spans it " +
  "stands for (AdjustedCount).";

// GET a Tempo API path; Tempo answers errors as plain text (Spanhouse's /api/v1 as JSON).
// With `withHeaders`: {body, headers} (Spanhouse says what metrics values are in headers).
async function tempoGet(path, params, withHeaders = false) {
  let response;
  try {
    response = await fetch(urlWith(path, params), { headers: { Accept: "application/json" } });
  } catch (e) {
    throw new ApiError(0, "the Spanhouse server is not reachable");
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text.trim().split("\n")[0];
    try { message = JSON.parse(text)?.error?.message || message; } catch (e) { /* plain text */ }
    throw new ApiError(response.status, message || response.statusText);
  }
  const body = JSON.parse(text);
  return withHeaders ? { body, headers: response.headers } : body;
}

// The metrics function of a query, or null for a spanset query (pipes inside strings ignored).
export function metricsFn(query) {
  return METRICS_CALL.exec(query.replace(STRINGS, '""'))?.[1] || null;
}

const UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

// The page's window as Tempo's start/end (Unix seconds).
export function windowSeconds(params, now = Date.now()) {
  if (params.start) {
    const end = params.end ? Date.parse(params.end) : now;
    return { start: Math.floor(Date.parse(params.start) / 1000), end: Math.ceil(end / 1000) };
  }
  const m = /^(\d+)([smhdw])$/.exec(params.since || "1h");
  const end = params.end ? Date.parse(params.end) : now;
  const span = m ? Number(m[1]) * UNITS[m[2]] : 3600;
  return { start: Math.floor(end / 1000) - span, end: Math.ceil(end / 1000) };
}

// ------------------------------------------------------------------ completion
// What the caret is in: a value after `name op`, a name, or nothing to complete.
export function completionContext(before) {
  const quotes = (before.replace(/\\./g, "").match(/"/g) || []).length;
  // a quoted value may hold spaces; an unquoted one runs to a space or an operator
  const value = /((?:span|resource|event|link|instrumentation)?\.[\w.\-/:]+|[A-Za-z][\w:]*|\.?"[^"]+")\s*(=|!=|=~|!~|>=|<=|>|<)\s*(?:(")([^"]*)|([^"\s&|)}]*))$/.exec(before);
  if (value && (quotes % 2 === 0 || value[3] === '"')) {
    const typed = value[3] ? value[4] : value[5];
    return { kind: "value", name: value[1], quoted: !!value[3], prefix: typed,
             from: before.length - (value[3] ? 1 : 0) - typed.length };
  }
  if (quotes % 2) return null;                       // inside a string literal
  const opens = (before.match(/[{(]/g) || []).length, closes = (before.match(/[})]/g) || []).length;
  const name = /(^|[{\s(&|!,])([.\w:-]*)$/.exec(before);
  if (!name || opens <= closes) return null;
  // nothing typed yet: names only where one may start (not after a finished condition)
  if (!name[2] && !/(^|[{(,!]|&&|\|\|)\s*$/.test(before)) return null;
  return { kind: "name", prefix: name[2], from: before.length - name[2].length };
}

// Tempo's scoped tags -> the names a query writes (`span.http.route`, `name` for intrinsics).
export function tagNames(body) {
  const out = [];
  for (const scope of body.scopes || []) {
    for (const tag of scope.tags || []) {
      out.push(scope.name === "intrinsic" ? tag : `${scope.name}.${tag}`);
    }
  }
  return [...new Set(out)];
}

function rank(names, prefix) {
  // `http` offers span.http.route first (a dotted part starts so), then names merely containing it
  const p = prefix.toLowerCase(), bare = p.replace(/^\./, "");
  const score = n => n.toLowerCase().startsWith(p) || n.toLowerCase().split(".").some(x => x.startsWith(bare)) ? 0 : 1;
  return names.filter(n => n.toLowerCase().includes(p))
    .sort((a, b) => score(a) - score(b) || a.localeCompare(b)).slice(0, MAX_SUGGESTIONS);
}

function completer(input, win) {
  const list = h("ul", { class: "traceql-suggestions", id: "traceql-suggestions", role: "listbox", hidden: true });
  let items = [], active = -1, context = null, seq = 0, tags = null;
  const values = new Map();

  const close = () => { list.hidden = true; items = []; active = -1; input.setAttribute("aria-expanded", "false"); };
  const show = found => {
    items = found;
    active = found.length ? 0 : -1;
    list.replaceChildren(...found.map((s, i) => h("li", { role: "option", class: "suggestion", "data-value": s.insert,
      "aria-selected": String(i === active), onmousedown: e => { e.preventDefault(); accept(i); } },
      h("span", { class: "mono" }, s.label), s.type ? h("span", { class: "muted small" }, ` ${s.type}`) : "")));
    list.hidden = !found.length;
    input.setAttribute("aria-expanded", String(!list.hidden));
  };
  const highlight = i => {
    active = (i + items.length) % items.length;
    [...list.children].forEach((li, k) => li.setAttribute("aria-selected", String(k === active)));
    list.children[active]?.scrollIntoView({ block: "nearest" });
  };
  const accept = i => {
    const s = items[i];
    if (!s || !context) return;
    const caret = input.selectionStart;
    const text = input.value;
    // a value replaces what was typed of it, up to the closing quote if there is one
    const rest = text.slice(caret).replace(context.kind === "value" && context.quoted ? /^[^"]*"?/ : /^[\w.:-]*/, "");
    input.value = text.slice(0, context.from) + s.insert + rest;
    const at = context.from + s.insert.length;
    input.setSelectionRange(at, at);
    close();
    input.focus();
  };

  async function suggest() {
    const mine = ++seq;
    context = completionContext(input.value.slice(0, input.selectionStart));
    if (!context) return close();
    let found = [];
    try {
      if (context.kind === "name") {
        tags ||= tempoGet(`${TEMPO}/api/v2/search/tags`, { ...win }).then(tagNames);
        found = rank(await tags, context.prefix).map(n => ({ label: n, insert: n }));
      } else {
        const name = context.name;
        if (!values.has(name)) {
          values.set(name, tempoGet(`${TEMPO}/api/v2/search/tag/${encodeURIComponent(name)}/values`, { ...win })
            .then(b => b.tagValues || []));
        }
        const p = context.prefix.toLowerCase();
        found = (await values.get(name)).filter(v => String(v.value).toLowerCase().includes(p))
          .slice(0, MAX_SUGGESTIONS)
          .map(v => ({ label: String(v.value), type: v.type,
                       insert: v.type === "string" ? JSON.stringify(String(v.value)) : String(v.value) }));
      }
    } catch (err) {
      tags = null;
      found = [];
    }
    if (mine === seq) show(found);
  }

  input.addEventListener("input", suggest);
  input.addEventListener("click", close);
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", e => {
    if (e.key === " " && e.ctrlKey) { e.preventDefault(); suggest(); return; }
    if (list.hidden || !items.length) return;
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
    else if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); accept(active); }
    else if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  return list;
}

// ------------------------------------------------------------------ the box
// {el: the form, run(results): a Promise when the URL has ?q=, else null}
export function traceqlBox(params) {
  const win = windowSeconds(params);
  const input = h("input", { name: "q", id: "traceql-input", class: "mono traceql-input", value: params.q || "",
                             placeholder: EXAMPLE, autocomplete: "off", spellcheck: false, role: "combobox",
                             "aria-label": "TraceQL query", "aria-autocomplete": "list",
                             "aria-controls": "traceql-suggestions", "aria-expanded": "false" });
  const range = rangeControl(params);
  const form = h("form", { class: "filters traceql-box", id: "traceql-form" },
    h("label", { class: "field traceql-field" }, h("span", {}, "TraceQL"),
      h("span", { class: "traceql-wrap" }, input, completer(input, win))),
    range.el,
    h("div", { class: "field actions" }, h("span", {}, " "),
      h("button", { type: "submit", class: "primary", id: "traceql-run" }, "Run")));
  form.addEventListener("submit", e => {
    e.preventDefault();
    if (input.value.trim()) navigate(urlWith("/search", { q: input.value.trim(), ...range.values() }));
  });
  return { el: form, run: params.q ? results => runQuery(results, params.q, win) : null };
}

async function runQuery(results, query, win) {
  results.replaceChildren(h("p", { class: "muted" }, "Running…"));
  const fn = metricsFn(query);
  try {
    if (fn) {
      // about 60 bars over the window (a second either way is rounding, not a wider window)
      const step = STEPS_S.find(s => s * 60 >= win.end - win.start - 1) || STEPS_S[STEPS_S.length - 1];
      const { body, headers } = await tempoGet(`${TEMPO}/api/metrics/query_range`,
                                                { q: query, ...win, step: `${step}s` }, true);
      results.replaceChildren(...metricsView(body, fn, win, step * 1000, headers));
    } else {
      const body = await tempoGet(`${TEMPO}/api/search`, { q: query, ...win, limit: 20, spss: 3 });
      results.replaceChildren(...searchView(body, win));
    }
  } catch (err) {
    results.replaceChildren(h("div", { id: "traceql-error" }, errorBox(err)));
  }
}

// ------------------------------------------------------------------ spansets
function attrValue(v) {
  if (!v || typeof v !== "object") return String(v);
  for (const k of ["stringValue", "intValue", "doubleValue", "boolValue"]) if (k in v) return String(v[k]);
  return JSON.stringify(v);
}

function searchView(body, win) {
  const traces = body.traces || [];
  if (!traces.length) return [emptyState("No traces match this query in the window", NO_TRACES_HINT)];
  const span = `${fmtTime(new Date(win.start * 1000).toISOString())} – ${fmtTime(new Date(win.end * 1000).toISOString())}`;
  return [h("p", { class: "summary", id: "result-count" },
            `${traces.length} trace${traces.length === 1 ? "" : "s"} match · ${span}`),
    h("table", { class: "grid-table", id: "traceql-results" },
      h("thead", {}, h("tr", {}, ["Root", "Duration", "Matched spans", "Start"].map(t => h("th", {}, t)))),
      h("tbody", {}, traces.map(t => {
        const sets = t.spanSets || (t.spanSet ? [t.spanSet] : []);
        const matched = sets.reduce((a, s) => a + (s.matched || 0), 0);
        const start = new Date(Number(t.startTimeUnixNano || 0) / 1e6).toISOString();
        return h("tr", { "data-trace-id": t.traceID },
          h("td", {}, h("a", { href: `/trace/${t.traceID}` },
              h("span", { class: "svc", style: { "--svc": serviceColour(t.rootServiceName) } }, t.rootServiceName || "?"),
              " ", h("strong", {}, t.rootTraceName || "")),
            h("div", { class: "mono muted small" }, t.traceID)),
          h("td", { class: "num" }, fmtMs(t.durationMs || 0)),
          h("td", {}, h("div", { class: "muted small" }, `${matched} matched`),
            sets.flatMap(s => (s.spans || []).map(sp => h("div", { class: "matched-span" },
              h("a", { href: `/trace/${t.traceID}?span=${sp.spanID}` }, sp.name), " ",
              h("span", { class: "muted" }, fmtMs(Number(sp.durationNanos || 0) / 1e6)), " ",
              (sp.attributes || []).map(a => h("span", { class: "chip mono" }, `${a.key}=${attrValue(a.value)}`)))))),
          h("td", { class: "nowrap" }, fmtTime(start)));
      })))];
}

// ------------------------------------------------------------------ metrics
function seriesName(s) {
  const labels = (s.labels || []).map(l => `${l.key}=${attrValue(l.value)}`);
  return labels.length ? labels.join(", ") : "all spans";
}

function metricsView(body, fn, win, stepMs, headers) {
  const series = body.series || [];
  if (!series.length) return [emptyState("No data for this query in the window", NO_TRACES_HINT)];
  const first = Math.floor(win.start * 1000 / stepMs) * stepMs;
  const starts = [];
  for (let t = first; t < win.end * 1000; t += stepMs) starts.push(t);
  const stacks = series.map((s, k) => {
    const values = starts.map(() => 0);
    for (const p of s.samples || []) {
      // Tempo stamps a step's sample at its right end: (t - step, t] is drawn from t - step
      const i = Math.round((Number(p.timestampMs) - stepMs - first) / stepMs);
      const v = Number(p.value || 0);              // jsonpb's "NaN": an empty step, not a zero
      if (i >= 0 && i < values.length && Number.isFinite(v)) values[i] = v;
    }
    return { name: seriesName(s), colour: PALETTE[k % PALETTE.length], values };
  });
  const what = fn === "rate" ? "spans/s" : fn === "count_over_time" ? "spans" : fn;
  const legend = list => list.map(s => h("span", { class: "legend-item", "data-series": s.name },
    h("span", { class: "dot", style: { background: s.colour } }), " ", s.name));
  const figures = ADDITIVE.includes(fn)
    ? [h("figure", { class: "chart traceql-chart", id: "traceql-chart" },
        stackedBars({ id: "traceql-bars", starts, step: stepMs, stacks, what }),
        h("figcaption", { class: "muted" }, `${fn}, per ${stepMs / 1000} s step: `, legend(stacks)))]
    : stacks.map((s, k) => h("figure", { class: "chart traceql-chart", id: k ? null : "traceql-chart" },
        stackedBars({ id: `traceql-bars-${k}`, starts, step: stepMs, stacks: [s], what }),
        h("figcaption", { class: "muted" }, `${fn}${fn.endsWith("_over_time") && fn !== "count_over_time" ? " (seconds for durations)" : ""}: `, legend([s]))));
  const aware = headers.get("X-Spanhouse-Sampling-Aware");
  const note = ["min_over_time", "max_over_time"].includes(fn)
    ? "min_over_time and max_over_time are not weighted: they are the extreme stored values."
    : aware === "true" ? SAMPLING_NOTE
    : aware === "false" ? `Values are ${headers.get("X-Spanhouse-Estimate") || "stored spans, not corrected for sampling"}.` : "";
  return [...figures, note ? h("p", { class: "muted small", id: "traceql-note" }, note) : ""];
}
