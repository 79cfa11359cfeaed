"""The 分析研判 page (/analysis): who may open it, the report with its charts and selectors on
the generated corpus (tests/workorder/analysis_corpus.py), the CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from hotline.transfer_map import load_map_for
from tests.workorder import analysis_corpus as gen
from workorder.suggest import units_of_map

Q = "days=7&until=2026-11-30"  # through the end of 30 November, Beijing time: gen.UNTIL


@pytest.fixture
def loaded(site):
    units = [u for u in units_of_map(load_map_for(site.settings)) if u.kind == "district"]
    gen.load(site.store.db, gen.corpus(units))
    return site


def rows_of(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S).group(1)
    return [re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]]


def test_only_supervisors_and_admins(site):
    for name in ("demo1001", "paidan", "zhijian", "minzheng"):
        assert site.client(name).get("/analysis").status_code == 403
        assert site.client(name).get("/analysis.csv").status_code == 403
    r = site.anonymous().get("/analysis")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/analysis")
    for name in ("banzhang", "guanli"):
        page = site.client(name).get("/analysis")
        assert page.status_code == 200 and 'href="/analysis"' in page.text  # in the menu
        assert "本期没有突增的诉求" in page.text  # an empty store: an empty report, not an error


def test_the_report_shows_the_spike_first_with_charts_and_selectors(loaded):
    html = loaded.client("banzhang").get(f"/analysis?{Q}").text
    rising = rows_of(html, "rising")
    assert rising[0][:2] == ["临漳县", "停水"] and int(rising[0][2]) >= gen.SPIKE_ORDERS
    assert not any(r[1] in (gen.CONTROL_TERM, gen.CITY_CONTROL, gen.FEW_TERM) for r in rising)
    assert "本期 2026-11-24 00:00 — 2026-12-01 00:00" in html  # Beijing time
    for chart in ("trend-plot", "terms-plot", "areas-plot"):
        assert f'<svg id="{chart}"' in html
    assert re.search(r'<polyline class="series s0" points="[\d.,\s]+"/>', html)
    assert "■ 停水（临漳县）" in html
    assert '<option value="linzhang">临漳县</option>' in html and '<option value="" selected>全市</option>' in html
    assert 'value="2026-11-30"' in html and '<option value="7" selected>' in html
    assert f'href="/analysis.xlsx?{Q.replace("&", "&amp;")}"' in html
    terms = [r[0] for r in rows_of(html, "terms")]
    assert gen.CITY_CONTROL in terms and len(terms) == 20
    # one county: its own hot words, the spike among the first, no areas chart
    county = loaded.client("guanli").get(f"/analysis?{Q}&area={gen.SPIKE_AREA}").text
    assert gen.SPIKE_TERM in [r[0] for r in rows_of(county, "terms")][:3]
    assert '<option value="linzhang" selected>' in county and 'id="areas-plot"' not in county


def test_an_unknown_area_says_so_and_shows_the_city(loaded):
    r = loaded.client("banzhang").get(f"/analysis?{Q}&area=mzj")
    assert r.status_code == 422 and "unknown area" in r.text and "mzj" in r.text
    assert rows_of(r.text, "rising")[0][:2] == ["临漳县", "停水"]
    assert loaded.client("banzhang").get("/analysis?days=0").status_code == 422
    for day in ("9999-12-31", "0001-01-01"):
        r = loaded.client("banzhang").get(f"/analysis?until={day}")
        assert r.status_code == 422 and 'id="error"' in r.text, day
    assert loaded.client("banzhang").get("/analysis.csv?until=9999-12-31").status_code == 422


def test_exports(loaded):
    c = loaded.client("guanli")
    r = c.get(f"/analysis.csv?{Q}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="hotline-analysis-city-7d.csv"' in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == ["突增"] and lines[1][:3] == ["区域", "词语", "本期工单数"]
    assert lines[2][:2] == ["临漳县", "停水"] and lines[2][6] == "是"
    assert ["热点词"] in lines and ["区域"] in lines
    x = c.get(f"/analysis.xlsx?{Q}&area={gen.SPIKE_AREA}")
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["突增", "热点词", "热点短语", "区域"]
    first = [c.value for c in wb["突增"][2]]
    assert first[:2] == ["临漳县", "停水"] and first[6] == "是"
    assert c.get("/analysis.pdf").status_code == 404
