"""Slicing a schema into consecutive parts under a table and/or token limit (SPEC §3.4)."""

from lrsql_plugin.slicing.merge import merge_databases
from lrsql_plugin.slicing.order import fk_components, order_tables
from lrsql_plugin.slicing.pack import Slicing, pack_slices, slice_database

__all__ = ["Slicing", "fk_components", "merge_databases", "order_tables", "pack_slices", "slice_database"]
