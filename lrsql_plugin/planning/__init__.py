"""Training cost before training: peak memory from a model config and a converted dataset's longest
samples, and recipe cutoff checks (``lrsql-plan``)."""

from lrsql_plugin.planning.memory import MemoryEstimate, ModelShape, TrainSetup, estimate_peak, plan_pair
from lrsql_plugin.planning.plan import cutoff_warnings, plan_dataset

__all__ = ["MemoryEstimate", "ModelShape", "TrainSetup", "cutoff_warnings", "estimate_peak", "plan_dataset", "plan_pair"]
