"""Sample builders: schema-link chains, SQL generation, and the full-schema baselines (SPEC §3.5-3.7)."""

from lrsql_plugin.samples.builders import (
    KINDS,
    Sample,
    full_schema_link_sample,
    full_schema_sql_sample,
    schema_link_samples,
    sql_generation_sample,
)

__all__ = [
    "KINDS",
    "Sample",
    "full_schema_link_sample",
    "full_schema_sql_sample",
    "schema_link_samples",
    "sql_generation_sample",
]
