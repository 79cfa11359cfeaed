"""A generated corpus of orders for the analysis (workorder/analysis.py): two weeks of citizens'
matters in the words callers use, spread over Handan's districts and counties by their real
towns (``places:`` of transfer_map.yaml) and the city departments' matters without a place,
with one planted spike (停水 in 临漳县 in the last week) and controls:

* 供暖 (暖气不热) in the same county, steady from one week to the next;
* 路灯, city-wide, up by a quarter (a busier week is not a spike);
* 电梯 in 大名县: 3 orders before, 7 now (more than doubled, but too few).

Deterministic (a seeded ``random.Random``)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from workorder.models import Order
from workorder.suggest import Unit

UNTIL = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 Beijing time
SPIKE_TERM, SPIKE_AREA, SPIKE_ORDERS = "停水", "linzhang", 24
CONTROL_TERM, CONTROL_ORDERS = "供暖", 15  # a week in SPIKE_AREA, both weeks
LOCAL_SHARE = 0.65  # orders about a place (the rest: city departments' matters)
CITY_CONTROL = "路灯"  # +25% city-wide
FEW_TERM, FEW_AREA = "电梯", "daming"  # 3 -> 7

ESTATES = ["幸福", "阳光", "锦绣", "和平", "金色家园", "滏阳", "丽景", "新华", "书香", "龙湖"]
ROADS = ["人民路", "中华大街", "光明大街", "建设大街", "联纺路", "滏河大街", "学院北路"]

# (category, main unit or None for the place's county, weight per week, sentences)
LOCAL = [
    (
        "400400",
        3,
        [
            "{p}{e}小区从前天开始停水，到现在也没来水，也没有提前通知，家里老人孩子喝水都成问题",
            "我们{p}{e}小区又停水了，一停就是一整天，物业说是自来水公司的事",
            "{p}那边村里自来水停水三天了，吃水都得去邻村拉",
        ],
    ),
    (
        "400400",
        10,
        [
            "{p}{e}小区暖气不热，屋里才十几度，老人冻得受不了",
            "交了采暖费暖气还是冰凉的，{p}{e}小区好几栋楼都这样",
            "{p}{e}小区供暖温度不达标，孩子在家穿着羽绒服写作业",
        ],
    ),
    ("400201", 8, ["{p}{r}的路灯坏了好几盏，晚上黑乎乎的走路不安全", "{p}{e}小区门口的路灯一直不亮，晚上出门摔了一跤"]),
    ("400201", 8, ["{p}{e}小区的垃圾好几天没人清运，垃圾桶都满了，臭味很大", "{p}村口的垃圾堆成了山，苍蝇蚊子特别多"]),
    ("300100", 6, ["{p}{r}有个饭店晚上烧烤到凌晨两点，噪音扰民睡不着觉", "{p}{e}小区楼下广场舞音响声音太大，噪音扰民"]),
    (
        "400300",
        6,
        ["{p}{r}上乱停车特别严重，把小区出入口都堵住了", "{p}到镇上的道路坑坑洼洼，下雨天根本没法走，希望修一修"],
    ),
    ("400601", 5, ["我在{p}的一个工地干活，老板拖欠工资三个月了，一直不给", "{p}一家厂子拖欠农民工工资，过年了还不发"]),
    ("200101", 4, ["{p}{e}小区的电梯经常坏，上周还困了人，物业也不修", "{p}{e}小区电梯年检过期了还在运行，住户很担心"]),
    ("400201", 4, ["{p}{r}占道经营的摊贩太多，车都过不去"]),
]
# city departments' matters: no place
CITY = [
    (
        "400100",
        8,
        ["想咨询一下住房公积金提取需要什么材料，在哪里办理", "公积金贷款审批太慢了，交了材料一个多月还没批下来"],
    ),
    ("400602", 7, ["社保卡丢了，想问问怎么补办，要多长时间", "养老保险断交了几年，现在能不能补缴"]),
    ("400500", 6, ["异地就医备案怎么办理，网上操作一直提示失败", "医保报销比例是多少，门诊慢特病怎么申请"]),
    ("401000", 3, ["个税汇算清缴的退税一直没到账，想问问什么原因"]),
    ("300500", 2, ["办护照需要带什么材料，多长时间能拿到"]),
]


def _sentence(rng: random.Random, template: str, unit: Unit | None) -> str:
    place = ""
    if unit is not None:
        towns = [p for p in unit.places if p.endswith(("镇", "乡", "街道"))] or list(unit.places)
        place = rng.choice([unit.places[0], f"{unit.places[0]}{rng.choice(towns)}"])
    return template.format(p=place, e=rng.choice(ESTATES), r=rng.choice(ROADS))


def corpus(districts: Sequence[Unit], until: datetime = UNTIL, per_week: int = 1000, seed: int = 12345) -> list[dict]:
    """~2,000 orders: ``per_week`` in the week before ``until`` and in the week before that,
    plus the spike and the controls' extra orders (their ``created_at`` inside their week)."""
    rng = random.Random(seed)
    by_code = {u.code: u for u in districts}
    week = timedelta(days=7)
    rows: list[dict] = []

    def add(text: str, category: str, since: datetime, unit: Unit | None, main: str | None = None) -> None:
        at = since + timedelta(seconds=rng.randrange(int(week.total_seconds())))
        rows.append({"content": text, "category_code": category, "created_at": at, "main_unit": main})

    for w in (0, 1):  # 0: previous week, 1: current week
        since = until - (2 - w) * week
        for _ in range(per_week):
            if rng.random() < LOCAL_SHARE:
                cat, _, texts = rng.choices(LOCAL, weights=[x[1] for x in LOCAL])[0]
                unit = rng.choice(list(districts))
                if CITY_CONTROL in texts[0] and w == 1 and rng.random() < 0.25:
                    add(_sentence(rng, texts[0], rng.choice(list(districts))), cat, since, None)
                if unit.code in (FEW_AREA, SPIKE_AREA) and any(t in texts[0] for t in (FEW_TERM, SPIKE_TERM, "暖气")):
                    unit = rng.choice([u for u in districts if u.code not in (FEW_AREA, SPIKE_AREA)])  # counted below
                add(
                    _sentence(rng, rng.choice(texts), unit), cat, since, None, unit.code if rng.random() < 0.3 else None
                )
            else:
                cat, _, texts = rng.choices(CITY, weights=[x[1] for x in CITY])[0]
                add(rng.choice(texts), cat, since, None)
        water = next(t for _, _, t in LOCAL if SPIKE_TERM in t[0])
        for _ in range(2 + (SPIKE_ORDERS if w else 0)):  # 2 a week, and the spike
            add(_sentence(rng, rng.choice(water), by_code[SPIKE_AREA]), "400400", since, None)
        heat = next(t for _, _, t in LOCAL if "暖气" in t[0])
        for _ in range(CONTROL_ORDERS):
            add(_sentence(rng, rng.choice(heat), by_code[SPIKE_AREA]), "400400", since, None)
        for _ in range(3 if w == 0 else 7):
            lift = next(t for _, _, t in LOCAL if FEW_TERM in t[0])
            add(_sentence(rng, rng.choice(lift), by_code[FEW_AREA]), "200101", since, None)
    return rows


def load(db, rows: Sequence[dict]) -> None:
    """The rows as accepted orders, in one transaction (numbers by day, like the store's)."""
    values = [
        {
            "number": f"{r['created_at']:%Y%m%d}{i:05d}",
            "origin": "12345",
            "status": "accepted",
            "version": 1,
            "received_at": r["created_at"],
            "updated_at": r["created_at"],
            **r,
        }
        for i, r in enumerate(rows, 1)
    ]
    with db.write() as s:
        s.execute(insert(Order.__table__), values)
