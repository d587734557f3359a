"""``spanhouse trace``'s picture: a line per span, indented by depth, with a bar over the
trace's time span; errors marked with ✗."""

from __future__ import annotations

from collections import defaultdict

from spanhouse.cli.render import format_ms, local_time

BAR_WIDTH = 40


def span_order(spans: list[dict]) -> list[tuple[dict, int]]:
    """Depth-first from the roots (spans whose parent is absent), children by start time."""
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str, list[dict]] = defaultdict(list)
    roots = []
    for span in spans:
        parent = span.get("parent_span_id") or ""
        if parent and parent in by_id and parent != span["span_id"]:
            children[parent].append(span)
        else:
            roots.append(span)
    key = lambda s: (s["start_ns"], s["span_id"])  # noqa: E731
    ordered: list[tuple[dict, int]] = []
    seen: set[str] = set()
    for root in sorted(roots, key=key):
        stack = [(root, 0)]
        while stack:
            span, depth = stack.pop()
            if span["span_id"] in seen:
                continue
            seen.add(span["span_id"])
            ordered.append((span, depth))
            stack.extend((c, depth + 1) for c in sorted(children[span["span_id"]], key=key,
                                                        reverse=True))
    # Spans caught in a parent cycle are never reached from a root: list them flat at the end.
    ordered += [(s, 0) for s in sorted(spans, key=key) if s["span_id"] not in seen]
    return ordered


def waterfall(trace_data: dict, bar_width: int = BAR_WIDTH, label_width: int = 60) -> list:
    """The lines (rich ``Text``) of ``spanhouse trace``."""
    from rich.text import Text

    spans = trace_data["spans"]
    if not spans:
        return [Text(f"Trace {trace_data.get('trace_id', '')} has no spans.")]
    t0 = min(s["start_ns"] for s in spans)
    t1 = max(s["start_ns"] + s["duration_ns"] for s in spans)
    total = max(t1 - t0, 1)
    by_id = {s["span_id"] for s in spans}
    rows = []
    for span, depth in span_order(spans):
        failed = span["status"]["code"] == "error"
        label = Text("  " * depth)
        label.append(span["service"], style="bold cyan")
        label.append(f" {span['name']}")
        if span.get("parent_span_id") and span["parent_span_id"] not in by_id:
            label.append(" (parent missing)", style="yellow")
        if failed:
            label.append(" ✗", style="bold red")
        rows.append((span, label, failed))
    width = min(max(len(label.plain) for _, label, _ in rows), label_width)

    n_services = len(trace_data.get("services") or {s["service"] for s in spans})
    error_count = trace_data.get("error_count", sum(1 for _, _, f in rows if f))
    header = Text(f"Trace {trace_data.get('trace_id', spans[0]['trace_id'])}", style="bold")
    header.append(f"  {len(spans)} spans · {n_services} service{'s' * (n_services != 1)} · "
                  f"{format_ms(trace_data.get('duration_ms', total / 1e6))}")
    if trace_data.get("start"):
        header.append(f" · started {local_time(trace_data['start'])}")
    if error_count:
        header.append(f" · {error_count} error{'s' * (error_count != 1)}", style="red")
    scale_end = format_ms(total / 1e6)
    # "0" above the bar's first cell, the trace's length ending above its last.
    scale = Text(" " * (width + 3) + "0" + scale_end.rjust(bar_width - 1), style="dim")
    lines = [header, scale]
    for span, label, failed in rows:
        offset = min(int((span["start_ns"] - t0) * bar_width / total), bar_width - 1)
        length = max(1, round(span["duration_ns"] * bar_width / total))
        length = min(length, bar_width - offset)
        if len(label.plain) > width:
            label.truncate(width - 1)
            label.append("…")
        line = Text()
        line.append_text(label)
        line.append(" " * (width - len(label.plain) + 2))
        line.append("│" + " " * offset)
        line.append("█" * length, style="red" if failed else "green")
        line.append(" " * (bar_width - offset - length) + "│")
        line.append(f" {format_ms(span['duration_ms']):>10}")
        if failed and span["status"].get("message"):
            line.append(f"  {span['status']['message']}", style="red")
        lines.append(line)
    return lines
