"""Statistics and the department ranking as tables, CSV and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io

OVERALL = [
    ("received", "受理量"),
    ("direct_answer_rate", "直接答复率"),
    ("timely_sign_rate", "及时签收率"),
    ("on_time_rate", "按时办结率"),
    ("return_rate", "退单率"),
    ("reopen_rate", "重办率"),
    ("callback_rate", "回访率"),
    ("satisfaction_rate", "满意率"),
    ("mean_satisfaction", "平均评分"),
    ("resolution_rate", "解决率"),
]
RANKING = [
    ("rank", "名次"),
    ("department", "单位代码"),
    ("name", "单位"),
    ("score", "综合得分"),
    ("received", "派单量"),
    ("timely_sign_rate", "及时签收率"),
    ("on_time_rate", "按时办结率"),
    ("return_rate", "退单率"),
    ("satisfaction_rate", "满意率"),
    ("resolution_rate", "解决率"),
]


def ranking_rows(ranking: list[dict], names: dict[str, str]) -> list[dict]:
    return [{**r, "name": names.get(r["department"], r["department"])} for r in ranking]


def _cell(v):
    return "" if v is None else v


def tables(stats: dict, ranking: list[dict]) -> list[tuple[str, list[str], list[list]]]:
    """(sheet name, header, rows) for the overall figures and the ranking."""
    overall = stats.get("overall") or {}
    period = f"{stats['since']} — {stats['until']}"
    return [
        ("总体", ["指标", "数值", "统计区间"], [[label, _cell(overall.get(k)), period] for k, label in OVERALL]),
        ("单位排名", [label for _, label in RANKING], [[_cell(r.get(k)) for k, _ in RANKING] for r in ranking]),
    ]


def to_csv(stats: dict, ranking: list[dict]) -> bytes:
    """UTF-8 with a BOM, so spreadsheet programs read the Chinese headers right."""
    buf = io.StringIO()
    w = csv.writer(buf)
    for i, (name, header, rows) in enumerate(tables(stats, ranking)):
        if i:
            w.writerow([])
        w.writerow([name])
        w.writerow(header)
        w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(stats: dict, ranking: list[dict]) -> bytes:
    from openpyxl import Workbook  # optional: only the XLSX export needs it

    wb = Workbook()
    wb.remove(wb.active)
    for name, header, rows in tables(stats, ranking):
        ws = wb.create_sheet(name)
        ws.append(header)
        for r in rows:
            ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
