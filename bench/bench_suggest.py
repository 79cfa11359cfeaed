"""Dispatch-suggestion benchmark (not part of the test suite).

On the hand-written complaints (tests/suggest/complaints.yaml), in one run: top-1 and
top-3 accuracy of the suggested handling unit and category on the held-out split (and on
the tuning split, for reference), for the full ranking of workorder/suggest.py and for
baselines measured the same way:

* names only: BM25 over the units' names (what an agent's search of the list would give);
* duties only: BM25 over the 职责 texts of transfer_map.yaml;
* duties + places: with the districts' and counties' place names;
* + KB: with the knowledge base of tests/kb/entries.yaml (published into a temporary store);
* + past orders: with a roll-up of past orders, here the tuning split's complaints filed
  as orders (the held-out ones never are).

Then the latency of one suggestion (p50/p99), and with --orders N the time to build the
roll-up from a store of N seeded orders (bench/seed_orders.py, cached) and the latency
through the adapter on it.

    python3 bench/bench_suggest.py [--orders 1000000] [--misses]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kb import corpus  # noqa: E402
from tests.suggest import evalset  # noqa: E402
from workorder import suggest  # noqa: E402
from workorder.db import Database  # noqa: E402
from workorder.kb import KnowledgeBase  # noqa: E402
from workorder.migrate import upgrade  # noqa: E402

NO = {"duties": 0.0, "kb": 0.0, "past": 0.0, "place": 0.0}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=0, help="also time the roll-up over a seeded store of N orders")
    ap.add_argument("--misses", action="store_true", help="print the held-out complaints the full ranking misses")
    args = ap.parse_args(argv)

    units = evalset.units()
    cats, keywords = evalset.categories()
    tune, held = evalset.complaints("tune"), evalset.complaints("heldout")
    url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-suggest-')}/kb.db"
    upgrade(url)
    kb = KnowledgeBase(Database(url))
    corpus.load(kb)

    def kb_hits(text: str) -> list[suggest.KbHit]:
        return [suggest.KbHit(h["department"], h["score"], h["title"]) for h in kb.search(text, limit=10)]

    past = suggest.Rollup.of((c["text"], c["unit"], c["category"]) for c in tune)
    names = [replace(u, duties=u.name, places=(), kind="department") for u in units]
    docs = suggest.duty_docs(units)
    variants = [
        ("names only", names, {**NO, "duties": 1.0}, False, None),
        ("duties only", units, {**NO, "duties": 1.0}, False, None),
        ("duties + places", units, {**suggest.WEIGHTS, "kb": 0.0, "past": 0.0}, False, None),
        ("+ KB", units, {**suggest.WEIGHTS, "past": 0.0}, True, None),
        ("+ past orders (full)", units, suggest.WEIGHTS, True, past),
    ]
    print(
        f"{len(units)} units, {len(cats)} categories; held-out {len(held)} complaints, tuning {len(tune)}; "
        f"KB {len(corpus.entries())} entries; past orders {past.orders}"
    )
    print(f"{'units':24}{'held top-1':>11}{'held top-3':>11}{'tune top-1':>11}{'tune top-3':>11}")
    full = None
    for label, us, w, use_kb, roll in variants:
        d = suggest.duty_docs(us)

        def rank(text, us=us, w=w, use_kb=use_kb, roll=roll, d=d):
            r = suggest.rank_units(text, us, kb_hits(text) if use_kb else (), roll, weights=w, docs=d)
            return r, []

        h, _ = evalset.evaluate(held, rank)
        t, _ = evalset.evaluate(tune, rank)
        print(f"{label:24}{h.rates()[0]:11.3f}{h.rates()[1]:11.3f}{t.rates()[0]:11.3f}{t.rates()[1]:11.3f}")
        full = h
    print(f"{'categories':24}{'held top-1':>11}{'held top-3':>11}{'tune top-1':>11}{'tune top-3':>11}")
    for label, roll in (("keywords only", None), ("+ past orders (full)", past)):

        def rank_c(text, roll=roll):
            us = suggest.rank_units(text, units, kb_hits(text), roll, docs=docs)
            return us, suggest.rank_categories(text, cats, keywords, us, roll)

        _, hc = evalset.evaluate(held, rank_c)
        _, tc = evalset.evaluate(tune, rank_c)
        print(f"{label:24}{hc.rates()[0]:11.3f}{hc.rates()[1]:11.3f}{tc.rates()[0]:11.3f}{tc.rates()[1]:11.3f}")

    times = []
    for c in held:
        t0 = time.perf_counter()
        us = suggest.rank_units(c["text"], units, kb_hits(c["text"]), past, docs=docs)
        suggest.rank_categories(c["text"], cats, keywords, us, past)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        "one suggestion (units + categories, KB search included): "
        f"p50 {pct(times, 0.5):.1f} ms, p99 {pct(times, 0.99):.1f} ms"
    )

    if args.orders:
        from bench.seed_orders import seeded

        path = seeded(args.orders)
        s = suggest.Suggester(Database(f"sqlite:///{path}"), units, cats, keywords)
        t0 = time.perf_counter()
        r = s.rollup()
        build = time.perf_counter() - t0
        lat = []
        for c in held:
            t1 = time.perf_counter()
            s.suggest(c["text"])
            lat.append((time.perf_counter() - t1) * 1000)
        print(
            f"store of {args.orders:,} orders: roll-up of the newest {r.orders if r else 0:,} built in {build:.2f} s; "
            f"a suggestion through the adapter p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms"
        )

    if args.misses and full is not None:
        print("held-out misses at top-1 (expected, text, got):")
        for want, text, got in full.misses:
            print(f"  {want:9} {text}  -> {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
