"""Statistics and the department ranking, and the analysis report (分析研判), as tables, CSV and
XLSX (openpyxl)."""

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
    return write_csv(tables(stats, ranking))


def to_xlsx(stats: dict, ranking: list[dict]) -> bytes:
    return write_xlsx(tables(stats, ranking))


Table = tuple[str, list[str], list[list]]


def write_csv(sheets: list[Table]) -> bytes:
    """UTF-8 with a BOM, so spreadsheet programs read the Chinese headers right; one block a sheet."""
    buf = io.StringIO()
    w = csv.writer(buf)
    for i, (name, header, rows) in enumerate(sheets):
        if i:
            w.writerow([])
        w.writerow([name])
        w.writerow(header)
        w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_xlsx(sheets: list[Table]) -> bytes:
    from openpyxl import Workbook  # optional: only the XLSX export needs it

    wb = Workbook()
    wb.remove(wb.active)
    for name, header, rows in sheets:
        ws = wb.create_sheet(name)
        ws.append(header)
        for r in rows:
            ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


TOPIC = [
    ("term", "词语"),
    ("current", "本期工单数"),
    ("previous", "上期工单数"),
    ("ratio", "增幅倍数"),
    ("p_value", "显著性 p"),
    ("spike", "突增"),
]


def analysis_tables(report: dict) -> list[Table]:
    """(sheet, header, rows) of an analysis report: rises, hot words, hot phrases, areas."""
    names = report.get("area_names") or {}
    period = f"{report['period']['since']} — {report['period']['until']}（上期 {report['previous']['since']} 起）"

    def topic_rows(items: list[dict], with_area: bool) -> list[list]:
        return [
            ([names.get(t["area"], t["area"])] if with_area else [])
            + [("是" if t[k] else "") if k == "spike" else _cell(t[k]) for k, _ in TOPIC]
            + ["、".join(t.get("phrases") or [])]
            for t in items
        ]

    header = [label for _, label in TOPIC] + ["相关短语"]
    return [
        ("突增", ["区域", *header], topic_rows(report["rising"], True)),
        ("热点词", header, topic_rows(report["terms"], False)),
        ("热点短语", header[:-1], [r[:-1] for r in topic_rows(report["phrases"], False)]),
        (
            "区域",
            ["区域", "本期工单数", "上期工单数", "统计区间"],
            [[names.get(a["area"], a["area"]), a["current"], a["previous"], period] for a in report["areas"]],
        ),
    ]
