"""The schema model every source produces and every later stage reads."""

from lrsql_plugin.schema.model import Column, Database, Example, ForeignKey, Table

__all__ = ["Column", "Database", "Example", "ForeignKey", "Table"]
