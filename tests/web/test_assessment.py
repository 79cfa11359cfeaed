"""The monthly assessment end to end on the store: orders driven through the loop in November 2026,
the API's figures, the admin page, the XLSX and PDF opened and read, the public ranking (no login,
no personal data, escaped)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update

from hotline.auth import Principal
from workorder.models import Department

AGENT = Principal("agent7", "agent")
DISPATCHER = Principal("paidan", "dispatcher")
CALLER = ("13911112222", "李四")


class Clock:
    def __init__(self):
        self.t = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 Beijing

    def __call__(self) -> datetime:
        self.t += timedelta(minutes=10)
        return self.t


def unit(code: str) -> Principal:
    return Principal(f"unit-{code}", "department", code)


def through_the_loop(store, code: str, category: str, satisfaction: int) -> int:
    o = store.create(
        {
            "type": "complaint",
            "category_code": category,
            "title": f"诉求{category}",
            "content": f"来电反映问题{category}{satisfaction}",
            "caller_phone": CALLER[0],
            "caller_name": CALLER[1],
        },
        AGENT,
        "accepted",
    )
    oid = o["id"]
    store.transition(oid, "dispatch", {"main_unit": code}, DISPATCHER)
    store.transition(oid, "sign", {}, unit(code))
    store.transition(oid, "reply", {"content": "已办理"}, unit(code))
    store.transition(oid, "review_reply", {"decision": "accept"}, DISPATCHER)
    store.transition(oid, "callback", {"reached": True, "resolved": True}, AGENT)
    store.transition(oid, "evaluate", {"satisfaction": satisfaction}, AGENT)
    return oid


@pytest.fixture
def month(site):
    store = site.store
    store.now = Clock()
    through_the_loop(store, "mzj", "300400", 1)  # 民政事务: satisfied
    # 违章建设 is 执法办案类: the dissatisfied rating is shown apart, not in the score
    through_the_loop(store, "cgzf", "400202", 5)
    o = store.create({"type": "complaint", "category_code": "400202", "content": "违建"}, AGENT, "accepted")
    store.transition(o["id"], "dispatch", {"main_unit": "cgzf"}, DISPATCHER)
    store.transition(o["id"], "return", {"reason": "不属本单位职责"}, unit("cgzf"))
    with store.db.write() as s:  # a name with markup: the pages escape it
        s.execute(update(Department).where(Department.code == "mzj").values(name="市民政局<script>x</script>"))
    return "2026-11"


def test_the_api_gives_each_indicator_and_the_rank(site, month):
    r = site.client("guanli").get(f"/api/v1/assessment?month={month}")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["since"].startswith("2026-11-01T00:00:00+08:00") and out["until"].startswith("2026-12-01T00:00")
    rows = {x["unit"]: x for x in out["rows"]}
    mzj, cgzf = rows["mzj"], rows["cgzf"]
    assert (mzj["rank"], mzj["score"]) == (1, 100.0)
    assert mzj["timely_sign_rate"] == mzj["on_time_rate"] == mzj["satisfaction_rate"] == 1.0
    # cgzf: signed 1 of 2 dispatches; replied on time 1 of 1 due; resolved 1 of 1; returned 1 of 2;
    # its only rating is of an enforcement matter: no 满意率; score 100 x (0.5 + 1 + 1 + 0.5 + 1) / 5
    assert (cgzf["timely_sign_rate"], cgzf["on_time_rate"], cgzf["resolution_rate"]) == (0.5, 1.0, 1.0)
    assert (cgzf["return_rate"], cgzf["reopen_rate"]) == (0.5, 0.0)
    assert cgzf["satisfaction_rate"] is None and cgzf["special_satisfaction_rate"] == 0.0
    assert (cgzf["rank"], cgzf["score"]) == (2, 80.0)
    assert cgzf["counts"]["rated_special"] == 1 and cgzf["counts"]["main_dispatches"] == 2
    assert rows["ycj"]["rank"] is None  # no dispatch: unranked
    assert [i["label"] for i in out["indicators"]][:3] == ["接通率", "按时签收率", "按时办结率"]
    # a department sees its own row; an agent nothing; a bad month is a 422
    own = site.client("minzheng").get(f"/api/v1/assessment?month={month}").json()
    assert [x["unit"] for x in own["rows"]] == ["mzj"]
    assert site.client("demo1001").get("/api/v1/assessment").status_code == 403
    r = site.client("guanli").get("/api/v1/assessment?month=2026-13")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "month"]


def test_the_admin_page_and_the_exports(site, month):
    c = site.client("banzhang")  # a supervisor may assess too
    page = c.get(f"/admin/assessment?month={month}")
    assert page.status_code == 200
    assert "市民政局&lt;script&gt;" in page.text and "<script>x" not in page.text
    assert "按时签收率" in page.text and "签收时限内签收的主办派单 ÷ 主办派单" in page.text

    x = c.get(f"/admin/assessment.xlsx?month={month}")
    assert x.status_code == 200 and "hotline-assessment-2026-11.xlsx" in x.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["排名", "指标说明"]
    ws = wb["排名"]
    head = [cell.value for cell in ws[3]]
    assert head[:4] == ["名次", "单位", "综合得分", "接通率"]
    first, second = [cell.value for cell in ws[4]], [cell.value for cell in ws[5]]
    assert first[:3] == [1, "市民政局<script>x</script>", 100.0]
    assert second[:3] == [2, "市城管执法局", 80.0]
    assert second[head.index("按时签收率")] == 0.5 and second[head.index("退单率")] == 0.5
    assert ws.cell(row=5, column=head.index("退单率") + 1).number_format == "0.0%"
    formulas = {r[0].value: r[1].value for r in wb["指标说明"].iter_rows(min_row=2) if r[1].value}
    assert formulas["满意率"].endswith("（行政调解类、执法办案类事项除外）")

    p = c.get(f"/admin/assessment.pdf?month={month}")
    assert p.status_code == 200 and p.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(p.content))
    text = "".join(pg.extract_text() for pg in reader.pages).replace(" ", "").replace("\n", "")
    assert "12345热线承办单位月度绩效考核（2026-11）" in text
    assert "报送：本级目标责任考核部门" in text
    assert "市城管执法局" in text and "80.00" in text and "50.0%" in text
    fonts = {str(f.get("/BaseFont")) for pg in reader.pages for f in pg["/Resources"]["/Font"].values()}
    assert any("STSong-Light" in f for f in fonts)
    assert c.get(f"/admin/assessment.doc?month={month}").status_code == 404
    csv_ = c.get(f"/admin/assessment.csv?month={month}").content.decode("utf-8-sig")
    assert "市城管执法局,80.0" in csv_


def test_the_public_ranking_needs_no_login_and_shows_no_personal_data(site, month):
    r = site.anonymous().get(f"/public/ranking?month={month}")
    assert r.status_code == 200
    html = r.text
    assert "市城管执法局" in html and "市民政局&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    for secret in (*CALLER, "agent7", "paidan", "unit-cgzf", "cgzf", "诉求400202", "已办理"):
        assert secret not in html
    assert html.index("市民政局") < html.index("市城管执法局")  # ranked
    assert "市烟草局" not in html  # unranked units are not listed
    assert "不片面" in html or "不计入满意率" in html
    assert site.anonymous().get("/public/ranking?month=2026-13").status_code == 422
