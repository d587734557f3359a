"""The OTel Collector ClickHouse exporter's own DDL (tests/store/fixtures), run verbatim."""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect

FIXTURES = Path(__file__).parent / "fixtures"

# name -> (fixture file, whether its names are qualified with {database})
VARIANTS = {
    "sql_templates": ("exporter_sql_templates.sql", True),
    "default_ddl_8e29fa0c": ("exporter_default_ddl_traces_8e29fa0c.sql", False),
}

# exporter/clickhouseexporter/internal/sql_templates/traces_insert.sql: what the exporter writes.
EXPORTER_INSERT_COLUMNS = [
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
    "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes",
    "Duration", "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name",
    "Events.Attributes", "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
]


def statements(variant: str, database: str, ttl_days: int = 0) -> list[str]:
    name, _ = VARIANTS[variant]
    text = (FIXTURES / name).read_text()
    text = text.replace("{database}", database)
    text = text.replace("{ttl}", f"TTL toDateTime(Timestamp) + toIntervalDay({ttl_days})"
                        if ttl_days else "")
    text = text.replace("{ttl_start}", f"TTL toDateTime(Start) + toIntervalDay({ttl_days})"
                        if ttl_days else "")
    parts = [p for p in (part.strip() for part in text.split(";")) if _has_code(p)]
    return parts


def _has_code(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())


def create_exporter_tables(chdb_dir, variant: str, database: str, ttl_days: int = 0) -> None:
    """Run the exporter's DDL, as the exporter (or an operator, for default_ddl) would."""
    admin = clickhouse_connect.get_client(dsn=f"chdb://{chdb_dir}")
    admin.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    admin.close()
    _, qualified = VARIANTS[variant]
    # default_ddl's names are unqualified: run it with the test's database as the current one.
    client = clickhouse_connect.get_client(dsn=f"chdb://{chdb_dir}",
                                           **({} if qualified else {"database": database}))
    try:
        for sql in statements(variant, database, ttl_days):
            client.command(sql)
    finally:
        client.close()
