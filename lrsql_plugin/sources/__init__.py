"""Sources: Spider, BIRD and any SQLite, each read into the same schema model and examples."""

from lrsql_plugin.sources import bird, spider, sqlite_folder  # noqa: F401  (register the sources)
from lrsql_plugin.sources.base import SOURCES, SourceData, register_source

__all__ = ["SOURCES", "SourceData", "register_source"]
