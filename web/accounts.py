"""Named users, their passwords and sessions, and login throttling.

* Passwords: argon2id (argon2-cffi's defaults), rehashed on login when the
  parameters change.  Generated passwords are 16 URL-safe characters.
* Sessions: a random token in an HttpOnly, SameSite=Strict cookie; the table keeps
  its SHA-256 and the session's CSRF token.  A session ends after ``IDLE`` without
  a request, after ``MAX_AGE`` in any case, at logout, and when the user is
  disabled or changes the password.
* Throttling: ``USER_LIMIT`` failed logins for one name, or ``ADDRESS_LIMIT`` from
  one address, within ``WINDOW`` refuse further tries (even a right password)
  until the oldest failure leaves the window.

Who may be what: an agent is bound to a SIP extension of the agent registry and
carries that agent's name (so the queues API can tell "my own state" apart); a
supervisor may be bound to one too: the phone that listen / whisper / barge ring,
and the agents' "transfer to a supervisor" target;
a department handler to one handling unit (a department code of transfer_map.yaml).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotline.auth import Principal
from queues.models import Registry
from web.models import LoginFailure, User, UserSession
from workorder.db import Database
from workorder.models import Department, utcnow

ROLES = {
    "agent": "话务员",
    "dispatcher": "派单员",
    "supervisor": "班长",
    "department": "承办单位",
    "admin": "管理员",
    "quality": "质检员",
}
NAME_RE = re.compile(r"^[a-z][a-z0-9_.\-]{0,39}$")
MIN_PASSWORD = 10
IDLE = timedelta(hours=8)
MAX_AGE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
WINDOW = timedelta(minutes=15)
USER_LIMIT = 5
ADDRESS_LIMIT = 20

_hasher = PasswordHasher()


class AccountError(ValueError):
    """Bad input for an account operation; the message says what to fix."""


class Throttled(Exception):
    def __init__(self, minutes: int):
        self.minutes = minutes
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    display: str
    role: str
    extension: str | None
    department: str | None
    active: bool

    @property
    def principal(self) -> Principal:
        return Principal(subject=self.name, role=self.role, department=self.department)


@dataclass(frozen=True)
class SessionInfo:
    account: Account
    csrf: str


def _account(u: User) -> Account:
    return Account(u.id, u.name, u.display, u.role, u.extension, u.department, u.active)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符"
    return None


class Accounts:
    def __init__(
        self, db: Database, agents_url: str, now: Callable[[], datetime] = utcnow, hasher: PasswordHasher = _hasher
    ):
        self.db = db
        self.agents_url = agents_url
        self.now = now
        self.hasher = hasher

    # -- users ------------------------------------------------------------------
    def add(
        self,
        name: str | None,
        role: str,
        password: str | None = None,
        *,
        extension: str | None = None,
        department: str | None = None,
        display: str = "",
    ) -> tuple[Account, str]:
        """Create a user; returns it and its password (generated when not given)."""
        if role not in ROLES:
            raise AccountError(f"role {role!r}: one of {', '.join(ROLES)}")
        if role == "agent":
            name = self._agent_name(name, extension)
        elif role == "supervisor" and extension:
            self._phone(extension)
        elif extension:
            raise AccountError("only an agent or a supervisor has an extension")
        if role == "department":
            if not department:
                raise AccountError("a department user needs --department <unit code>")
            with self.db.read() as s:
                if s.get(Department, department) is None:
                    raise AccountError(
                        f"department {department!r}: not a unit of the store (a department code of transfer_map.yaml)"
                    )
        elif department:
            raise AccountError("only a department user has a department")
        if not name or not NAME_RE.match(name):
            raise AccountError(f"name {name!r}: lower-case letters, digits, . _ - (starting with a letter)")
        password = password or generate_password()
        problem = _password_problem(password)
        if problem:
            raise AccountError(problem)
        now = self.now()
        with self.db.write() as s:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise AccountError(f"user {name} exists")
            u = User(
                name=name,
                display=display,
                role=role,
                extension=extension,
                department=department,
                password_hash=self.hasher.hash(password),
                active=True,
                created_at=now,
                password_changed_at=now,
            )
            s.add(u)
            s.flush()
            return _account(u), password

    def _phone(self, extension: str) -> dict:
        """The registry's record of ``extension`` (its PJSIP endpoints are rendered from it)."""
        agent = Registry(self.agents_url).get(extension)
        if agent is None or agent["extension"] != extension:
            raise AccountError(f"extension {extension}: no such agent; add it first with `hotline agent add`")
        return agent

    def _agent_name(self, name: str | None, extension: str | None) -> str:
        if not extension:
            raise AccountError("an agent user needs --extension (its SIP extension in `hotline agent list`)")
        agent = self._phone(extension)
        if name and name != agent["name"]:
            raise AccountError(
                f"extension {extension} belongs to agent {agent['name']}: an agent user carries "
                f"its agent's name, so name the user {agent['name']} (or leave the name out)"
            )
        return str(agent["name"])

    def all(self) -> list[Account]:
        with self.db.read() as s:
            return [_account(u) for u in s.scalars(select(User).order_by(User.role, User.name))]

    def get(self, name: str) -> Account | None:
        with self.db.read() as s:
            u = s.scalars(select(User).where(User.name == name)).first()
            return _account(u) if u else None

    def set_active(self, name: str, active: bool) -> Account:
        with self.db.write() as s:
            u = self._user(s, name)
            u.active = active
            if not active:
                s.execute(delete(UserSession).where(UserSession.user_id == u.id))
            return _account(u)

    def set_password(self, name: str, password: str | None = None) -> str:
        """A new password (generated when not given); every session of the user ends."""
        password = password or generate_password()
        problem = _password_problem(password)
        if problem:
            raise AccountError(problem)
        with self.db.write() as s:
            u = self._user(s, name)
            u.password_hash = self.hasher.hash(password)
            u.password_changed_at = self.now()
            s.execute(delete(UserSession).where(UserSession.user_id == u.id))
        return password

    def change_password(self, name: str, old: str, new: str) -> None:
        if not self._verify(name, old):
            raise AccountError("原密码不对")
        self.set_password(name, new)

    @staticmethod
    def _user(s: Session, name: str) -> User:
        u: User | None = s.scalars(select(User).where(User.name == name)).first()
        if u is None:
            raise AccountError(f"no user {name!r}")
        return u

    def _verify(self, name: str, password: str) -> User | None:
        with self.db.read() as s:
            u = s.scalars(select(User).where(User.name == name)).first()
        try:
            if u is None:
                self.hasher.hash(password)  # the same work for unknown names: no timing oracle
                return None
            self.hasher.verify(u.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(u.password_hash):
            with self.db.write() as s:
                self._user(s, name).password_hash = self.hasher.hash(password)
        return u

    # -- login and sessions -------------------------------------------------------
    def login(self, name: str, password: str, address: str) -> tuple[str, SessionInfo] | None:
        """A new session for good credentials of an active user; None when they are wrong.
        Raises :class:`Throttled` when this name or address failed too often."""
        name, address = name[:64], address[:64]
        self._check_throttle(name, address)
        u = self._verify(name, password)
        now = self.now()
        if u is None or not u.active:
            with self.db.write() as s:
                s.add(LoginFailure(name=name, address=address, at=now))
                s.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.db.write() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.name == name))
            s.execute(delete(UserSession).where(UserSession.last_seen < now - IDLE))
            s.add(
                UserSession(
                    token_sha256=_digest(token), user_id=u.id, csrf=csrf, address=address, created_at=now, last_seen=now
                )
            )
        return token, SessionInfo(_account(u), csrf)

    def _check_throttle(self, name: str, address: str) -> None:
        since = self.now() - WINDOW
        with self.db.read() as s:
            for column, value, limit in (
                (LoginFailure.name, name, USER_LIMIT),
                (LoginFailure.address, address, ADDRESS_LIMIT),
            ):
                n, oldest = s.execute(
                    select(func.count(), func.min(LoginFailure.at)).where(column == value, LoginFailure.at >= since)
                ).one()
                if n >= limit:
                    left = (oldest + WINDOW - self.now()).total_seconds()
                    raise Throttled(max(1, int(left // 60) + 1))

    def session(self, token: str) -> SessionInfo | None:
        """The live session of a cookie token (its user active), or None."""
        if not token:
            return None
        now = self.now()
        digest = _digest(token)
        with self.db.read() as s:
            row = s.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_sha256 == digest)
            ).first()
        if row is None:
            return None
        sess, u = row
        if not u.active or now - sess.last_seen > IDLE or now - sess.created_at > MAX_AGE:
            self.logout(token)
            return None
        if now - sess.last_seen > TOUCH_EVERY:
            with self.db.write() as s:
                live = s.get(UserSession, digest)
                if live is not None:
                    live.last_seen = now
        return SessionInfo(_account(u), sess.csrf)

    def logout(self, token: str) -> None:
        with self.db.write() as s:
            s.execute(delete(UserSession).where(UserSession.token_sha256 == _digest(token)))


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
