"""The monthly assessment (workorder/assess.py) as XLSX (openpyxl) and PDF (reportlab) for the
目标责任考核 office.  The PDF uses reportlab's built-in CID font STSong-Light (Adobe-GB1): Chinese
text without a font file on the machine or a download."""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
TITLE = "12345热线承办单位月度绩效考核"
RECIPIENT = "报送：本级目标责任考核部门"
COUNT_COLUMNS = (("main_dispatches", "主办派单"), ("rated", "评价数"), ("rated_special", "其中两类事项评价"))


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def header(report: dict) -> list[str]:
    return ["名次", "单位", "综合得分", *(i["label"] for i in report["indicators"]), *(lbl for _, lbl in COUNT_COLUMNS)]


def rows(report: dict) -> list[list]:
    """One list per unit: rank, name, score, every indicator (as a share 0..1), the counts."""
    keys = [i["key"] for i in report["indicators"]]
    out = []
    for r in report["rows"]:
        counts = r["counts"]
        out.append(
            [
                r["rank"] if r["rank"] is not None else "未排名",
                r["name"],
                r["score"],
                *(r[k] for k in keys),
                *(counts[k] for k, _ in COUNT_COLUMNS),
            ]
        )
    return out


def notes(report: dict) -> list[str]:
    return [
        f"考核月份：{report['month']}（{report['since']} — {report['until']}）",
        f"接通率统计区间：{report['call_window']}；仅统计保留坐席的双号并行、设分中心热线",
        # an ASCII minus: STSong-Light has no U+2212
        "综合得分 = 100 × 各项指标的平均值（退单率、重办率取 1 - 该率）；行政调解类、执法办案类事项不计入满意率",
        f"生成时间：{report['generated_at']}",
    ]


def to_csv(report: dict) -> bytes:
    """UTF-8 with a BOM (spreadsheet programs then read the Chinese right); the shares as 0..1."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f"{TITLE}（{report['month']}）"])
    w.writerow(header(report))
    w.writerows([["" if v is None else v for v in row] for row in rows(report)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "排名"
    ws.append([f"{TITLE}（{report['month']}）"])
    ws.append([RECIPIENT])
    ws.append(header(report))
    n_ind = len(report["indicators"])
    for row in rows(report):
        ws.append(row)
        for col in range(4, 4 + n_ind):  # the indicators as percentages
            ws.cell(row=ws.max_row, column=col).number_format = "0.0%"
    info = wb.create_sheet("指标说明")
    info.append(["指标", "计算公式"])
    for i in report["indicators"]:
        info.append([i["label"], i["formula"]])
    for line in notes(report):
        info.append([line])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def to_pdf(report: dict) -> bytes:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20)
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=10)
    table = [[Paragraph(escape(h), cell) for h in header(report)]]
    n_ind = len(report["indicators"])
    for row in rows(report):
        shown = [
            *row[:2],
            "—" if row[2] is None else f"{row[2]:.2f}",
            *(pct(v) for v in row[3 : 3 + n_ind]),
            *row[3 + n_ind :],
        ]
        table.append([Paragraph(escape(str(v)), cell) for v in shown])
    widths = [12 * mm, 30 * mm, 16 * mm, *([18 * mm] * n_ind), 15 * mm, 13 * mm, 17 * mm]
    t = Table(table, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    formulas = [Paragraph(escape(f"{i['label']}：{i['formula']}"), body) for i in report["indicators"]]
    story = [
        Paragraph(f"{TITLE}（{report['month']}）", title),
        Paragraph(RECIPIENT, body),
        *(Paragraph(escape(n), body) for n in notes(report)),
        Spacer(1, 4 * mm),
        t,
        Spacer(1, 4 * mm),
        Paragraph("指标计算公式", body),
        *formulas,
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"{TITLE} {report['month']}",
        author="12345",
    )
    doc.build(story)
    return out.getvalue()
