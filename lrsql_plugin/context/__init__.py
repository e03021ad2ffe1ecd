"""The schema context shared by conversion and inference: families, link units (table parts),
slicing of a database into prompts, and the lexical table ranking used for fallbacks and baselines."""

from lrsql_plugin.context.families import FamilyFold, fold_families
from lrsql_plugin.context.units import LinkView, WideTableError, build_link_view, narrow_table

__all__ = ["FamilyFold", "LinkView", "WideTableError", "build_link_view", "fold_families", "narrow_table"]
