"""EvalArguments validates its settings like LLaMA-Factory's hparams dataclasses."""

from __future__ import annotations

import pytest

from lrsql_plugin.hparams.eval_args import EvalArguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"semantics": "sparc"}, "semantics must be one of spider, bird"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"timeout": -1.5}, "timeout must be positive"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"max_rows": 0}, "max_rows must be at least 1"),
    ],
)
def test_invalid_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvalArguments(**kwargs)


def test_distinct_is_removed_only_under_spider_semantics_without_keep_distinct():
    assert EvalArguments().removes_distinct
    assert not EvalArguments(keep_distinct=True).removes_distinct
    assert not EvalArguments(semantics="bird").removes_distinct


def test_every_field_documents_itself():
    from dataclasses import fields

    assert all(f.metadata.get("help") for f in fields(EvalArguments))
