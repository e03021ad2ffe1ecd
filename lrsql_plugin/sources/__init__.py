"""Sources: Spider, BIRD, any SQLite and Spider 2.0-lite, each read into the same schema model and examples."""

from lrsql_plugin.sources import bird, ddl_dump, spider, spider2, sqlite_folder  # noqa: F401  (register the sources)
from lrsql_plugin.sources.base import SOURCES, SourceData, register_source

__all__ = ["SOURCES", "SourceData", "register_source"]
