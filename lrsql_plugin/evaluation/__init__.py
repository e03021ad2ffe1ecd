"""Execution accuracy (Spider / BIRD semantics), hardness buckets and schema-linking metrics.

Importing this package never imports torch, transformers, datasets or LLaMA-Factory.
"""

from lrsql_plugin.evaluation.evaluate import BucketScore, EvalResult, ExampleResult, evaluate
from lrsql_plugin.evaluation.inputs import EvalItem
from lrsql_plugin.evaluation.report import write_report

__all__ = ["BucketScore", "EvalItem", "EvalResult", "ExampleResult", "evaluate", "write_report"]
