"""Two-stage LR-SQL inference: sliced schema linking, then SQL generation on the linked tables (SPEC §3.9).

Engines (``engines/``) turn prompts into text; ``pipeline`` drives the two stages; ``store``
makes runs resumable.  Heavy libraries (torch, transformers, peft, vllm) are imported only when
an engine is built.
"""

from lrsql_plugin.inference.engines.base import ADAPTERS, SCHEMA_LINK, SQL_GENERATION, GenerationEngine
from lrsql_plugin.inference.pipeline import InferenceQuestion, Prediction, TwoStagePipeline
from lrsql_plugin.inference.sql_extract import first_sql_statement

__all__ = [
    "ADAPTERS",
    "SCHEMA_LINK",
    "SQL_GENERATION",
    "GenerationEngine",
    "InferenceQuestion",
    "Prediction",
    "TwoStagePipeline",
    "first_sql_statement",
]
