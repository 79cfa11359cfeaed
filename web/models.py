"""Accounts, sessions and failed logins: three tables in the work-order database
(on :class:`workorder.models.Base`; created by migration ``0003_users``); the citizens' web
channel's throttle hits (migration ``0011_citizen``); the photos of its appeals are
:class:`workorder.photos.OrderPhoto`.

Passwords are argon2 hashes; a session row keeps only the SHA-256 of the
cookie's token and the session's CSRF token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workorder.models import Base, utcnow
from workorder.photos import OrderPhoto as OrderPhoto  # its home; re-exported for web/


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    display: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[str] = mapped_column(String(16))
    extension: Mapped[str | None] = mapped_column(String(8))  # agents: their SIP extension
    department: Mapped[str | None] = mapped_column(String(32))  # department handlers: a unit code
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    __tablename__ = "user_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CitizenHit(Base):
    """One counted request of the citizens' web channel (web/citizen.py): ``kind`` ``appeal`` (a
    post from an address), ``phone`` (an appeal accepted for a phone), ``lookup`` (a progress query
    or a rating from an address); ``key`` the SHA-256 of the address or phone, never the value.
    Rows older than a day are deleted on the next hit."""

    __tablename__ = "citizen_hits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    __table_args__ = (Index("ix_citizen_hits_kind_key_at", "kind", "key", "at"),)
