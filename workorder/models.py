"""The work-order schema (SQLAlchemy 2.0, typed declarative).

Times are stored as timezone-aware UTC (``UtcDateTime``) on both SQLite and
PostgreSQL.  ``Order.version`` is the optimistic-concurrency counter: every
UPDATE carries ``WHERE version = <read version>`` and a stale write raises
``StaleDataError`` (mapped to 409 by the API).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from workorder.stats_facts import FACT_KINDS, order_facts


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# the columns of the statistics' covering index, in its order
FACTS_COVERING = ("kind", "at", "unit", "ref_at", "next_at", "last_at", "open_due", "f1", "f2", "f3")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="department")
    lines: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    parent: Mapped[str | None] = mapped_column(String(32))  # 县直部门: its county (transfer_map.yaml)


class Category(Base):
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(6))


class NumberSeq(Base):
    """Per-day counter behind the human-readable number YYYYMMDDnnnnn."""

    __tablename__ = "number_seq"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # caller
    caller_name: Mapped[str | None] = mapped_column(String(100))
    caller_phone: Mapped[str | None] = mapped_column(String(32), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # request
    type: Mapped[str | None] = mapped_column(String(16))
    category_code: Mapped[str | None] = mapped_column(String(6))
    title: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    district: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    # origin and call links
    origin: Mapped[str] = mapped_column(String(16))  # the number dialed (the store fills in the map's hotline)
    mode: Mapped[str] = mapped_column(String(16), default="direct")
    origin_department: Mapped[str | None] = mapped_column(String(32))
    uniqueid: Mapped[str | None] = mapped_column(String(64))
    linkedid: Mapped[str | None] = mapped_column(String(64), unique=True)
    recording: Mapped[str | None] = mapped_column(String(300))
    transcript: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(64), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    kb_refs: Mapped[list[Any]] = mapped_column(default=list)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    # progress (mirrors workorder.states.OrderState)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    main_unit: Mapped[str | None] = mapped_column(String(32), index=True)
    co_units: Mapped[list[Any]] = mapped_column(default=list)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    designated: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    callback_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    # outbound 回访 (workorder/revisit.py): the citizen asked for no call-back (不需要回访); a call
    # to this order is under way until revisit_lock_until (any jobs node: claimed by one UPDATE)
    no_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    revisit_lock_until: Mapped[datetime | None] = mapped_column()
    dispatched_ever: Mapped[bool] = mapped_column(Boolean, default=False)
    status_before_return: Mapped[str | None] = mapped_column(String(16))
    # 首接负责制, 主办/协办 parts, 县级承办 (workorder/states_chain.py); the county level's deadlines
    first_unit: Mapped[str | None] = mapped_column(String(32))
    parts_due: Mapped[list[Any]] = mapped_column(default=list)
    sub_unit: Mapped[str | None] = mapped_column(String(32))
    sub_status: Mapped[str | None] = mapped_column(String(16))
    sub_dispatched_at: Mapped[datetime | None] = mapped_column()
    sub_sign_deadline: Mapped[datetime | None] = mapped_column()
    sub_handling_deadline: Mapped[datetime | None] = mapped_column()
    sub_signed_at: Mapped[datetime | None] = mapped_column()
    disposition: Mapped[str | None] = mapped_column(String(32))
    transfer_to: Mapped[str | None] = mapped_column(String(8))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    call_satisfaction: Mapped[int | None] = mapped_column(Integer)
    # deadlines of the current round
    dispatched_at: Mapped[datetime | None] = mapped_column()
    sign_deadline: Mapped[datetime | None] = mapped_column()
    handling_deadline: Mapped[datetime | None] = mapped_column(index=True)
    signed_at: Mapped[datetime | None] = mapped_column()
    replied_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (  # lists filter on two of unit/status/type, newest first (0013_list_indexes)
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_unit_status_id", "main_unit", "status", "id"),
        Index("ix_orders_unit_type_id", "main_unit", "type", "id"),
        Index("ix_orders_status_type_id", "status", "type", "id"),
    )

    history: Mapped[list[Transition]] = relationship(
        back_populates="order", order_by="Transition.id", cascade="all, delete-orphan"
    )


class Transition(Base):
    """Every transition: who, in which role, when, from/to, with what."""

    __tablename__ = "transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    order: Mapped[Order] = relationship(back_populates="history")
    __table_args__ = (Index("ix_transitions_action_at", "action", "at"),)


class Record(Base):
    """Records attached to an order: dispatch, return, extension, reply, supervision, callback, appeal,
    evaluation, transfer, inform_caller.  ``kind`` says which; ``data`` holds the details."""

    __tablename__ = "records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    unit: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # idempotence key for records raised by the background job
    dedup_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    __table_args__ = (Index("ix_records_unit_kind_order", "unit", "kind", "order_id"),)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    subject: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    what: Mapped[str] = mapped_column(String(16))  # read | change
    status_code: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Outbox(Base):
    """Every change, in commit order, waiting to be pushed upstream (province)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """Tokens issued by the store (e.g. one per department); only a SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticle(Base):
    """A knowledge-base entry: the working copy (title, body, tags of the newest version) and
    the index of its published version (``tok_*``: the segmented words, space-joined; see
    ``workorder/kb_text.py``).  ``status`` is the newest version's (workorder/kb_rules.py)."""

    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    valid_from: Mapped[datetime | None] = mapped_column()
    expires_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    published_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    search_text: Mapped[str] = mapped_column(Text, default="")
    tok_title: Mapped[str] = mapped_column(Text, default="")
    tok_keywords: Mapped[str] = mapped_column(Text, default="")
    tok_body: Mapped[str] = mapped_column(Text, default="")
    tok_len: Mapped[int] = mapped_column(Integer, default=0)


class KbVersion(Base):
    """Every version of an entry, kept: who wrote it, who reviewed and who published it."""

    __tablename__ = "kb_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    department: Mapped[str | None] = mapped_column(String(32))
    expires_on: Mapped[date | None] = mapped_column(Date)
    editor: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (UniqueConstraint("article_id", "version"),)


class Survey(Base):
    """The caller's rating of the call (IVR survey after hang-up): 1 非常满意 .. 5 非常不满意."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CallRecording(Base):
    """One agent call's recording (MixMonitor, ``<linkedid>[-<uniqueid>].wav``), linked to the
    order of that call; the file is deleted after the retention, the row stays (``purged_at``)."""

    __tablename__ = "call_recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    agent: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column()


class StatsFact(Base):
    """The statistics' roll-up: what each record adds to the figures (workorder/stats.py), one row
    per record that adds something, without JSON, kept by the store's writes (the hook below) and
    built for existing records by migration 0007.  ``kind``: ``md`` main dispatch, ``ret`` return
    requested, ``rev`` reply accepted for callback, ``cb`` callback, ``eval`` evaluation,
    ``reo`` reopened.  ``ref_at``/``unit`` (and ``ref_at2``/``unit2`` for ``reo``): the main
    dispatch a record is counted for.  ``md``: ``next_at`` the round's next main dispatch,
    ``last_at`` the last sign / extension / first reply after it, ``open_due`` the deadline when
    not replied; ``f1``/``f2``/``f3``: ``md`` signed on time / replied / replied on time,
    ``cb`` reached / resolution known / resolved, ``eval`` satisfied / score."""

    __tablename__ = "stats_facts"
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column()
    unit: Mapped[str | None] = mapped_column(String(32))
    ref_at: Mapped[datetime | None] = mapped_column()
    unit2: Mapped[str | None] = mapped_column(String(32))
    ref_at2: Mapped[datetime | None] = mapped_column()
    next_at: Mapped[datetime | None] = mapped_column()
    last_at: Mapped[datetime | None] = mapped_column()
    open_due: Mapped[datetime | None] = mapped_column()
    f1: Mapped[int] = mapped_column(Integer, default=0)
    f2: Mapped[int] = mapped_column(Integer, default=0)
    f3: Mapped[int] = mapped_column(Integer, default=0)
    # covering: the statistics read only this index for a period
    __table_args__ = (Index("ix_stats_facts_kind_at", *FACTS_COVERING),)


class LineCallDay(Base):
    """A line's calls of one local day (offered, answered), kept by the jobs from the call figures'
    hourly buckets (queues/stats_days.py), which last 49 hours: the assessment's month of 接通率."""

    __tablename__ = "line_call_days"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, the hotline's zone
    line: Mapped[str] = mapped_column(String(20), primary_key=True)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Record, "after_insert")
@event.listens_for(Record, "after_update")
def _keep_stats_facts(mapper, connection, target: Record) -> None:
    """A record written: the order's roll-up rows again, in the same transaction."""
    if target.kind in FACT_KINDS:
        refresh_stats_facts(connection, target.order_id)


def refresh_stats_facts(conn, order_id: int) -> None:
    """The order's roll-up rows again from its records."""
    rec = Record.__table__.c
    recs = conn.execute(
        select(rec.id, rec.order_id, rec.round, rec.kind, rec.unit, rec.at, rec.data)
        .where(rec.order_id == order_id, rec.kind.in_(FACT_KINDS))
        .order_by(rec.id)
    ).all()
    conn.execute(delete(StatsFact.__table__).where(StatsFact.__table__.c.order_id == order_id))
    facts = order_facts(recs)
    if facts:
        conn.execute(insert(StatsFact.__table__), facts)
