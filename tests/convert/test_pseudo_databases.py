"""Pseudo-databases (the paper's merged setting): membership, ordering, naming, baselines, report."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from lrsql_plugin.convert import convert
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.schema.model import Column, Database, ForeignKey, Table
from lrsql_plugin.schema.rename import rename_tables
from lrsql_plugin.slicing import assign_pseudo_databases, build_pseudo_database
from lrsql_plugin.sources.spider import load_spider
from tests.convert.conftest import run_convert


@pytest.fixture(scope="module")
def paper_dir(shared_data: Path) -> Path:
    return shared_data / "lrsql-paper" / "dataset2"


@pytest.mark.parametrize("split", ["train", "val"])
def test_dataset2_is_one_pseudo_database_whose_gold_tables_are_the_authors(spider_dir, paper_dir, tmp_path, split):
    result = run_convert("spider", "--spider-dir", spider_dir, "--questions", paper_dir / f"{split}.json",
                         "--merge-dbs", paper_dir / "databases.txt", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    [pseudo] = manifest["pseudo_databases"]
    assert len(pseudo["members"]) == 39 and len(pseudo["tables"]) == 172
    assert sorted(pseudo["members"]) == sorted((paper_dir / "databases.txt").read_text().split())
    assert pseudo["collisions"] == {}  # the paper chose databases without name collisions: nothing is renamed
    questions = [json.loads(line) for line in (tmp_path / "questions.jsonl").read_text().splitlines()]
    authors = json.loads((paper_dir / f"{split}_correct_tables.json").read_text())
    assert len(questions) == len(authors) == {"train": 1736, "val": 178}[split]
    assert [sorted(t.lower() for t in q["link_gold_tables"]) for q in questions] == [sorted(a) for a in authors]
    assert {q["link_schema"] for q in questions} == {"merged"}


def test_merge_dbs_skips_and_lists_questions_on_other_databases(dk_dir, tmp_path):
    members = tmp_path / "members.txt"
    members.write_text("# the two with contents\nnew_concert_singer\n\nnew_orchestra\n")
    out = tmp_path / "out"
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--merge-dbs", members,
                         "--out", out)
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["converted"] == 85  # 45 + 40 questions on the two members
    assert stats["skipped"] == 535 - 85
    assert sum(stats["outside_pseudo_database"].values()) == 535 - 85
    assert set(stats["outside_pseudo_database"]) == {"new_pets_1", "wta_1", "flight_2", "student_transcripts_tracking",
                                                     "singer", "car_1", "dog_kennels", "cre_Doc_Template_Mgt"}
    assert all("not in the pseudo-database" in s["reason"] and str(members) in s["reason"]
               for s in stats["skipped_records"])
    assert f"skipped {535 - 85} questions on databases outside the pseudo-database" in result.output


def test_merge_dbs_file_problems_name_the_file_and_line(dk_dir, tmp_path):
    bad = tmp_path / "members.txt"
    bad.write_text("new_orchestra\nno_such_db\n")
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--merge-dbs", bad,
                         "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert f"{bad}, line 2" in result.output and "no_such_db" in result.output
    assert not (tmp_path / "out").exists()
    bad.write_text("new_orchestra\nnew_orchestra\n")
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--merge-dbs", bad,
                         "--out", tmp_path / "out")
    assert result.exit_code == 2 and "listed twice" in result.output


def test_merge_and_merge_dbs_are_exclusive(dk_dir, tmp_path):
    members = tmp_path / "m.txt"
    members.write_text("new_orchestra\n")
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--merge", "3",
                         "--merge-dbs", members, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "not both" in result.output


def test_assignment_covers_every_database_once_and_ignores_input_order():
    ids = [f"db{i}" for i in range(23)]
    groups = assign_pseudo_databases(ids, 5, seed=7)
    assert [len(m) for _, m in groups] == [5, 5, 5, 5, 3]
    assert sorted(d for _, m in groups for d in m) == sorted(ids)
    assert assign_pseudo_databases(list(reversed(ids)), 5, seed=7) == groups
    assert assign_pseudo_databases(ids, 5, seed=8) != groups


def _centre(members: list[str], db_id: str, weights: dict[str, int]) -> float:
    """Where ``db_id``'s block is centred, as a fraction of the group's tables."""
    before = sum(weights[d] for d in members[: members.index(db_id)])
    return (before + weights[db_id] / 2) / sum(weights[d] for d in members)


def test_held_out_databases_get_their_share_and_evenly_spaced_places():
    ids = [f"db{i:03d}" for i in range(166)]
    held = {f"db{i:03d}" for i in range(0, 160, 8)}  # 20 held-out databases, as Spider's dev split
    weights = {d: 1 + i % 7 for i, d in enumerate(ids)}  # 1-7 tables each
    groups = assign_pseudo_databases(ids, 50, seed=3, held_out=held, weights=weights)
    assert [len(m) for _, m in groups] == [50, 50, 50, 16]
    assert sorted(d for _, m in groups for d in m) == ids
    assert [len(held & set(m)) for _, m in groups] == [6, 6, 6, 2]  # shares in proportion to the sizes
    centres = sorted(_centre(m, d, weights) for _, m in groups for d in m if d in held)
    # the 20 held-out blocks stratify the positions of all groups together: one near each twentieth's centre
    for k, c in enumerate(centres):
        assert abs(c - (k + 0.5) / 20) < 0.05, (k, c)
    assert assign_pseudo_databases(list(reversed(ids)), 50, seed=3, held_out=held, weights=weights) == groups
    other = assign_pseudo_databases(ids, 50, seed=4, held_out=held, weights=weights)
    assert other != groups and {d for _, m in other for d in m} == set(ids)


def test_no_held_out_databases_leaves_the_plain_seeded_assignment():
    ids = [f"db{i}" for i in range(23)]
    assert assign_pseudo_databases(ids, 5, seed=7, held_out=set(), weights={d: 3 for d in ids}) == \
        assign_pseudo_databases(ids, 5, seed=7)
    # held-out names outside the schema file change nothing
    assert assign_pseudo_databases(ids, 5, seed=7, held_out={"elsewhere"}) == assign_pseudo_databases(ids, 5, seed=7)


def test_spider_held_out_split_is_dev_json_whatever_questions_are_read(spider_dir, dk_dir, paper_dir):
    dev = load_spider(spider_dir, "dev")
    assert len(dev.held_out) == 20 and dev.held_out == {e.db_id for e in dev.examples}
    other = load_spider(spider_dir, questions=[paper_dir / "train.json"])
    assert other.held_out == dev.held_out
    assert load_spider(dk_dir, questions=["Spider-DK.json"]).held_out == frozenset()  # no dev.json there


@pytest.fixture(scope="module")
def dev_merge50(spider_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {}
    for name, extra in (("all", []), ("limit", ["--limit", "100"])):
        out = tmp_path_factory.mktemp(f"merge50_{name}")
        result = run_convert("spider", "--spider-dir", spider_dir, "--split", "dev", "--merge", "50", *extra, "--out", out)
        assert result.exit_code == 0, result.output
        outs[name] = out
    return outs


def test_merge_n_pseudo_databases_do_not_depend_on_limit(dev_merge50):
    full, limited = (json.loads((dev_merge50[k] / "manifest.json").read_text()) for k in ("all", "limit"))
    assert full["pseudo_databases"] == limited["pseudo_databases"]
    sizes = [len(p["members"]) for p in full["pseudo_databases"]]
    assert sizes == [50, 50, 50, 16]  # all 166 databases of tables.json, whatever the questions
    # each question links inside the pseudo-database holding its own database
    member_of = {d: p["name"] for p in full["pseudo_databases"] for d in p["members"]}
    questions = [json.loads(line) for line in (dev_merge50["all"] / "questions.jsonl").read_text().splitlines()]
    assert all(q["link_schema"] == member_of[q["db_id"]] for q in questions)


def test_merge_n_spreads_gold_tables_over_every_tenth_of_the_slices(dev_merge50):
    """At the defaults (one order, seed 42): the canonical slicing, the one inference walks, has gold in every tenth."""
    stats = json.loads((dev_merge50["all"] / "stats.json").read_text())
    positions = stats["gold_slice_positions"]["canonical"]
    assert len(positions) == 10 and all(n > 0 for n in positions), positions
    # no tenth holds most of the gold: the questions' databases are not packed at the front any more
    assert max(positions) < 0.35 * sum(positions)
    assert stats["merged"]["held_out_spread"] == 20
    report = (dev_merge50["all"] / "report.md").read_text()
    assert "gold tables by tenth of slice position (canonical): " + " ".join(map(str, positions)) in report
    assert "20 held-out databases (Spider's dev split) spread evenly" in report
    assert f"answering None: {stats['schema_link_none_share']:.1%}" in report
    assert "note: no gold table in tenth" not in report  # every tenth holds gold: nothing to warn about


def test_report_warns_about_tenths_without_gold_and_names_them(dev_merge50):
    # the first 100 questions cover only a few of the 20 dev databases: most tenths hold no gold at all
    stats = json.loads((dev_merge50["limit"] / "stats.json").read_text())
    positions = stats["gold_slice_positions"]["all_slicings"]
    empty = [i + 1 for i, n in enumerate(positions) if n == 0]
    assert empty == [2, 4, 5, 6, 8, 9, 10], positions
    report = (dev_merge50["limit"] / "report.md").read_text()
    assert "no gold table in tenths 2, 4, 5, 6, 8, 9, 10 of the slice positions over all slicings" in report
    assert "--orders N adds seeded member orders" in report


def test_only_colliding_names_are_prefixed_and_the_report_lists_them(dev_merge50):
    manifest = json.loads((dev_merge50["all"] / "manifest.json").read_text())
    stats = json.loads((dev_merge50["all"] / "stats.json").read_text())
    for p in manifest["pseudo_databases"]:
        held = Counter(original.lower() for _, _, original in p["tables"])
        for merged, db_id, original in p["tables"]:
            expected = f"{db_id}__{original}" if held[original.lower()] > 1 else original
            assert merged == expected
        assert set(p["collisions"]) == {n for n, c in held.items() if c > 1}
        if p["collisions"]:
            assert stats["merged"]["collisions"][p["name"]] == p["collisions"]


def test_members_keep_their_tables_together_in_the_canonical_slicing(dev_merge50):
    manifest = json.loads((dev_merge50["all"] / "manifest.json").read_text())
    for p in manifest["pseudo_databases"]:
        owner = {merged: db_id for merged, db_id, _ in p["tables"]}
        walk = [owner[t] for s in p["slicing"] for t in s]
        runs = [d for i, d in enumerate(walk) if i == 0 or walk[i - 1] != d]
        assert runs == p["members"]  # one contiguous run per member, in the seeded member order


def test_full_schema_baselines_both_see_the_pseudo_database(dev_merge50):
    out = dev_merge50["limit"]
    link = json.loads((out / "full_schema_link.json").read_text())
    sql = json.loads((out / "full_schema_sql.json").read_text())
    questions = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    for q, a, b in zip(questions, link, sql):
        assert a["input"] == b["input"]  # the same merged DDL in both baselines
        assert b["output"] == q["link_sql"]
    renamed = [q for q in questions if q["link_sql"] != q["sql"]]
    assert renamed, "some question of the first 100 reads a renamed table"
    for q in renamed:
        assert any(f"{q['db_id']}__" in t for t in q["link_gold_tables"])


def _rows(db: Path, sql: str) -> list:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_renamed_gold_queries_give_the_original_results_on_real_databases(dk_dir, tmp_path):
    """Forward to merged names (run on a copy whose tables carry those names), and back (run on the original)."""
    data = load_spider(dk_dir, questions=["Spider-DK.json"])
    result = convert(data, ConvertArguments(merge_dbs=str(_all_members(dk_dir, tmp_path))), progress=False)
    checked = renamed = 0
    for q in result.questions:
        paths = data.databases[q["db_id"]].sqlite_paths
        if not paths:
            continue
        original = Path(paths[0])
        try:
            expected = _rows(original, q["sql"])
        except sqlite3.Error:
            continue  # the one broken gold query of Spider-DK
        mapping = {t.lower(): m for t, m in zip(q["gold_tables"], q["link_gold_tables"])}
        copy = tmp_path / f"{q['db_id']}.sqlite"
        if not copy.exists():
            shutil.copy(original, copy)
            con = sqlite3.connect(copy)
            db = data.databases[q["db_id"]]
            pseudo_names = {t.lower(): f"{q['db_id']}__{t}" for t in db.table_names}
            for t in db.table_names:
                merged = result.manifest["pseudo_databases"][0]["tables"]
                target = next(m for m, d, o in merged if d == q["db_id"] and o == t)
                if target != t:
                    con.execute(f'ALTER TABLE "{t}" RENAME TO "{target}"')
            con.commit()
            con.close()
            assert pseudo_names
        assert sorted(map(repr, _rows(copy, q["link_sql"]))) == sorted(map(repr, expected)), q["link_sql"]
        back = rename_tables(q["link_sql"], {m.lower(): t for t, m in mapping.items()})
        assert sorted(map(repr, _rows(original, back))) == sorted(map(repr, expected)), back
        checked += 1
        renamed += q["link_sql"] != q["sql"]
    assert checked >= 120 and renamed >= 40, (checked, renamed)


def _all_members(dk_dir: Path, tmp_path: Path) -> Path:
    members = tmp_path / "dk_members.txt"
    members.write_text("\n".join(d["db_id"] for d in json.loads((dk_dir / "tables.json").read_text())) + "\n")
    return members


def _table(name: str, cols: list[str], fks: list[ForeignKey] | None = None) -> Table:
    return Table(name, [Column(c, "text") for c in cols], [cols[0]], fks or [])


def test_rename_leaves_cte_names_alone_even_when_they_shadow_a_table():
    mapping = {"singer": "db__singer", "concert": "db__concert"}
    sql = "WITH singer AS (SELECT * FROM singer WHERE age > 30) SELECT count(*) FROM singer"
    out = rename_tables(sql, mapping)
    assert "FROM db__singer AS singer WHERE" in out and out.endswith("FROM singer")
    union = "SELECT name FROM singer UNION SELECT * FROM (WITH concert AS (SELECT 1 AS x) SELECT x FROM concert)"
    out = rename_tables(union, mapping)
    assert "FROM db__singer AS singer" in out and "FROM concert)" in out and "db__concert" not in out
    assert rename_tables("SELECT T1.name FROM singer AS T1", {}) == "SELECT T1.name FROM singer AS T1"


def test_pseudo_database_keeps_foreign_keys_inside_each_member():
    a = Database("a", [_table("singer", ["id"]), _table("song", ["id", "singer_id"], [ForeignKey("singer_id", "singer", "id")])])
    b = Database("b", [_table("Singer", ["id"]), _table("album", ["id"])])
    p = build_pseudo_database([a, b], "m")
    assert p.database.table_names == ["a__singer", "song", "b__Singer", "album"]
    assert p.database.table("song").foreign_keys == [ForeignKey("singer_id", "a__singer", "id")]
    assert p.to_own(["a__singer", "album", "song"], "a") == (["singer", "song"], ["album"])
    assert p.collisions == {"singer": ["a", "b"]}
