"""The collector's ``memory_limiter`` processor: refuse data while memory is too high.

Every ``check_interval`` a thread reads the process's resident memory (the collector reads
the Go heap; RSS is the Python equivalent that includes the store's buffers). Above the soft
limit (``limit - spike_limit``) every batch is refused with ``Overloaded``, which receivers
turn into RESOURCE_EXHAUSTED / 429 with a retry hint, so senders back off and nothing is
lost; above the hard limit a garbage collection is forced as well. Refusals are counted.
"""

from __future__ import annotations

import gc
import logging
import os
import threading

from spanhouse.component import BuildContext, Consumer, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, Overloaded
from spanhouse.model.batch import SpanBatch
from spanhouse.telemetry import Telemetry

log = logging.getLogger(__name__)
MIB = 1024 * 1024
FIELDS = ("check_interval", "limit_mib", "spike_limit_mib", "limit_percentage",
          "spike_limit_percentage", "min_gc_interval_when_soft_limited",
          "min_gc_interval_when_hard_limited")


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def total_memory_bytes() -> int:
    """The memory available to this process: the cgroup limit when there is one."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path, encoding="ascii").read().strip()
            if text.isdigit() and int(text) < 1 << 60:
                return int(text)
        except OSError:
            pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class MemoryLimiter:
    def __init__(self, name: str, check_interval_s: float, limit_bytes: int, spike_bytes: int,
                 telemetry: Telemetry, read_usage=rss_bytes):
        self.name = name
        self.check_interval_s = check_interval_s
        self.hard_limit = limit_bytes
        self.soft_limit = limit_bytes - spike_bytes
        self._read_usage = read_usage
        self._next: Consumer | None = None
        self._refusing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refused = telemetry.counter(
            "spanhouse_memory_limiter_refused_spans",
            "Spans refused (retryable) because memory was above the soft limit.", ["processor"])
        self._usage = telemetry.gauge("spanhouse_memory_limiter_usage_bytes",
                                      "Memory in use at the last check.", ["processor"])

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry: Telemetry) -> "MemoryLimiter":
        s = section.allow(*FIELDS)
        interval = s.duration("check_interval", 0.0)
        if interval <= 0:
            raise ConfigError("must be greater than zero, e.g. check_interval: 1s",
                              s.key_of("check_interval"))
        s.duration("min_gc_interval_when_soft_limited", 10.0)
        s.duration("min_gc_interval_when_hard_limited", 0.0)
        limit_mib = s.integer("limit_mib", 0, minimum=0)
        spike_mib = s.integer("spike_limit_mib", 0, minimum=0)
        limit_pct = s.integer("limit_percentage", 0, minimum=0, maximum=100)
        spike_pct = s.integer("spike_limit_percentage", 0, minimum=0, maximum=100)
        if limit_mib:
            limit = limit_mib * MIB
            spike = spike_mib * MIB if spike_mib else limit // 5
            if spike >= limit:
                raise ConfigError("must be smaller than limit_mib", s.key_of("spike_limit_mib"))
        elif limit_pct:
            total = total_memory_bytes()
            limit = total * limit_pct // 100
            spike = total * spike_pct // 100
            if spike >= limit:
                raise ConfigError("must be smaller than limit_percentage",
                                  s.key_of("spike_limit_percentage"))
        else:
            raise ConfigError("set limit_mib (or limit_percentage), e.g. limit_mib: 1024", s.key)
        return cls(name, interval, limit, spike, telemetry)

    def start(self, next_consumer: Consumer) -> None:
        self._next = next_consumer
        self.check()
        self._thread = threading.Thread(target=self._run, name=f"spanhouse-{self.name}", daemon=True)
        self._thread.start()

    def check(self) -> int:
        usage = self._read_usage()
        self._usage.labels(self.name).set(usage)
        if usage >= self.hard_limit:
            gc.collect()
            usage = self._read_usage()
        refusing = usage >= self.soft_limit
        if refusing != self._refusing:
            log.warning("%s: memory %d MiB is %s the soft limit %d MiB; %s data", self.name,
                        usage // MIB, "above" if refusing else "back below",
                        self.soft_limit // MIB, "refusing" if refusing else "accepting")
        self._refusing = refusing
        return usage

    def _run(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            self.check()

    def consume(self, batch: SpanBatch) -> None:
        if self._refusing:
            self._refused.labels(self.name).inc(len(batch))
            raise Overloaded(f"{self.name}: memory above the soft limit "
                             f"({self.soft_limit // MIB} MiB); retry later", self.check_interval_s)
        self._next(batch)

    def shutdown(self, timeout: float) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return True


def _create(component_id: str, section: Section, context: BuildContext) -> MemoryLimiter:
    return MemoryLimiter.from_config(component_id, section, context.telemetry)


FACTORY = Factory("processor", "memory_limiter", _create)
