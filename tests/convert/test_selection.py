"""Schema-link dataset size and quality (issue 9): noisy memories before the first gold slice,
exact-duplicate removal, and ``--none-per-question``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lrsql_plugin.convert import convert
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.samples import schema_link_samples
from lrsql_plugin.samples.selection import is_none_answer, sample_key, select_schema_link_samples
from lrsql_plugin.schema.model import Column, Database, Example, Table
from lrsql_plugin.slicing import Slicing
from tests.convert.test_convert_spider import run_convert

DB = Database("toy", [Table(n, [Column("id"), Column(f"{n}_name")], ["id"]) for n in "abcdefgh"])
SLICING = Slicing("toy", (("a", "b"), ("c", "d"), ("e", "f"), ("g", "h")), "t2-o0")
R = PromptRenderer()
REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo"


def example(i: int, question: str = "Which g has the most h?") -> Example:
    return Example("toy", question, "SELECT 1 FROM g JOIN h", index=i)


def chain(gold, ex=None, **kw):
    return schema_link_samples(ex or example(0), gold, DB, SLICING, R, **kw)


# --- noisy memories before the first gold slice ------------------------------------------------------


def test_gold_memories_have_no_memory_before_the_first_gold_slice():
    # the paper's default: slices 0-2 hold no gold table, so they get memory-less samples only
    samples = chain(["g"])
    assert [(s.meta["slice"], s.meta["memory"]) for s in samples] == [(0, []), (1, []), (2, []), (3, [])]


def test_noise_trains_false_positives_before_the_first_gold_slice():
    samples = chain(["g"], memory_noise=1.0, rng=random.Random(0))
    before_gold = [s for s in samples if s.meta["slice"] < 3 and s.meta["memory"]]
    # with p=1 every slice after the first gets an extra sample whose memory is an earlier non-gold table
    assert [s.meta["slice"] for s in before_gold] == [1, 2]
    for s in before_gold:
        earlier = {t for sl in SLICING.slices[: s.meta["slice"]] for t in sl}
        assert len(s.meta["memory"]) == 1 and set(s.meta["memory"]) <= earlier
        assert s.output == "None"  # the answer is still the slice's gold tables
        assert f"Tables already chosen from earlier parts of the schema: {s.meta['memory'][0]}" in s.prompt.request


def test_noise_before_the_first_gold_slice_follows_the_probability():
    counts = [sum(bool(s.meta["memory"]) for s in chain(["h"], ex=example(i), memory_noise=0.3, rng=random.Random(i)))
              for i in range(300)]
    rate = sum(counts) / (300 * 3)  # three slices (1, 2, 3) have earlier slices and no earlier gold
    assert 0.22 < rate < 0.38


def test_targets_are_unchanged_by_noise():
    clean = {(s.meta["slice"], s.output) for s in chain(["c", "h"])}
    noisy = {(s.meta["slice"], s.output) for s in chain(["c", "h"], memory_noise=1.0, rng=random.Random(3))}
    assert clean == noisy


# --- duplicates and none-per-question ----------------------------------------------------------------


def two_slicings(ex: Example, gold: list[str]):
    """The same question on the canonical slicing and on one that shares its first two slices: the
    shared memory-less slices are exact duplicates."""
    other = Slicing("toy", (("a", "b"), ("c", "d"), ("g", "h"), ("e", "f")), "t2-o1")
    return schema_link_samples(ex, gold, DB, SLICING, R) + schema_link_samples(ex, gold, DB, other, R)


def test_exact_duplicates_are_removed_and_counted():
    samples = two_slicings(example(0), ["g"])
    kept, stats = select_schema_link_samples(samples, None, seed=1)
    keys = [sample_key(s) for s in kept]
    assert len(keys) == len(set(keys))
    assert {sample_key(s) for s in samples} == set(keys)  # nothing distinct is lost
    expected = len(samples) - len({sample_key(s) for s in samples})
    assert expected > 0 and stats.duplicates == expected
    assert (stats.before, stats.after, stats.none_dropped) == (len(samples), len(kept), 0)
    assert kept[0] is samples[0]  # the first occurrence stays, order preserved


def test_same_text_with_another_answer_is_not_a_duplicate():
    a, b = chain(["a"])[:1], chain(["b"])[:1]  # slice 0, same prompt, answers "a" and "b"
    assert a[0].prompt == b[0].prompt and a[0].output != b[0].output
    kept, stats = select_schema_link_samples(a + b, None, seed=0)
    assert len(kept) == 2 and stats.duplicates == 0


def test_none_per_question_keeps_every_gold_sample_and_at_most_k_nones():
    samples = []
    for i in range(20):
        samples += two_slicings(example(i, f"question {i} about g and c?"), ["c", "g"])
    kept, stats = select_schema_link_samples(samples, 2, seed=5)
    distinct, _ = select_schema_link_samples(samples, None, seed=5)
    gold_bearing = [sample_key(s) for s in distinct if not is_none_answer(s)]
    assert gold_bearing and all(k in {sample_key(s) for s in kept} for k in gold_bearing)
    for i in range(20):
        nones = [s for s in kept if s.meta["index"] == i and is_none_answer(s)]
        assert len(nones) == 2
    assert stats.none_dropped == len(distinct) - len(kept) > 0
    assert stats.after == len(kept)
    # seeded: the same seed chooses the same samples, another seed (somewhere) others
    again, _ = select_schema_link_samples(samples, 2, seed=5)
    other, _ = select_schema_link_samples(samples, 2, seed=6)
    assert [sample_key(s) for s in again] == [sample_key(s) for s in kept]
    assert [sample_key(s) for s in other] != [sample_key(s) for s in kept]


def test_none_per_question_zero_keeps_only_gold_bearing_samples():
    samples = chain(["c", "g"])
    kept, _ = select_schema_link_samples(samples, 0, seed=0)
    assert kept and not any(is_none_answer(s) for s in kept)
    assert len(kept) == sum(not is_none_answer(s) for s in samples)


# --- through convert() and the CLI -------------------------------------------------------------------


def demo_args(**kw) -> ConvertArguments:
    return ConvertArguments(tables_per_slice=[2, 3], orders=2, **kw)


@pytest.fixture(scope="module")
def demo_data():
    from lrsql_plugin.sources.spider import load_spider

    return load_spider(DEMO, "train", ["train.json"])


def test_convert_reports_selection_with_tokens_before_and_after(demo_data):
    full = convert(demo_data, demo_args(), progress=False)
    cut = convert(demo_data, demo_args(none_per_question=1), progress=False)
    sel_full, sel_cut = full.report["schema_link_selection"], cut.report["schema_link_selection"]
    assert sel_full["none_dropped"] == 0 and sel_full["none_per_question"] is None
    assert sel_full["samples_before"] == sel_cut["samples_before"]  # same chains before selection
    assert sel_full["tokens_per_epoch_before"] == sel_cut["tokens_per_epoch_before"]
    assert sel_cut["samples_after"] == len(cut.samples["schema_link"]) < sel_full["samples_after"]
    assert sel_cut["tokens_per_epoch_after"] == cut.report["kinds"]["schema_link"]["tokens_per_epoch"]
    assert sel_cut["tokens_per_epoch_after"] < sel_cut["tokens_per_epoch_before"]
    assert sel_full["samples_before"] - sel_full["duplicates_removed"] == sel_full["samples_after"]
    # every gold-bearing sample survives
    gold = {sample_key(s) for s in full.samples["schema_link"] if not is_none_answer(s)}
    assert gold <= {sample_key(s) for s in cut.samples["schema_link"]}


def test_cli_none_per_question_writes_fewer_samples_and_reports_them(tmp_path):
    out = tmp_path / "k1"
    result = run_convert("spider", "--spider-dir", DEMO, "--questions", "train.json", "--tables-per-slice", "2",
                         "--none-per-question", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert "schema-link selection:" in result.output and "None samples beyond 1 per question dropped" in result.output
    stats = json.loads((out / "stats.json").read_text())
    rows = json.loads((out / "schema_link.json").read_text())
    assert len(rows) == stats["schema_link_selection"]["samples_after"]
    assert "Training cost" in (out / "report.md").read_text()


def test_cli_rejects_a_negative_none_per_question(tmp_path):
    result = run_convert("spider", "--spider-dir", DEMO, "--questions", "train.json", "--none-per-question", "-1",
                         "--out", tmp_path / "x")
    assert result.exit_code == 2


DATASET2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "lrsql-paper" / "dataset2"


@pytest.mark.slow
def test_dataset2_none_per_question_2_keeps_every_gold_bearing_sample(spider_dir):
    if not DATASET2.is_dir():
        pytest.skip(f"the paper's Dataset2 ({DATASET2}) is absent")
    from lrsql_plugin.sources.spider import load_spider

    data = load_spider(spider_dir, "train", [str(DATASET2 / "val.json")])
    base = dict(merge_dbs=str(DATASET2 / "databases.txt"))
    full = convert(data, ConvertArguments(**base), progress=False)
    cut = convert(data, ConvertArguments(none_per_question=2, **base), progress=False)
    gold = [sample_key(s) for s in full.samples["schema_link"] if not is_none_answer(s)]
    kept = {sample_key(s) for s in cut.samples["schema_link"]}
    assert gold and all(k in kept for k in gold)
    nones: dict[tuple, int] = {}
    for s in cut.samples["schema_link"]:
        if is_none_answer(s):
            nones[(s.meta["db_id"], s.meta["index"])] = nones.get((s.meta["db_id"], s.meta["index"]), 0) + 1
    assert nones and max(nones.values()) <= 2
    sel = cut.report["schema_link_selection"]
    assert sel["samples_after"] < sel["samples_before"] / 3


@pytest.mark.slow
def test_spider_dev_duplicates_match_the_issue(spider_dir, tmp_path):
    # issue 9: on Spider dev, --tables-per-slice 4,6 --orders 3 gives 8,696 samples, 5,351 distinct
    out = tmp_path / "dev"
    result = run_convert("spider", "--spider-dir", spider_dir, "--split", "dev", "--tables-per-slice", "4,6",
                         "--orders", "3", "--out", out)
    assert result.exit_code == 0, result.output
    sel = json.loads((out / "stats.json").read_text())["schema_link_selection"]
    assert (sel["samples_before"], sel["duplicates_removed"], sel["samples_after"]) == (8696, 3345, 5351)
    rows = json.loads((out / "schema_link.json").read_text())
    assert len(rows) == 5351 == len({(r["system"], r["instruction"], r["input"], r["output"]) for r in rows})
