"""Token counts without --tokenizer: the approximation tracks a real BPE tokenizer (SmolLM2's) on real DDL."""

from __future__ import annotations

import csv
import json
import statistics
import sys

import pytest

from lrsql_plugin.prompts.render import PromptRenderer
from lrsql_plugin.schema.model import Column, Table
from lrsql_plugin.sources.spider_tables import load_tables_json
from lrsql_plugin.tokens import approx_token_count, load_token_counter


@pytest.fixture(scope="module")
def exact(tiny_model_dir):
    from transformers import AutoTokenizer

    backend = AutoTokenizer.from_pretrained(tiny_model_dir).backend_tokenizer
    return lambda texts: [len(e.ids) for e in backend.encode_batch(texts, add_special_tokens=False)]


def spider_ddl(data):
    renderer = PromptRenderer()
    return [renderer.schema([t]) for db in load_tables_json(data / "spider/tables.json").values() for t in db.tables]


def spider2_ddl_csv(data, stride=3):
    csv.field_size_limit(sys.maxsize)
    out = []
    for path in sorted((data / "spider2-lite/resource/databases").rglob("DDL.csv"))[::stride]:
        with open(path, newline="", encoding="utf-8") as f:
            out += [ddl for row in csv.DictReader(f) if (ddl := row.get("DDL") or row.get("ddl") or "").strip()]
    return out


def described_columns(data, stride=7):
    """Spider 2.0 tables with column descriptions, rendered as prompt DDL with comments (BIRD style)."""
    renderer, out = PromptRenderer(), []
    for path in sorted((data / "spider2-lite/resource/databases").rglob("*.json"))[::stride]:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if any(descs := rec.get("description") or []):
            cols = [Column(n, t, " ".join((d or "").split())) for n, t, d in zip(rec["column_names"], rec["column_types"], descs)]
            out.append(renderer.schema([Table(rec["table_name"], cols)]))
    return out


@pytest.mark.parametrize("corpus", [spider_ddl, spider2_ddl_csv, described_columns], ids=lambda f: f.__name__)
def test_median_ratio_to_smollm2_is_within_15_percent(corpus, shared_data, exact):
    if not (shared_data / "spider2-lite").is_dir() and corpus is not spider_ddl:
        pytest.skip("Spider 2.0-lite is absent from ../shared/data")
    texts = corpus(shared_data)
    assert len(texts) > 100
    ratios = [approx_token_count(t) / n for t, n in zip(texts, exact(texts))]
    assert 0.85 <= statistics.median(ratios) <= 1.15
    deciles = statistics.quantiles(ratios, n=10)
    assert deciles[0] > 0.8 and deciles[-1] < 1.2  # p10 and p90 (measured: 0.92-0.94 and 1.01-1.08)


def test_identifiers_cost_their_pieces(exact):
    """snake_case, camelCase, upper-case and digits cost what BPE cuts them into, not one word each."""
    texts = ["num_of_staff_in_charge INTEGER", "contentGroupUniqueViews", '"SALES_ORDER_ITEMS" VARCHAR(16777216)',
             "CREATE TABLE t (\n  id number PRIMARY KEY,\n  a REFERENCES b(id)\n);"]
    for text, n in zip(texts, exact(texts)):
        assert 0.8 * n <= approx_token_count(text) <= 1.2 * n, (text, approx_token_count(text), n)


def test_counter_without_a_tokenizer_says_it_approximates():
    counter = load_token_counter(None)
    assert counter.description.startswith("approximate")
    assert counter.text("CREATE TABLE t (id number);") == approx_token_count("CREATE TABLE t (id number);")
    prompt, total = counter.sample("sys", "user", "SELECT 1")
    assert total > prompt > approx_token_count("sys user")
