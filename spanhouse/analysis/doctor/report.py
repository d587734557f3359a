"""What the doctor answers: ``Finding``s (one per mistake found, most severe first), the
sampling figures of the window, and the JSON the API and the CLI show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spanhouse.query.model import rfc3339

SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    severity: str                             # "high", "medium" or "low"
    count: int                                # STORED occurrences (see details for their unit)
    services: tuple[str, ...]                 # offending services, "caller → callee" for edges
    examples: tuple[str, ...]                 # up to 5 trace ids
    fix: str
    details: tuple[tuple[str, Any], ...] = ()  # check-specific figures (JSON-ready values)
    # The estimate of ``count`` under sampling: the sum of the offending spans' (or traces')
    # AdjustedCount, computed in the same query as ``count``. For things that are not sampled
    # units (distinct span names) it equals ``count``. None: taken as ``count``.
    estimated_count: float | None = None

    @property
    def estimate(self) -> float:
        return float(self.count if self.estimated_count is None else self.estimated_count)

    def to_json(self) -> dict:
        return {"code": self.code, "title": self.title, "severity": self.severity,
                "estimated_count": round(self.estimate, 3), "count": self.count,
                "services": list(self.services),
                "examples": list(self.examples), "fix": self.fix, "details": dict(self.details)}


@dataclass(frozen=True)
class PolicySampling:
    policy: str                               # SamplingPolicy ("" when not sampled / unknown)
    spans: int                                # stored spans
    estimated_spans: float                    # sum of AdjustedCount
    rate: float                               # spans / estimated_spans

    def to_json(self) -> dict:
        return {"policy": self.policy, "spans": self.spans,
                "estimated_spans": self.estimated_spans, "rate": self.rate}


@dataclass(frozen=True)
class SamplingSummary:
    spans: int
    estimated_spans: float
    rate: float                               # effective: spans / estimated (1.0 when empty)
    spans_per_second: float                   # stored, per second of the covered time
    estimated_spans_per_second: float
    bytes_per_span: float | None              # compressed, on disk (None: unknown)
    bytes_per_day: float | None               # at the stored rate
    error_spans: int
    sampled_error_traces: int                 # traces with an error span kept at weight > 1
    policies: tuple[PolicySampling, ...] = ()
    covered_start_ns: int = 0                 # first span start of the window (0: no span)
    covered_end_ns: int = 0                   # last span start

    def to_json(self) -> dict:
        seconds = max((self.covered_end_ns - self.covered_start_ns) / 1e9, 1.0)
        return {"spans": self.spans, "estimated_spans": self.estimated_spans, "rate": self.rate,
                "spans_per_second": self.spans_per_second,
                "estimated_spans_per_second": self.estimated_spans_per_second,
                "bytes_per_span": self.bytes_per_span, "bytes_per_day": self.bytes_per_day,
                "error_spans": self.error_spans,
                "sampled_error_traces": self.sampled_error_traces,
                "policies": [p.to_json() for p in self.policies],
                "covered": ({"start": rfc3339(self.covered_start_ns),
                             "end": rfc3339(self.covered_end_ns), "seconds": seconds}
                            if self.spans else None)}


@dataclass(frozen=True)
class DoctorReport:
    start_ns: int
    end_ns: int
    findings: tuple[Finding, ...]
    sampling: SamplingSummary
    business_keys: tuple[str, ...]            # the keys entry spans were checked for
    elapsed_ms: float
    settled_ns: int | None = None             # spans after it are not accused of missing relatives

    @property
    def checked_window(self) -> dict:
        """The span of time checked for missing relatives: [start, settled]."""
        settled = self.end_ns if self.settled_ns is None else self.settled_ns
        note = ("" if settled >= self.end_ns else
                f"spans newer than {rfc3339(settled)} (the window's last "
                f"{(self.end_ns - max(settled, self.start_ns)) / 60e9:.1f} min) are not checked "
                "for missing parents, children or links yet: their relatives may still be "
                "arriving")
        return {"start": rfc3339(self.start_ns), "end": rfc3339(max(settled, self.start_ns)),
                "note": note}

    def to_json(self) -> dict:
        return {"start": rfc3339(self.start_ns), "end": rfc3339(self.end_ns),
                "checked_window": self.checked_window,
                "findings": [f.to_json() for f in self.findings],
                "sampling": self.sampling.to_json(),
                "business_keys": list(self.business_keys),
                "elapsed_ms": round(self.elapsed_ms, 1)}
