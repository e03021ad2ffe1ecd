"""The whole shared Spider 2.0-lite part converts at a 1,000-token slice budget (issue 18).

With SmolLM2's tokenizer: every question's gold tables (families folded) are among its slices, no
slice exceeds the budget, and the 1,270-column table of ``covid19_usa`` is split into parts.
"""

from __future__ import annotations

import pytest

from lrsql_plugin.context.schema_context import LinkSpaces
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.schema.gold_tables import example_gold_tables
from lrsql_plugin.tokens import load_token_counter

BUDGET = 1000


@pytest.fixture(scope="module")
def converted(shared_data, tiny_model_dir):
    from lrsql_plugin.sources.spider2 import load_spider2

    data = load_spider2(shared_data / "spider2-lite")
    args = ConvertArguments(tables_per_slice=[], tokens_per_slice=BUDGET, tokenizer=str(tiny_model_dir))
    counter = load_token_counter(str(tiny_model_dir))
    spaces = LinkSpaces(data, args, counter)
    return data, spaces, counter


def test_every_gold_table_is_in_the_slices_of_its_question(converted):
    data, spaces, _ = converted
    assert len(data.examples) == 313
    for ex in data.examples:
        ctx = spaces.link(ex.db_id)
        view = ctx.view
        gold = view.fold.fold_names(example_gold_tables(ex, data.databases[ex.db_id]))
        in_slices = {view.unit_source(u).lower() for s in ctx.slicings()[0].slices for u in s}
        assert {g.lower() for g in gold} <= in_slices, ex.question_id
        for unit in view.gold_units(gold):
            ctx.slicings()[0].slice_of(unit)  # raises when a gold unit is in no slice


def test_no_slice_exceeds_the_budget(converted):
    data, spaces, counter = converted
    largest = 0
    for db_id in sorted({ex.db_id for ex in data.examples}):
        ctx = spaces.link(db_id)
        for s in ctx.slicings()[0].slices:
            n = counter.text(ctx.renderer.schema([ctx.view.units.table(u) for u in s]))
            assert n <= BUDGET, (db_id, s)
            largest = max(largest, n)
    assert largest > BUDGET * 0.8  # the budget is used, not undershot


def test_the_1270_column_table_is_split_and_the_daily_tables_fold(converted):
    data, spaces, _ = converted
    covid = spaces.link("covid19_usa").view
    wide = [t for t in data.databases["covid19_usa"].tables if len(t.columns) == 1270]
    assert wide  # usafacts' confirmed_cases and deaths: one column per day
    for table in wide:
        parts = covid.split[covid.fold.family_of.get(table.name.lower(), table.name).lower()]
        assert len(parts) > 5 and {p.shown for p in parts} == {table.name}
        assert sum(len(p.columns) for p in parts) >= 1270
    ga = spaces.link("ga360").view
    assert len(ga.folded.tables) == 1 and len(ga.folded.tables[0].members) == 366
