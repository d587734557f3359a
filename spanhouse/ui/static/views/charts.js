// Chart helpers of the views (hand-drawn SVG, no library): round ticks for time and duration
// axes, and the stacked bars of a series over time.
import { fmtTime, h } from "../lib.js";

const ONE_TWO_FIVE = [1, 2, 5];

// 1-2-5 values of each decade between lo and hi; only the powers of ten when those are many.
export function logTicks(lo, hi) {
  const out = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of ONE_TWO_FIVE) {
      const v = Number((m * 10 ** k).toPrecision(1));
      if (v >= lo && v <= hi) out.push([v, m]);
    }
  }
  return (out.length > 8 ? out.filter(([, m]) => m === 1) : out).map(([v]) => v);
}

// Zero to hi at a 1-2-5 step giving at most five intervals.
export function linearTicks(hi) {
  const raw = hi / 5, k = 10 ** Math.floor(Math.log10(raw || 1));
  const step = ONE_TWO_FIVE.map(m => m * k).find(s => s >= raw) || 10 * k;
  const out = [];
  for (let v = 0; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
const TIME_STEPS = [1, 2, 5, 10, 15, 30].map(s => s * SECOND).concat(
  [1, 2, 5, 10, 15, 30].map(m => m * MINUTE), [1, 2, 3, 6, 12].map(x => x * HOUR), [1, 2, 7].map(d => d * DAY));

// Round local times between x0 and x1 (at most seven), each label distinct: seconds only when the
// step is under a minute, the date when the step is a day or more.
export function timeTicks(x0, x1) {
  const step = TIME_STEPS.find(s => (x1 - x0) / s <= 6) || TIME_STEPS[TIME_STEPS.length - 1];
  const tz = new Date(x0).getTimezoneOffset() * MINUTE;
  const fmt = step >= DAY ? { month: "short", day: "numeric" }
    : step >= MINUTE ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
    : { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  const out = [];
  for (let t = Math.ceil((x0 - tz) / step) * step + tz; t <= x1; t += step) {
    const label = step >= DAY ? new Date(t).toLocaleDateString(undefined, fmt) : new Date(t).toLocaleTimeString(undefined, fmt);
    if (!out.length || out[out.length - 1][1] !== label) out.push([t, label]);
  }
  return out;
}


// A count for a chart or table: whole numbers plain, small estimates with one decimal.
export function fmtCount(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (Math.abs(x) >= 10 || Math.abs(x - Math.round(x)) < 0.05) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(1);
}

// Stacked bars over time: `starts` the bucket starts (ms), `step` their width (ms), `stacks`
// [{name, colour, values}] one value per bucket. Every bar is a <rect data-stack data-t
// data-value>, so a test can add up what is drawn.
export function stackedBars({ id, starts, step, stacks, what = "errors" }) {
  const W = 1000, H = 170, L = 52, R = 12, T = 10, B = 24;
  const totals = starts.map((_, i) => stacks.reduce((a, s) => a + (s.values[i] || 0), 0));
  const ticks = linearTicks(Math.max(...totals, 1) * 1.08);
  const top = Math.max(ticks[ticks.length - 1], ...totals, 1);
  const x0 = starts[0], x1 = starts[starts.length - 1] + step;
  const px = x => L + (x - x0) / ((x1 - x0) || 1) * (W - L - R);
  const py = y => T + (1 - y / top) * (H - T - B);
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "bars", id, role: "img",
                             "aria-label": `${what} over time` },
    h("svg:line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  for (const v of ticks) {
    svg.append(h("svg:line", { x1: L, y1: py(v), x2: W - R, y2: py(v), class: "grid" }),
               h("svg:text", { x: L - 6, y: py(v) + 4, "text-anchor": "end", class: "tick" }, fmtCount(v)));
  }
  for (const [t, label] of timeTicks(x0, x1)) {
    svg.append(h("svg:text", { x: px(t), y: H - 8, "text-anchor": "middle", class: "tick x-tick" }, label));
  }
  const width = Math.max((W - L - R) / starts.length - 1, 1);
  starts.forEach((t, i) => {
    let base = 0;
    for (const s of stacks) {
      const v = s.values[i] || 0;
      if (v <= 0) continue;
      svg.append(h("svg:rect", { x: px(t).toFixed(1), y: py(base + v).toFixed(1), width: width.toFixed(1),
                                 height: Math.max(py(base) - py(base + v), 1).toFixed(1), fill: s.colour,
                                 class: "bar", "data-stack": s.name, "data-t": t, "data-value": v },
        h("svg:title", {}, `${s.name}: ${fmtCount(v)} ${what} (est.)\n${fmtTime(new Date(t).toISOString())}`)));
      base += v;
    }
  });
  return svg;
}
