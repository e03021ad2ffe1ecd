"""Slicing a schema into consecutive parts under a table and/or token limit (SPEC §3.4)."""

from lrsql_plugin.slicing.merge import (
    PseudoDatabase,
    assign_pseudo_databases,
    build_pseudo_database,
    pseudo_components,
    read_member_list,
)
from lrsql_plugin.slicing.order import fk_components, order_tables
from lrsql_plugin.slicing.pack import Slicing, pack_slices, slice_database

__all__ = [
    "PseudoDatabase",
    "Slicing",
    "assign_pseudo_databases",
    "build_pseudo_database",
    "fk_components",
    "order_tables",
    "pack_slices",
    "pseudo_components",
    "read_member_list",
    "slice_database",
]
