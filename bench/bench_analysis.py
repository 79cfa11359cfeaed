"""Analysis benchmark (not part of the test suite): the hot-topics report (workorder/analysis.py)
on the generated corpus of tests/workorder/analysis_corpus.py scaled to ``--per-week`` orders a
week (two weeks, SQLite in a temp dir): the first report (every order segmented), the next one
(the cache), and whether the planted spike is still ranked first.

    python3 bench/bench_analysis.py [--per-week 1000] [--max-orders 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotline.settings import PROJECT_ROOT, Settings  # noqa: E402
from hotline.transfer_map import load_map_for  # noqa: E402
from tests.workorder import analysis_corpus as gen  # noqa: E402
from workorder.analysis_service import HotTopics  # noqa: E402
from workorder.db import Database  # noqa: E402
from workorder.kb_text import tokenizer  # noqa: E402
from workorder.migrate import upgrade  # noqa: E402
from workorder.suggest import units_of_map  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-week", type=int, default=1000)
    ap.add_argument("--max-orders", type=int, default=100_000)
    a = ap.parse_args()
    units = units_of_map(load_map_for(Settings(transfer_map=PROJECT_ROOT / "transfer_map.yaml")))
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/bench.db"
        upgrade(url)
        db = Database(url)
        rows = gen.corpus([u for u in units if u.kind == "district"], per_week=a.per_week)
        gen.load(db, rows)
        tokenizer()  # the dictionary is loaded once per process, not per report
        h = HotTopics(db, units, max_orders=a.max_orders)
        t0 = time.perf_counter()
        r = h.report(gen.UNTIL, 7)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        h.report(gen.UNTIL, 7)
        again = time.perf_counter() - t0
        top = r["rising"][0] if r["rising"] else {}
        n = r["orders"]["current"] + r["orders"]["previous"]
        print(f"orders {len(rows)}, analysed {n} (sample 1/{r['sample']})")
        print(f"first report {first:.2f} s ({len(rows) / first:.0f} orders/s), cached {again:.2f} s")
        print(f"first spike: {top.get('term')} in {top.get('area')} ({top.get('current')} vs {top.get('previous')})")
        db.dispose()


if __name__ == "__main__":
    main()
