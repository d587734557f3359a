"""The ``debug`` exporter: upstream's verbosity levels, sampling and config errors."""

from __future__ import annotations

import logging

import pytest

from spanhouse.component import BuildContext
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError
from spanhouse.exporters.debug import FACTORY, DebugExporter, format_timestamp
from spanhouse.telemetry import Telemetry
from tests.exporters import SPANS_PER_TRACE, make_batch

LOGGER = "spanhouse.exporters.debug"


def exporter(settings: dict, name: str = "debug") -> DebugExporter:
    e = FACTORY.create(name, Section(settings, f"exporters.{name}"), BuildContext(Telemetry()))
    e.start()
    return e


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_basic_is_one_summary_line_per_batch(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    e = exporter({})
    batch, _ = make_batch()
    e.export(batch)
    out = messages(caplog)
    assert out == ['Traces {"otelcol.component.id": "debug", "resource spans": 2, "spans": 5}']
    assert e.flush(1) and e.shutdown(1)


def test_normal_is_one_line_per_span(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    batch, trace_id = make_batch()
    exporter({"verbosity": "normal"}, "debug/n").export(batch)
    summary, spans = messages(caplog)
    assert '"spans": 5' in summary and '"debug/n"' in summary
    lines = spans.splitlines()
    assert len(lines) == SPANS_PER_TRACE
    assert lines[0].startswith(f"GET /checkout {trace_id} {batch.span_id[0]} str=hello ")
    assert "int=42" in lines[0] and "bool.t=true" in lines[0] and "bytes=AAH+" in lines[0]
    assert lines[1] == f"SELECT orders {trace_id} {batch.span_id[1]} db.system=postgresql db.rows=12"
    assert lines[2] == f"render {trace_id} {batch.span_id[2]}"


def test_detailed_prints_every_field(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    batch, trace_id = make_batch()
    exporter({"verbosity": "detailed"}).export(batch)
    text = messages(caplog)[1]
    for expected in [
        "ResourceSpans #0", "ResourceSpans #1", "ScopeSpans #1",
        "Resource attributes:", "     -> deployment.environment: Str(test)",
        "     -> host.cores: Int(8)",
        "InstrumentationScope spanhouse.test 1.2.3",
        "Span #0", f"    Trace ID       : {trace_id}", f"    ID             : {batch.span_id[0]}",
        "    Parent ID      : \n", "    Name           : GET /checkout",
        "    Kind           : Server", "    TraceState     : vendor=a,other=b",
        "    Status code    : Ok", "    Status code    : Error",
        "    Status message : deadlock detected",
        "    DroppedAttributesCount: 2", "    DroppedEventsCount: 3", "    DroppedLinksCount: 4",
        "     -> double: Double(0.25)", "     -> bool.f: Bool(false)", "     -> bytes: Bytes(AAH+)",
        '     -> array: Slice([1,"a",true,2.5,null,[1,2],{"k":"v"}])',
        "     -> kvlist.empty: Map({})", "     -> empty: Empty()",
        "Events:", "SpanEvent #0", "     -> Name: checkout.started",
        "     -> Attributes::", "          -> cart.items: Int(3)",
        "Links:", "SpanLink #0", "     -> TraceState: l=1", "          -> link.kind: Str(batch)",
    ]:
        assert expected in text, expected
    assert " +0000 UTC" in text


def test_timestamps_look_like_go():
    assert format_timestamp(1581452773_000_000_789) == "2020-02-11 20:26:13.000000789 +0000 UTC"
    assert format_timestamp(1581452772_000_000_000) == "2020-02-11 20:26:12 +0000 UTC"
    assert format_timestamp(1581452772_500_000_000) == "2020-02-11 20:26:12.5 +0000 UTC"


def test_sampling_initial_then_thereafter(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    batch, _ = make_batch()
    e = exporter({"sampling_initial": 2, "sampling_thereafter": 3})
    e._sampler.tick = 3600  # one window for the whole test: deterministic
    for _ in range(8):
        e.export(batch)
    assert len(messages(caplog)) == 4  # the 1st, 2nd, 5th and 8th
    caplog.clear()
    e = exporter({"sampling_initial": 1, "sampling_thereafter": 0})
    e._sampler.tick = 3600
    for _ in range(5):
        e.export(batch)
    assert len(messages(caplog)) == 1  # thereafter 0: nothing after the initial ones


def test_export_never_raises_and_ignores_empty_batches(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    from spanhouse.model.batch import SpanBatch
    e = exporter({"verbosity": "detailed"})
    e.export(SpanBatch())
    assert messages(caplog) == []
    broken, _ = make_batch()
    broken.kind[0] = 99  # out of range: printed as is
    e.export(broken)
    assert "    Kind           : 99" in messages(caplog)[1]


def test_config_errors():
    with pytest.raises(ConfigError) as err:
        exporter({"verbosity": "detaled"})
    assert err.value.key == "exporters.debug.verbosity"
    assert 'did you mean "detailed"' in str(err.value)
    with pytest.raises(ConfigError) as err:
        exporter({"sampling_intial": 5})
    assert err.value.key == "exporters.debug.sampling_intial"
    assert 'did you mean "sampling_initial"' in str(err.value)
    with pytest.raises(ConfigError) as err:
        exporter({"sampling_thereafter": -1})
    assert err.value.key == "exporters.debug.sampling_thereafter"
    e = exporter({"verbosity": "normal", "use_internal_logger": False, "sampling_initial": 5})
    assert (e.verbosity, e.sampling_initial, e.sampling_thereafter) == ("normal", 5, 1)
