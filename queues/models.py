"""The agent registry: its own small SQLAlchemy metadata on ``settings.database_url``.

An agent is a person with a PJSIP extension (their softphone's endpoint), a
team, and skills: queue name -> penalty (0 = first choice; Asterisk rings the
lowest penalty first, so a cross-skilled agent takes another queue's calls
only when that queue's own agents are busy).
"""

from __future__ import annotations

import re

from sqlalchemy import JSON, Integer, MetaData, String, UniqueConstraint, create_engine, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from hotline.names import QUEUE_NAME_RE, queue_name_problem

metadata = MetaData()

NAME_RE = re.compile(r"^[a-z][a-z0-9_.\-]{0,39}$")
EXTENSION_RE = re.compile(r"^[1-9][0-9]{2,7}$")
MAX_PENALTY = 99


class Base(DeclarativeBase):
    metadata = metadata


class Agent(Base):
    __tablename__ = "queue_agents"
    __table_args__ = (UniqueConstraint("extension", name="uq_queue_agents_extension"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    display: Mapped[str] = mapped_column(String(80), default="")  # e.g. 张三, shown on the caller id
    extension: Mapped[str] = mapped_column(String(8))
    team: Mapped[str] = mapped_column(String(40), default="")
    skills: Mapped[dict] = mapped_column(JSON, default=dict)  # queue -> penalty

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "display": self.display,
            "extension": self.extension,
            "team": self.team,
            "skills": dict(sorted(self.skills.items())),
        }


def parse_skills(text: str) -> dict[str, int]:
    """``general:0,housing:1`` -> {"general": 0, "housing": 1} (penalty 0 when omitted)."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, pen = part.partition(":")
        name = name.strip()
        if not QUEUE_NAME_RE.match(name):
            raise ValueError(f"skill {name!r}: a queue name (lower-case letters, digits, - and _)")
        try:
            penalty = int(pen) if sep else 0
        except ValueError:
            raise ValueError(f"skill {name}: penalty {pen!r} is not a whole number") from None
        if not 0 <= penalty <= MAX_PENALTY:
            raise ValueError(f"skill {name}: penalty must be 0..{MAX_PENALTY}")
        if name in out:
            raise ValueError(f"skill {name} given twice")
        out[name] = penalty
    if not out:
        raise ValueError("at least one skill is needed, e.g. general:0")
    return out


def validate(name: str, extension: str, skills: dict[str, int]) -> list[str]:
    problems = []
    if not NAME_RE.match(name or ""):
        problems.append(f"name {name!r}: lower-case letters, digits, . _ - (starting with a letter)")
    if not EXTENSION_RE.match(extension or ""):
        problems.append(f"extension {extension!r}: 3 to 8 digits, not starting with 0")
    for skill, pen in skills.items():
        why = queue_name_problem(skill)
        if why:
            problems.append(f"skill {skill!r}: {why}")
        if not isinstance(pen, int) or not 0 <= pen <= MAX_PENALTY:
            problems.append(f"skill {skill}: penalty must be 0..{MAX_PENALTY}")
    if not skills:
        problems.append("at least one skill is needed")
    return problems


_engines: dict[str, Engine] = {}


def engine(url: str) -> Engine:
    """The engine of ``url``.  The table comes from the database's migrations
    (``hotline db upgrade``, workorder/migrations), never from create_all."""
    if url not in _engines:
        _engines[url] = create_engine(url, future=True)
    return _engines[url]


class Registry:
    """Agent CRUD on one database URL."""

    def __init__(self, url: str):
        self.engine = engine(url)

    def ready(self) -> bool:
        """Whether the database has the registry's table (``hotline db upgrade`` makes it)."""
        return Agent.__tablename__ in inspect(self.engine).get_table_names()

    def add(self, name: str, extension: str, skills: dict[str, int], team: str = "", display: str = "") -> dict:
        problems = validate(name, extension, skills)
        if problems:
            raise ValueError("; ".join(problems))
        with Session(self.engine) as s, s.begin():
            clash = s.scalars(select(Agent).where((Agent.name == name) | (Agent.extension == extension))).first()
            if clash is not None:
                what = "name" if clash.name == name else "extension"
                raise ValueError(f"{what} already used by agent {clash.name} ({clash.extension})")
            a = Agent(name=name, extension=extension, skills=dict(skills), team=team, display=display)
            s.add(a)
            s.flush()
            return a.as_dict()

    def update(
        self, name: str, *, skills: dict[str, int] | None = None, team: str | None = None, display: str | None = None
    ) -> dict:
        with Session(self.engine) as s, s.begin():
            a = s.scalars(select(Agent).where(Agent.name == name)).first()
            if a is None:
                raise KeyError(name)
            if skills is not None:
                problems = validate(a.name, a.extension, skills)
                if problems:
                    raise ValueError("; ".join(problems))
                a.skills = dict(skills)
            if team is not None:
                a.team = team
            if display is not None:
                a.display = display
            return a.as_dict()

    def remove(self, name: str) -> bool:
        with Session(self.engine) as s, s.begin():
            a = s.scalars(select(Agent).where(Agent.name == name)).first()
            if a is None:
                return False
            s.delete(a)
            return True

    def get(self, name: str) -> dict | None:
        with Session(self.engine) as s:
            a = s.scalars(select(Agent).where((Agent.name == name) | (Agent.extension == name))).first()
            return a.as_dict() if a else None

    def all(self) -> list[dict]:
        with Session(self.engine) as s:
            return [a.as_dict() for a in s.scalars(select(Agent).order_by(Agent.name))]
