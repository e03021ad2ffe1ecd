"""The demo's last word: how the trained schema-link model links the dev questions beside two
baselines that need no training (BM25 top-k, and "all tables").

    python scripts/demo_compare.py MODEL_METRICS BM25_METRICS DATASET_DIR DEV_JSON TABLES_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def all_tables_scores(dev: list[dict], tables_path: str) -> dict[str, float]:
    """Linking every table of the question's database: recall 1, exact only when the gold is every table."""
    from lrsql_plugin.schema.gold_tables import gold_tables
    from lrsql_plugin.sources.spider_tables import load_tables_json

    dbs = load_tables_json(tables_path)
    exact = prec = 0.0
    for q in dev:
        db = dbs[q["db_id"]]
        gold = set(gold_tables(q["query"], db))
        exact += gold == set(db.table_names)
        prec += len(gold) / len(db.table_names)
    n = len(dev)
    return {"exact_set_accuracy": exact / n, "recall1_rate": 1.0, "avg_precision": prec / n, "avg_recall": 1.0}


def main(argv: list[str]) -> None:
    model_path, bm25_path, _dataset, dev_path, tables_path = argv
    model = json.loads(Path(model_path).read_text())["linking"]
    bm25 = json.loads(Path(bm25_path).read_text())
    k = bm25["settings"].get("top_k")
    rows = [("LR-SQL schema-link model (trained here)", model), (f"BM25 top-{k} (no training)", bm25["linking"]),
            ("all tables (no training)", all_tables_scores(json.loads(Path(dev_path).read_text()), tables_path))]
    print(f"\nschema linking on the demo's dev questions ({model.get('scored', model.get('count', '?'))} scored)")
    print(f"{'linker':<42}{'exact set':>10}{'recall-1':>10}{'precision':>11}{'recall':>8}")
    for name, m in rows:
        print(f"{name:<42}{m['exact_set_accuracy']:>10.1%}{m['recall1_rate']:>10.1%}{m['avg_precision']:>11.1%}{m['avg_recall']:>8.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
