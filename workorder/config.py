"""Work-order configuration files, each validated as a whole (``file:line:col: message``).

* ``time_limits.yaml``  -> :class:`workorder.deadlines.LimitTable`
* the calendar is the platform's one calendar (:mod:`hotline.calendar`,
  ``holidays/<year>.yaml``, zone HOTLINE_TIMEZONE)
* ``categories.yaml``   -> ``{code: name}`` (6-digit codes, parents must exist)
* the departments (承办单位) are the transfer map's (``transfer_map.yaml``,
  ``departments:``, keyed by code): :func:`load_departments`

The shipped files live next to this module; a deployment may point
``HOTLINE_WORKORDER_CONFIG`` at a folder holding its own copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hotline.calendar import Calendar
from hotline.settings import Settings, load_calendar
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError, Problem, load, pydantic_problems
from workorder.deadlines import LimitRow, LimitTable, parse_limit
from workorder.states import REQUEST_TYPES, URGENCIES

HERE = Path(__file__).resolve().parent


def config_dir() -> Path:
    return Path(Settings.from_env().workorder_config or HERE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _LimitRowModel(_Strict):
    type: str
    urgency: str
    sign_in: str
    handling: str

    @field_validator("type")
    @classmethod
    def _type(cls, v):
        if v != "*" and v not in REQUEST_TYPES:
            raise ValueError(f"type must be '*' or one of {', '.join(REQUEST_TYPES)}")
        return v

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, v):
        if v != "*" and v not in URGENCIES:
            raise ValueError(f"urgency must be '*' or one of {', '.join(URGENCIES)}")
        return v

    @field_validator("sign_in", "handling")
    @classmethod
    def _limit(cls, v):
        parse_limit(v)
        return v


class _LimitFile(_Strict):
    warn_ratio: float = Field(0.8, gt=0, lt=1)
    limits: list[_LimitRowModel]
    # 县级承办: the limits of a county's dispatch on to its departments (县→县直部门)
    county: list[_LimitRowModel] = []


def load_time_limits(path: Path | None = None) -> LimitTable:
    path = path or config_dir() / "time_limits.yaml"
    data, src = load(path)
    try:
        model = _LimitFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(pydantic_problems(exc, src)) from None
    problems = _check_rows(src, "limits", model.limits)
    if model.county:
        problems += _check_rows(src, "county", model.county)
    if problems:
        raise ConfigError(problems)
    return LimitTable(_rows(model.limits), model.warn_ratio, _rows(model.county))


def _rows(rows: list[_LimitRowModel]) -> tuple[LimitRow, ...]:
    return tuple(LimitRow(r.type, r.urgency, parse_limit(r.sign_in), parse_limit(r.handling)) for r in rows)


def _check_rows(src, section: str, rows: list[_LimitRowModel]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        key = (row.type, row.urgency)
        if key in seen:
            problems.append(src.problem((section, i), f"duplicate row for type={row.type} urgency={row.urgency}"))
        seen[key] = i
    if (
        ("*", "*") not in seen
        and not all((t, u) in seen for t in REQUEST_TYPES for u in URGENCIES)
        and not (all(("*", u) in seen for u in URGENCIES))
    ):
        problems.append(
            src.problem(
                (section,), "the table must cover every type and urgency (add a row with type '*' for each urgency)"
            )
        )
    return problems


_CODE = re.compile(r"^\d{6}$")


def parent_code(code: str) -> str | None:
    pairs = [code[i : i + 2] for i in (0, 2, 4)]
    for i in (2, 1):
        if pairs[i] != "00":
            return "".join(pairs[:i]) + "00" * (3 - i)
    return None


def load_categories(path: Path | None = None) -> dict[str, str]:
    path = path or config_dir() / "categories.yaml"
    data, src = load(path)
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise ConfigError([src.problem((), "expected a mapping 'categories: {code: name}'")])
    cats = {}
    for code, name in data["categories"].items():
        code = str(code)
        if not _CODE.match(code):
            problems.append(src.problem(("categories", code), f"category code {code!r} is not 6 digits"))
        elif not isinstance(name, str) or not name.strip():
            problems.append(src.problem(("categories", code), f"category {code} has no name"))
        cats[code] = name
    for code in cats:
        p = parent_code(code) if _CODE.match(code) else None
        if p and p not in cats:
            problems.append(src.problem(("categories", code), f"parent {p} of {code} is not defined"))
    if problems:
        raise ConfigError(problems)
    return cats


def load_category_keywords(path: Path | None = None, categories: dict[str, str] | None = None) -> dict[str, str]:
    """``keywords:`` of categories.yaml: code -> the words citizens use for it (space-separated),
    for the dispatch suggestions (workorder/suggest.py).  Every code must be a category."""
    path = path or config_dir() / "categories.yaml"
    cats = categories if categories is not None else load_categories(path)
    data, src = load(path)
    raw = data.get("keywords") or {}
    if not isinstance(raw, dict):
        raise ConfigError([src.problem(("keywords",), "expected a mapping 'keywords: {code: words}'")])
    problems: list[Problem] = []
    out = {}
    for code, words in raw.items():
        code = str(code)
        if code not in cats:
            problems.append(src.problem(("keywords", code), f"keywords for {code}, which is not a category"))
        elif not isinstance(words, str) or not words.split():
            problems.append(src.problem(("keywords", code), f"keywords of {code}: expected words separated by spaces"))
        else:
            out[code] = " ".join(words.split())
    if problems:
        raise ConfigError(problems)
    return out


ASSESSMENT_CLASSES = {"mediation": "行政调解类", "enforcement": "执法办案类"}


def load_assessment_classes(path: Path | None = None, categories: dict[str, str] | None = None) -> dict[str, str]:
    """``assessment:`` of categories.yaml: category code -> ``mediation`` | ``enforcement`` (行政调解类 /
    执法办案类, not ranked on satisfaction: workorder/assess.py); a code's sub-categories inherit it."""
    path = path or config_dir() / "categories.yaml"
    cats = categories if categories is not None else load_categories(path)
    data, src = load(path)
    raw = data.get("assessment") or {}
    if not isinstance(raw, dict):
        raise ConfigError([src.problem(("assessment",), "expected a mapping 'assessment: {class: [codes]}'")])
    problems: list[Problem] = []
    marked: dict[str, str] = {}
    for cls, codes in raw.items():
        if cls not in ASSESSMENT_CLASSES:
            problems.append(src.problem(("assessment", cls), f"unknown class {cls!r}: {', '.join(ASSESSMENT_CLASSES)}"))
            continue
        if not isinstance(codes, list):
            problems.append(src.problem(("assessment", cls), f"{cls}: expected a list of category codes"))
            continue
        for i, code in enumerate(codes):
            code = str(code)
            if code not in cats:
                problems.append(src.problem(("assessment", cls, i), f"{cls}: {code} is not a category"))
            elif code in marked:
                problems.append(src.problem(("assessment", cls, i), f"{code} is already {marked[code]}"))
            else:
                marked[code] = cls
    if problems:
        raise ConfigError(problems)
    out = {}
    for code in cats:  # the nearest marked ancestor (or the code itself)
        c: str | None = code
        while c is not None and c not in marked:
            c = parent_code(c)
        if c is not None:
            out[code] = marked[c]
    return out


def load_departments(settings: Settings | None = None) -> list[dict]:
    """The handling units: the departments of the transfer map (their one home), with the
    numbers of their lines.  Raises ConfigError when the map is refused."""
    settings = settings if settings is not None else Settings.from_env()
    tmap = load_map_for(settings)
    return [
        {"code": u.code, "name": u.name, "kind": u.kind, "lines": list(u.lines), "parent": u.parent}
        for u in tmap.handling_units()
    ]


@dataclass(frozen=True)
class WorkorderConfig:
    limits: LimitTable
    calendar: Calendar
    categories: dict[str, str]
    departments: list[dict]
    hotline_number: str = ""  # the map's hotline number: the origin of a call that carries none
    assessment_classes: dict[str, str] = field(default_factory=dict)  # category -> mediation | enforcement


def load_all(settings: Settings | None = None) -> WorkorderConfig:
    """The files and the platform's calendar, validated together; raises ConfigError
    listing every problem.  ``settings``: default from the environment."""
    settings = settings if settings is not None else Settings.from_env()
    problems: list[Problem] = []
    out = {}
    for name, fn in (
        ("limits", load_time_limits),
        ("calendar", lambda: load_calendar(settings)),
        ("categories", load_categories),
        ("departments", lambda: load_departments(settings)),
        ("assessment_classes", load_assessment_classes),
    ):
        try:
            out[name] = fn()
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return WorkorderConfig(**out, hotline_number=load_map_for(settings).hotline.number)
