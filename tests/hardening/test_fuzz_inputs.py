"""Issue 11 (4): property-based fuzzing of tables.json, question files (Spider, BIRD, JSONL) and
prediction files, mutated from the real demo files.

Each tool either succeeds with valid output, or exits 2 with a message and writes nothing; never a
traceback, never exit 1, never partial output.  Mutations: deleted keys and items, wrong types,
out-of-range and negative indexes, cyclic and dangling foreign keys, empty schemas, table names
that differ only in case, non-UTF-8 bytes, truncation, huge strings.  ``TRIED`` counts the inputs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.conftest import DEMO, no_traceback, run_convert, run_eval

TRIED: Counter[str] = Counter()
EXITS: Counter[int] = Counter()
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 200), st.just(10**12), st.floats(allow_nan=True),
    st.text(max_size=8), st.just("x" * 200_000), st.just("SELECT"), st.just(-1),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=4), SCALARS, max_size=2))


def mutate(data: st.DataObject, value: object, depth: int = 0) -> object:
    """Change ``value`` at one random place (possibly several levels down)."""
    containers = isinstance(value, (list, dict)) and value and depth < 5
    if containers and data.draw(st.booleans()):
        if isinstance(value, list):
            i = data.draw(st.integers(0, len(value) - 1))
            op = data.draw(st.sampled_from(["down", "down", "delete", "duplicate", "swap"]))
            out = list(value)
            if op == "down":
                out[i] = mutate(data, value[i], depth + 1)
            elif op == "delete":
                del out[i]
            elif op == "duplicate":
                out.insert(i, value[i])
            else:
                out[i], out[-1] = out[-1], out[i]
            return out
        key = data.draw(st.sampled_from(sorted(value)))
        out = dict(value)
        if data.draw(st.sampled_from(["down", "down", "delete"])) == "delete":
            del out[key]
        else:
            out[key] = mutate(data, value[key], depth + 1)
        return out
    return data.draw(VALUES)


def schema_mutation(data: st.DataObject, schemas: list[dict]) -> list[dict]:
    """Targeted tables.json damage: indexes out of range, cyclic/dangling FKs, empty schemas, case duplicates."""
    out = json.loads(json.dumps(schemas))
    db = out[data.draw(st.integers(0, len(out) - 1))]
    n_cols = len(db["column_names_original"])
    op = data.draw(st.sampled_from(["fk_range", "fk_cycle", "fk_self", "pk_range", "col_table", "empty", "case_dup", "generic"]))
    if op == "fk_range":
        db["foreign_keys"].append([data.draw(st.integers(-2, n_cols + 5)), data.draw(st.integers(-2, n_cols + 5))])
    elif op == "fk_cycle" and n_cols > 2:
        db["foreign_keys"] += [[1, 2], [2, 1]]
    elif op == "fk_self":
        db["foreign_keys"].append([1, 1])
    elif op == "pk_range":
        db["primary_keys"].append(data.draw(st.one_of(st.integers(-3, n_cols + 3), st.lists(st.integers(-1, n_cols + 3), max_size=3))))
    elif op == "col_table" and n_cols > 1:
        db["column_names_original"][1][0] = data.draw(st.integers(-2, len(db["table_names_original"]) + 2))
    elif op == "empty":
        db.update(table_names_original=[], table_names=[], column_names_original=[[-1, "*"]], column_names=[[-1, "*"]],
                  column_types=["text"], primary_keys=[], foreign_keys=[])
    elif op == "case_dup":
        db["table_names_original"].append(db["table_names_original"][0].upper())
    else:
        return mutate(data, out)
    return out


def to_bytes(data: st.DataObject, value: object) -> bytes:
    raw = json.dumps(value, ensure_ascii=False, indent=1).encode()
    op = data.draw(st.sampled_from(["plain", "plain", "plain", "bad_byte", "truncate"]))
    if op == "bad_byte" and raw:
        i = data.draw(st.integers(0, len(raw)))
        raw = raw[:i] + data.draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + raw[i:]
    elif op == "truncate" and raw:
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    return raw


def check_convert_outputs(result, out: Path) -> None:  # noqa: ANN001
    no_traceback(result)
    EXITS[result.exit_code] += 1
    if result.exit_code == 0:
        info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
        for entry in info.values():
            json.loads((out / entry["file_name"]).read_text(encoding="utf-8"))
        json.loads((out / "stats.json").read_text(encoding="utf-8"))
    else:
        assert "lrsql-convert: error:" in result.output or "Error:" in result.output
        assert not out.exists() or not any(out.iterdir()), "partial output after a fatal error"


def check_eval_outputs(result, out: Path) -> None:  # noqa: ANN001
    no_traceback(result)
    EXITS[result.exit_code] += 1
    if result.exit_code == 0:
        json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        for line in (out / "per_example.jsonl").read_text(encoding="utf-8").splitlines():
            json.loads(line)
    else:
        assert "lrsql-eval: error:" in result.output or "Error:" in result.output
        assert not out.exists() or not any(out.iterdir()), "partial output after a fatal error"


def workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="lrsql-fuzz-"))
    shutil.copytree(DEMO / "database", root / "database")
    return root


TABLES = json.loads((DEMO / "tables.json").read_text(encoding="utf-8"))
DEV = json.loads((DEMO / "dev.json").read_text(encoding="utf-8"))[:8]


@FUZZ
@given(st.data())
def test_fuzzed_tables_json_convert(data: st.DataObject):
    root = workspace()
    try:
        (root / "tables.json").write_bytes(to_bytes(data, schema_mutation(data, TABLES)))
        (root / "dev.json").write_text(json.dumps(DEV))
        TRIED["tables.json (lrsql-convert)"] += 1
        check_convert_outputs(run_convert("spider", "--spider-dir", root, "--questions", "dev.json", "--out", root / "out"), root / "out")
    finally:
        shutil.rmtree(root)


@FUZZ
@given(st.data())
def test_fuzzed_tables_json_eval(data: st.DataObject):
    root = workspace()
    try:
        (root / "tables.json").write_bytes(to_bytes(data, schema_mutation(data, TABLES)))
        gold = root / "gold.txt"
        gold.write_text("".join(f"{q['query']}\t{q['db_id']}\n" for q in DEV))
        TRIED["tables.json (lrsql-eval)"] += 1
        result = run_eval("--gold", gold, "--pred", gold, "--db", root / "database", "--table", root / "tables.json",
                          "--out", root / "out", "--timeout", "2")
        check_eval_outputs(result, root / "out")
    finally:
        shutil.rmtree(root)


@FUZZ
@given(st.data())
def test_fuzzed_spider_questions(data: st.DataObject):
    root = workspace()
    try:
        (root / "tables.json").write_text(json.dumps(TABLES))
        (root / "dev.json").write_bytes(to_bytes(data, mutate(data, DEV)))
        TRIED["Spider questions (lrsql-convert)"] += 1
        check_convert_outputs(run_convert("spider", "--spider-dir", root, "--questions", "dev.json", "--out", root / "out"), root / "out")
    finally:
        shutil.rmtree(root)


@FUZZ
@given(st.data())
def test_fuzzed_bird_questions(data: st.DataObject):
    root = Path(tempfile.mkdtemp(prefix="lrsql-fuzz-"))
    try:
        shutil.copytree(DEMO / "database", root / "dev_databases")
        (root / "dev_tables.json").write_text(json.dumps(TABLES))
        bird = [{"question_id": i, "db_id": q["db_id"], "question": q["question"], "evidence": "", "SQL": q["query"],
                 "difficulty": "simple"} for i, q in enumerate(DEV)]
        (root / "dev.json").write_bytes(to_bytes(data, mutate(data, bird)))
        TRIED["BIRD questions (lrsql-convert)"] += 1
        check_convert_outputs(run_convert("bird", "--bird-dir", root, "--split", "dev", "--out", root / "out"), root / "out")
        TRIED["BIRD questions (lrsql-eval gold)"] += 1
        pred = root / "pred.txt"
        pred.write_text("SELECT 1\n" * len(bird))
        result = run_eval("--bird-dir", root, "--pred", pred, "--out", root / "eout", "--timeout", "2")
        check_eval_outputs(result, root / "eout")
    finally:
        shutil.rmtree(root)


@FUZZ
@given(st.data())
def test_fuzzed_jsonl_questions(data: st.DataObject):
    root = workspace()
    try:
        recs = [{"db_id": q["db_id"], "question": q["question"], "sql": q["query"]} for q in DEV]
        recs = mutate(data, recs)
        lines = recs if isinstance(recs, list) else [recs]
        raw = b"\n".join(to_bytes(data, r).replace(b"\n", b" ") for r in lines) + b"\n"
        (root / "q.jsonl").write_bytes(raw)
        TRIED["JSONL questions (lrsql-convert sqlite)"] += 1
        check_convert_outputs(run_convert("sqlite", "--db-dir", root / "database", "--questions", root / "q.jsonl",
                                          "--out", root / "out"), root / "out")
    finally:
        shutil.rmtree(root)


@FUZZ
@given(st.data())
def test_fuzzed_prediction_files(data: st.DataObject):
    root = workspace()
    try:
        gold = root / "dev.json"
        gold.write_text(json.dumps(DEV))
        kind = data.draw(st.sampled_from(["lines", "bird", "jsonl"]))
        if kind == "lines":
            lines = [q["query"].encode() for q in DEV]
            lines = [mutate(data, x.decode()) if data.draw(st.integers(0, 4)) == 0 else x.decode() for x in lines]
            raw = b"\n".join(json.dumps(x).encode()[1:-1] if isinstance(x, str) else to_bytes(data, x) for x in lines)
            if data.draw(st.booleans()):
                i = data.draw(st.integers(0, len(raw)))
                raw = raw[:i] + b"\xff\xfe" + raw[i:]
            pred = root / "pred.txt"
            pred.write_bytes(raw)
            args = ["--gold", gold, "--pred", pred]
        elif kind == "bird":
            value = {str(i): f"{q['query']}\t----- bird -----\t{q['db_id']}" for i, q in enumerate(DEV)}
            pred = root / "predict_dev.json"
            pred.write_bytes(to_bytes(data, mutate(data, value)))
            args = ["--gold", gold, "--pred", pred]
        else:
            recs = mutate(data, [{"db_id": q["db_id"], "gold": q["query"], "prediction": q["query"]} for q in DEV])
            lines = recs if isinstance(recs, list) else [recs]
            pred = root / "p.jsonl"
            pred.write_bytes(b"\n".join(to_bytes(data, r).replace(b"\n", b" ") for r in lines) + b"\n")
            args = ["--jsonl", pred]
        TRIED[f"prediction files ({kind})"] += 1
        result = run_eval(*args, "--db", root / "database", "--out", root / "out", "--timeout", "2")
        check_eval_outputs(result, root / "out")
    finally:
        shutil.rmtree(root)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    total = sum(TRIED.values())
    print(f"\nfuzzed inputs: {total} ({', '.join(f'{k}: {v}' for k, v in sorted(TRIED.items()))}); tracebacks: 0; exit codes {dict(EXITS)}")
