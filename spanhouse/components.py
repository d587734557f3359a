"""Every component Spanhouse has: the one list, as Jaeger v2's ``components.go``.

Each component module exports a ``FACTORY`` (``spanhouse.component.Factory``); this list is all
the rest of Spanhouse knows of them. The collector config's known types (and its "did you
mean"), ``spanhouse config check`` and the pipeline builder are derived from it, so adding a
component is writing its module and adding its factory here.

The order within a kind is the order error messages list the types in.
"""

from __future__ import annotations

from spanhouse.component import Factory, Kind
from spanhouse.exporters import clickhouse, debug, loadbalancing
from spanhouse.exporters.otlp import OTLP_FACTORY, OTLPHTTP_FACTORY
from spanhouse.extensions import basicauth, bearertokenauth
from spanhouse.processors import batch, memory_limiter, probabilistic
from spanhouse.processors.tail_sampling import processor as tail_sampling
from spanhouse.receivers import otlp, zipkin

FACTORIES: tuple[Factory, ...] = (
    # receivers
    otlp.FACTORY,
    zipkin.FACTORY,
    # processors
    batch.FACTORY,
    memory_limiter.FACTORY,
    probabilistic.FACTORY,
    tail_sampling.FACTORY,
    # exporters
    clickhouse.FACTORY,
    OTLP_FACTORY,
    OTLPHTTP_FACTORY,
    loadbalancing.FACTORY,
    debug.FACTORY,
    # extensions (authenticators)
    bearertokenauth.FACTORY,
    basicauth.FACTORY,
)

_BY_KIND_AND_TYPE = {(f.kind, f.type): f for f in FACTORIES}


def types(kind: Kind) -> tuple[str, ...]:
    """The type names of ``kind`` (``"receiver"``, ``"processor"``, ``"exporter"``,
    ``"extension"``)."""
    return tuple(f.type for f in FACTORIES if f.kind == kind)


def factory(kind: Kind, type_name: str) -> Factory:
    """The factory of a known type; ``KeyError`` for another (``types`` lists the known)."""
    return _BY_KIND_AND_TYPE[(kind, type_name)]
