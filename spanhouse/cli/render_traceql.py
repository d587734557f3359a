"""What ``spanhouse q`` prints: Tempo's search answer as a table of traces and their matched
spans, and Tempo's metrics answer as one small terminal chart per series.

Both read Tempo's own JSON (``tempopb.SearchResponse`` and ``QueryRangeResponse`` as jsonpb
writes them: camelCase names, 64-bit integers as strings, attribute values as OTLP
``AnyValue``s), so the CLI prints whatever a Tempo-compatible server answers. The chart is drawn
with Unicode eighth blocks through rich rather than a plotting library: plotext, the obvious
one, replaced its whole API in 6.x, and a bar per time column is all a terminal needs here.
"""

from __future__ import annotations

import datetime as _dt
import math

from rich.markup import escape
from rich.table import Table

from spanhouse.cli.render import console, format_ms

# One chart: this many columns of bars and rows of height (eighths make it 8x finer).
CHART_WIDTH, CHART_HEIGHT = 60, 6
MAX_CHARTS = 12        # series beyond these are listed by their last values only
EIGHTHS = " ▁▂▃▄▅▆▇█"
ENUMS = ("status", "kind", "span:status", "span:kind")

SAMPLING_NOTE = ("Values are sampling-aware estimates: each stored span counts as the spans it "
                 "stands for (AdjustedCount), so they estimate the traffic before sampling.")
MIN_MAX_NOTE = ("min_over_time and max_over_time are not weighted: they are the extreme stored "
                "values.")


# ------------------------------------------------------------------ Tempo's JSON
def any_value(value: object) -> object:
    """An OTLP JSON ``AnyValue`` (``{"stringValue": "x"}``, ``{"intValue": "3"}``, ...) -> a
    Python value; anything else as is."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv.get("key", ""): any_value(kv.get("value"))
                for kv in value["kvlistValue"].get("values", [])}
    return ""


def key_values(items: list | None) -> list[tuple[str, object]]:
    """Tempo's ``[{"key", "value": AnyValue}]`` -> ``[(key, value)]`` in order."""
    return [(str(kv.get("key", "")), any_value(kv.get("value"))) for kv in items or []]


def show_value(value: object) -> str:
    """An attribute value as TraceQL would spell it: strings quoted, the rest plain."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ns(value: object) -> int:
    """A uint64 jsonpb wrote as a string (or a number, or absent: jsonpb omits zeros)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def local_ns(ns: int, with_date: bool = True) -> str:
    """Unix nanoseconds -> local ``YYYY-MM-DD HH:MM:SS`` (``HH:MM:SS`` without the date)."""
    moment = _dt.datetime.fromtimestamp(ns / 1e9).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


# ------------------------------------------------------------------ spansets
def _span_line(span: dict) -> str:
    """One matched span: ``name  12.0 ms  span.http.route="/x" status=error``."""
    # status and kind are enums in TraceQL (``status = error``), though strings in the JSON
    attributes = " ".join(f"{escape(k)}={escape(str(v) if k in ENUMS else show_value(v))}"
                          for k, v in key_values(span.get("attributes")))
    duration = format_ms(_ns(span.get("durationNanos")) / 1e6)
    return f"[bold]{escape(span.get('name', ''))}[/bold]  {duration}" + \
        (f"  [dim]{attributes}[/dim]" if attributes else "")


def _spanset_cell(spansets: list[dict]) -> tuple[int, str]:
    """(matched spans in all spansets, the lines of the spans shown and the spansets' own
    attributes such as ``by(...)`` values and ``count()``)."""
    matched, lines = 0, []
    for spanset in spansets:
        spans = spanset.get("spans") or []
        count = int(spanset.get("matched") or len(spans))
        matched += count
        own = key_values(spanset.get("attributes"))
        if own or len(spansets) > 1:
            lines.append("[cyan]" + escape(" ".join(f"{k}={show_value(v)}" for k, v in own)
                                           or "spanset") + f"[/cyan] ({count} matched)")
        lines += [_span_line(span) for span in spans]
        if count > len(spans):
            lines.append(f"[dim]… {count - len(spans)} more (raise --spss)[/dim]")
    return matched, "\n".join(lines)


def print_search(body: dict, title: str) -> None:
    """Tempo's search answer: a row per trace (most recent first, as the server orders them)
    with its matched spans and their attributes."""
    traces = body.get("traces") or []
    out = console()
    if not traces:
        out.print(f"No traces match {title}.", markup=False)
        return
    table = Table(title=escape(f"Traces matching {title}"), title_justify="left")
    table.add_column("TRACE ID", no_wrap=True)
    table.add_column("ROOT", overflow="fold")
    table.add_column("START", no_wrap=True)
    table.add_column("DURATION", justify="right", no_wrap=True)
    table.add_column("MATCHED", justify="right")
    table.add_column("MATCHED SPANS", overflow="fold")
    for match in traces:
        spansets = match.get("spanSets") or ([match["spanSet"]] if match.get("spanSet") else [])
        matched, cell = _spanset_cell(spansets)
        root = f"{match.get('rootServiceName', '')}: {match.get('rootTraceName', '')}"
        table.add_row(escape(str(match.get("traceID", ""))), escape(root),
                      local_ns(_ns(match.get("startTimeUnixNano"))),
                      format_ms(float(match.get("durationMs") or 0)), str(matched), cell)
    out.print(table)
    out.print("[dim]Open one with: spanhouse trace TRACE_ID[/dim]")


# ------------------------------------------------------------------ metrics
def series_label(labels: list[tuple[str, object]]) -> str:
    """``{resource.service.name="cart", p=0.9}`` as Tempo's labels; ``{}`` for one series."""
    return "{" + ", ".join(f"{k}={show_value(v)}" for k, v in labels) + "}"


def format_value(value: float, seconds: bool) -> str:
    """A sample: a duration when the query measures one (Tempo answers seconds), else a
    number with three significant digits (``0.0417``, ``12.5``, ``1,250``)."""
    if seconds:
        return format_ms(value * 1000)
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def bar_rows(values: list[float | None], height: int = CHART_HEIGHT) -> list[str]:
    """Columns of bars, ``height`` rows from the top, scaled so the largest value fills the
    column; ``None`` (no sample in that column) stays blank, a positive value shows at least
    one eighth."""
    top = max([v for v in values if v is not None] + [0.0])
    eighths = []
    for value in values:
        if value is None or value <= 0 or top <= 0:
            eighths.append(0)
        else:
            eighths.append(max(1, round(value / top * height * 8)))
    rows = []
    for row in range(height, 0, -1):           # row ``height`` is the top one
        floor = (row - 1) * 8
        rows.append("".join(EIGHTHS[min(max(e - floor, 0), 8)] for e in eighths))
    return rows


def columns(samples: list[tuple[int, float]], start_ms: int, end_ms: int,
            width: int = CHART_WIDTH) -> list[float | None]:
    """Samples placed on ``width`` columns spanning [start_ms, end_ms]: a column's value is the
    mean of its samples (few: the query's steps bound them); samples outside are left out
    rather than piled on an edge."""
    sums: list[float] = [0.0] * width
    counts = [0] * width
    span = max(end_ms - start_ms, 1)
    for t, v in samples:
        if not start_ms <= t <= end_ms:
            continue
        i = min((t - start_ms) * width // span, width - 1)
        sums[i] += v
        counts[i] += 1
    return [sums[i] / counts[i] if counts[i] else None for i in range(width)]


def _number(value: object) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return math.nan


def parse_series(body: dict) -> list[tuple[list[tuple[str, object]], list[tuple[int, float]]]]:
    """Tempo's ``series`` -> [(labels, [(timestamp ms, value)] ascending)]."""
    found = []
    for series in body.get("series") or []:
        samples = sorted((_ns(s.get("timestampMs")), _number(s.get("value")))
                         for s in series.get("samples") or [])
        # jsonpb writes NaN as "NaN" (an empty quantile): no value, not a zero
        samples = [(t, v) for t, v in samples if math.isfinite(v)]
        found.append((key_values(series.get("labels")), samples))
    return found


def step_of(series: list[tuple[list, list[tuple[int, float]]]]) -> int:
    """The step of an answer, in ms: the smallest gap between two sample times (0 when no
    series has two samples: the one sample is then drawn at its time)."""
    times = sorted({t for _, samples in series for t, _ in samples})
    gaps = [b - a for a, b in zip(times, times[1:]) if b > a]
    return min(gaps) if gaps else 0


def print_metrics(body: dict, title: str, start_ns: int, end_ns: int, *, seconds: bool,
                  note: str | None, step_ns: int | None = None) -> None:
    """One small chart per series (``MAX_CHARTS`` at most, the rest by their last value),
    each with its last, lowest and highest value, then ``note``: what the values are."""
    series = parse_series(body)
    out = console()
    if not series:
        out.print(f"No data for {title}.", markup=False)
        return
    out.print(f"[bold]{escape(title)}[/bold]")
    start_ms, end_ms = start_ns // 1_000_000, end_ns // 1_000_000
    # Tempo stamps a step's sample at the step's right end: draw (t - step, t] from t - step
    step_ms = step_ns // 1_000_000 if step_ns else step_of(series)
    axis = f"{local_ns(start_ns, False)}{' ' * (CHART_WIDTH - 16)}{local_ns(end_ns, False)}"
    for labels, samples in series[:MAX_CHARTS]:
        values = [v for _, v in samples]
        out.print()
        out.print(f"[cyan]{escape(series_label(labels))}[/cyan]")
        if not values:
            out.print("[dim](no samples)[/dim]")
            continue
        rows = bar_rows(columns([(t - step_ms, v) for t, v in samples], start_ms, end_ms))
        scale = format_value(max(values), seconds)
        for i, row in enumerate(rows):
            gutter = scale if i == 0 else ("0" if i == len(rows) - 1 else "")
            out.print(f"{gutter:>10} │[green]{row}[/green]", markup=True, highlight=False)
        out.print(f"{'':>10} └{'─' * CHART_WIDTH}")
        out.print(f"{'':>12}{axis}", markup=False)
        out.print(f"{'':>12}last {format_value(values[-1], seconds)} at "
                  f"{local_ns(samples[-1][0] * 1_000_000, False)} · min "
                  f"{format_value(min(values), seconds)} · max {format_value(max(values), seconds)}",
                  markup=False)
    rest = series[MAX_CHARTS:]
    if rest:
        out.print()
        out.print(f"{len(rest)} more series (last values; --json for all):", markup=False)
        for labels, samples in rest:
            last = format_value(samples[-1][1], seconds) if samples else "-"
            out.print(f"  {series_label(labels)}  {last}", markup=False)
    if note:
        out.print()
        out.print(f"[dim]{escape(note)}[/dim]")
