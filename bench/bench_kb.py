"""Knowledge-base search benchmark (not part of the test suite).

On the hand-written test set (tests/kb/entries.yaml, tests/kb/questions.yaml), in one run
and on one database:

1. hit@1, hit@5 and MRR of the search (jieba words, BM25; workorder/kb_index.py) against
   the trigram search it replaced (tests/kb/trigram.py), and their ratio;
2. query latency p50/p99 of both over the questions, first on the test set alone, then with
   --fillers more published entries (sentences of the real entries recombined, so common
   words are common) to see how it scales.

    python3 bench/bench_kb.py [--db-url postgresql+psycopg://...] [--fillers 5000] [--repeat 3]

Without --db-url a temporary SQLite database (WAL, synchronous=FULL) is used.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from tests.kb import corpus, trigram  # noqa: E402
from workorder import kb_index  # noqa: E402
from workorder.db import Database  # noqa: E402
from workorder.kb import KnowledgeBase  # noqa: E402
from workorder.kb_text import query_terms  # noqa: E402
from workorder.migrate import upgrade  # noqa: E402
from workorder.models import KbArticle, KbVersion, utcnow  # noqa: E402


def latency(fn, qs, repeat):
    times = []
    for _ in range(repeat):
        for q in qs:
            t = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def add_fillers(db: Database, n: int, seed: int = 12345) -> None:
    rnd = random.Random(seed)
    ents = corpus.entries()
    sentences = [s for e in ents for s in e["body"].replace("。", "。|").split("|") if s.strip()]
    now = utcnow()
    with db.write() as s:
        for i in range(n):
            e = rnd.choice(ents)
            title = f"{e['title']}（{rnd.choice(['区县', '街道', '2025年', '补充', '问答'])}{i}）"
            body = "".join(rnd.sample(sentences, 3))
            tags = rnd.sample(e["tags"], min(2, len(e["tags"])))
            row = dict(
                title=title,
                body=body,
                tags=tags,
                department=e["department"],
                version=1,
                status="published",
                published_version=1,
                updated_at=now,
                search_text=" ".join(tags),
                **kb_index.fields(title, body, tags),
            )
            aid = s.execute(insert(KbArticle).values(**row).returning(KbArticle.id)).scalar_one()
            s.execute(
                insert(KbVersion).values(
                    article_id=aid,
                    version=1,
                    title=title,
                    body=body,
                    tags=tags,
                    department=e["department"],
                    editor="bench",
                    at=now,
                    status="published",
                )
            )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db-url", help="a fresh database (default: a temporary SQLite file)")
    ap.add_argument("--fillers", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    url = args.db_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-kb-')}/kb.db"
    upgrade(url)
    db = Database(url)
    kb = KnowledgeBase(db)
    ids = corpus.load(kb)
    qs = [q["q"] for q in corpus.questions()]
    new = lambda q: [x["id"] for x in kb.search(q, limit=10)]  # noqa: E731
    old = lambda q: trigram.search(db, q)  # noqa: E731
    kb.search("预热")  # load the dictionary once, outside the timings
    sn, so = corpus.evaluate(new, ids), corpus.evaluate(old, ids)
    print(f"database: {db.engine.dialect.name}; {len(ids)} entries, {sn.n} questions")
    print(f"{'':14}{'hit@1':>8}{'hit@5':>8}{'MRR':>8}")
    print(f"{'new (BM25)':14}{sn.hit1:8.3f}{sn.hit5:8.3f}{sn.mrr:8.3f}")
    print(f"{'old (trigram)':14}{so.hit1:8.3f}{so.hit5:8.3f}{so.mrr:8.3f}")
    # fairness: the old index fed the new segmentation's words (space-separated, as an agent might type)
    sw = corpus.evaluate(lambda q: trigram.search(db, " ".join(query_terms(q))), ids)
    print(f"{'old + words':14}{sw.hit1:8.3f}{sw.hit5:8.3f}{sw.mrr:8.3f}")
    ratio = lambda a, b: f"{a / b:.1f}x" if b else "inf (old: 0)"  # noqa: E731
    print(
        f"ratio new/old: hit@1 {ratio(sn.hit1, so.hit1)}, hit@5 {ratio(sn.hit5, so.hit5)}, MRR {ratio(sn.mrr, so.mrr)}"
    )
    for label, n in (("test set", 0), (f"+{args.fillers} fillers", args.fillers)):
        if n:
            add_fillers(db, n)
        p50n, p99n = latency(new, qs, args.repeat)
        p50o, p99o = latency(old, qs, args.repeat)
        print(f"latency, {label}: new p50 {p50n:.1f} ms p99 {p99n:.1f} ms; old p50 {p50o:.1f} ms p99 {p99o:.1f} ms")
    print("misses of the new search (question, expected, got):")
    for q, want, got in sn.misses:
        inv = {v: k for k, v in ids.items()}
        print(f"  {q} -> {want}; got {[inv.get(g, g) for g in got]}")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
