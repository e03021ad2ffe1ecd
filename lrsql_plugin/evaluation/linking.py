"""Schema-linking metrics: how well the predicted tables of each question match its gold tables.

Per question, with P the predicted and G the gold table set (names compared case-insensitively):
exact = P == G; recall-1 = G is a subset of P (every gold table kept, so the SQL model can
still answer); precision = |P & G| / |P|; recall = |P & G| / |G|.  An empty P has precision 1
only when G is empty too; an empty G has recall 1.

A linker that ranks tables (the BM25 baseline) is also scored by recall@k: the share of G among
the ranking's first k tables, averaged over questions (``RECALL_AT`` gives the k reported).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

RECALL_AT = (5, 10, 20)


@dataclass(frozen=True)
class LinkingScores:
    count: int
    exact_set_accuracy: float
    recall1_rate: float
    avg_precision: float
    avg_recall: float


def linking_scores(pairs: Iterable[tuple[Collection[str], Collection[str]]]) -> LinkingScores | None:
    """Average the per-question metrics over ``(predicted, gold)`` table-name pairs; None for no pairs."""
    exact = recall1 = precision = recall = 0.0
    count = 0
    for predicted, gold in pairs:
        p, g = {t.lower() for t in predicted}, {t.lower() for t in gold}
        hit = len(p & g)
        count += 1
        exact += p == g
        recall1 += g <= p
        precision += hit / len(p) if p else float(not g)
        recall += hit / len(g) if g else 1.0
    if count == 0:
        return None
    return LinkingScores(count, exact / count, recall1 / count, precision / count, recall / count)


def recall_at_k(ranking: Sequence[str], gold: Collection[str], k: int) -> float:
    """Share of ``gold`` among the first ``k`` names of ``ranking`` (case-insensitive); 1.0 for no gold."""
    g = {t.lower() for t in gold}
    if not g:
        return 1.0
    return len(g & {t.lower() for t in ranking[:k]}) / len(g)


def mean_recall_at(
    pairs: Iterable[tuple[Sequence[str], Collection[str]]], ks: Sequence[int] = RECALL_AT
) -> dict[str, float] | None:
    """``{"5": ..., "10": ..., "20": ...}``: recall@k averaged over ``(ranking, gold)`` pairs; None for no pairs."""
    totals, count = dict.fromkeys(ks, 0.0), 0
    for ranking, gold in pairs:
        count += 1
        for k in ks:
            totals[k] += recall_at_k(ranking, gold, k)
    return {str(k): v / count for k, v in totals.items()} if count else None
