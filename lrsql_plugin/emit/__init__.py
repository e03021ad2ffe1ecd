"""Emitters: write samples as LLaMA-Factory datasets with a dataset_info.json (SPEC §3.8)."""

from lrsql_plugin.emit.llamafactory import dataset_info, dataset_records, write_datasets

__all__ = ["dataset_info", "dataset_records", "write_datasets"]
