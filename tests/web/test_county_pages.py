"""The county chain and joint meetings in the pages: a county dispatches on to its department
and reviews its reply (the department portal), the city sees the whole chain and records a
joint meeting (工单全流程); forms carry the CSRF token, text is escaped."""

from __future__ import annotations

import re

from hotline.auth import Principal
from tests.web.conftest import PASSWORD

EVIL = "<script>alert(1)</script>"
AGENT = Principal(subject="demo1001", role="agent")
DISPATCHER = Principal(subject="paidan", role="dispatcher")


def _order(site, unit):
    data = {"type": "complaint", "title": "燃气管道漏气", "content": "涉县某小区燃气管道漏气 " + EVIL}
    o = site.store.create(data, AGENT, "accepted")
    site.store.transition(o["id"], "dispatch", {"main_unit": unit, "co_units": []}, DISPATCHER)
    return o


def _post(site, user, url, **data):
    page = site.client(user).get(url.rsplit("/", 1)[0]).text
    version = re.search(r'name="version" value="(\d+)"', page)
    form = {"csrf": site.csrf(user), **({"version": version.group(1)} if version else {}), **data}
    return site.client(user).post(url, data=form)


def test_county_dispatches_on_and_the_city_sees_the_chain(site):
    for name, dept in (("shexian", "shexian"), ("shexian_zjj", "shexian_zjj")):
        site.app.state.accounts.add(name, "department", PASSWORD, department=dept)
    o = _order(site, "shexian")
    url = f"/dept/orders/{o['id']}"
    assert _post(site, "shexian", url + "/sign").status_code == 303
    page = site.client("shexian").get(url).text
    offered = re.findall(r'<option value="([a-z_]+)">', page.split('id="sub-dispatch-unit"')[1].split("</select>")[0])
    assert sorted(offered) == ["shexian_jyj", "shexian_scj", "shexian_zjj"]  # its own departments only
    r = _post(site, "shexian", url + "/sub_dispatch", choice="shexian_zjj")
    assert r.status_code == 303 and r.headers["location"].endswith("done=sub_dispatch")
    home = site.client("shexian_zjj").get("/dept").text
    assert o["number"] in home and "县直部门承办" in home
    assert "本单位为县直部门" in site.client("shexian_zjj").get(url).text
    assert _post(site, "shexian_zjj", url + "/sub_sign").status_code == 303
    assert _post(site, "shexian_zjj", url + "/sub_reply", content="已更换管道 " + EVIL).status_code == 303
    r = _post(site, "shexian", url + "/reply", content="x")  # the county may not answer yet
    assert r.status_code == 409 and "shexian_zjj" in r.text
    page = site.client("shexian").get(url).text
    assert "已更换管道 &lt;script&gt;" in page and EVIL not in page and 'id="sub_review"' in page
    assert _post(site, "shexian", url + "/sub_review", choice="accept").status_code == 303
    assert _post(site, "shexian", url + "/reply", content="县住建局已处置").status_code == 303
    chain = site.client("paidan").get(f"/orders/{o['id']}")
    assert chain.status_code == 200
    table = chain.text.split('id="chain"')[1].split("</table>")[0]
    assert "涉县人民政府" in table and "涉县住房和城乡建设局" in table and "县直部门已办结" in table
    assert "县级已审核通过" in chain.text and EVIL not in chain.text
    # the lookup by number leads to the same page
    r = site.client("paidan").get(f"/orders?number={o['number']}")
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{o['id']}"
    assert site.client("paidan").get("/orders?number=20260101999999").status_code == 404


def test_joint_meeting_form_and_the_parts(site):
    o = _order(site, "gjj")
    url = f"/orders/{o['id']}/joint-meeting"
    page = site.client("paidan").get(f"/orders/{o['id']}").text
    assert 'id="joint-meeting-form"' in page and ">涉县住房和城乡建设局<" not in page  # top-level units only
    r = _post(site, "paidan", url, held_on="2026-12-01", decision="d", lead="mzj", units_present=["mzj", "gjj"])
    assert r.status_code == 422 and "联席会议记录不完整" in r.text and "assisting" in r.text
    r = _post(
        site,
        "paidan",
        url,
        held_on="2026-12-01",
        units_present=["mzj", "gjj"],
        decision="民政局牵头 " + EVIL,
        lead="mzj",
        assist_unit=["gjj", ""],
        assist_part=["核实公积金缴存", ""],
    )
    assert r.status_code == 303, r.text
    page = site.client("paidan").get(r.headers["location"]).text
    assert "联席会议已记录" in page and "民政局牵头 &lt;script&gt;" in page and "核实公积金缴存" in page
    dept = f"/dept/orders/{o['id']}"
    assert "核实公积金缴存" in site.client("gongjijin").get(dept).text  # the assisting unit sees its part
    assert _post(site, "minzheng", dept + "/sign").status_code == 303
    r = _post(site, "minzheng", dept + "/reply", content="已办")
    assert r.status_code == 409 and "gjj" in r.text
    assert _post(site, "gongjijin", dept + "/part_reply", content="已核实").status_code == 303
    assert _post(site, "minzheng", dept + "/reply", content="已办").status_code == 303
    parts = site.client("banzhang").get(f"/orders/{o['id']}").text.split('id="parts"')[1]
    assert "已核实" in parts.split("</table>")[0]
    # an agent views the chain but may not record a meeting
    assert 'id="joint-meeting-form"' not in site.client("demo1001").get(f"/orders/{o['id']}").text
    assert site.client("demo1001").post(url, data={"csrf": site.csrf("demo1001")}).status_code == 403
