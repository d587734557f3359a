"""The component contracts: what a receiver, processor, exporter or extension module provides.

As the collector's ``component.Factory`` and Jaeger v2's ``components.go``: every component
module exports one ``FACTORY`` (its type name, how to build it from its config section), and
``spanhouse.components`` lists them. The collector-config structure check, ``spanhouse config
check`` and the pipeline builder are all derived from that one list, so adding a component
means writing its module and adding one line there.

This module imports nothing from ``spanhouse.config`` or from any component, so components
and the config code can both import it without a cycle.

Interfaces (as the OTel SDK keeps them, small):

- a *consumer* is a callable ``consume(batch)`` that takes the whole batch or raises
  ``Overloaded`` (retryable) having taken nothing, so a receiver can always tell the sender
  exactly what happened;
- a processor has ``start(next_consumer)``, ``consume(batch)`` and ``shutdown(timeout)``;
  synchronous ones (samplers, the memory limiter) pass their output straight on, buffering
  ones (tail sampling, batch) emit later from their own thread;
- an exporter has ``name``, ``start()``, ``export(batch)``, ``flush(timeout)`` and
  ``shutdown(timeout)``;
- an extension (the authenticators, ``spanhouse.extensions``) is built once and referenced
  by id from the listeners' ``auth.authenticator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from spanhouse.model.batch import SpanBatch

if TYPE_CHECKING:
    from spanhouse.config.section import Section
    from spanhouse.telemetry import Telemetry

Consumer = Callable[[SpanBatch], None]
Kind = Literal["receiver", "processor", "exporter", "extension"]


class Processor(Protocol):
    name: str

    def start(self, next_consumer: Consumer) -> None: ...
    def consume(self, batch: SpanBatch) -> None: ...
    def shutdown(self, timeout: float) -> bool: ...


class Exporter(Protocol):
    name: str

    def start(self) -> None: ...
    def export(self, batch: SpanBatch) -> None: ...
    def flush(self, timeout: float) -> bool: ...
    def shutdown(self, timeout: float) -> bool: ...


@dataclass(frozen=True)
class BuildContext:
    """What a factory may use besides its own settings."""
    telemetry: "Telemetry"
    # The server's store exporter (the ``clickhouse`` exporter writes to the store that the
    # queries read, opened by the server); ``config check`` passes a stand-in that only
    # describes the store.
    store: Callable[[], Exporter] | None = None


def _no_description(built: Any) -> str:
    return getattr(built, "describe", "") or ""


@dataclass(frozen=True)
class Factory:
    """One component type. ``create(component_id, section, context)`` validates every
    setting of ``section`` (raising ``ConfigError`` with the key) and starts nothing: threads
    and sockets start in ``start``, so ``config check`` can build a whole pipeline."""
    kind: Kind
    type: str
    create: Callable[[str, "Section", BuildContext], Any]
    # One line of effective settings for ``config check`` ("" for none).
    describe: Callable[[Any], str] = _no_description
