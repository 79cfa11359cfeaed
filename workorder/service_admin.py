"""The store's administration side: API tokens, the audit log, deadline alarms and
archiving (a mixin of :class:`workorder.service.Store`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hotline.auth import Principal
from workorder import deadlines as dl
from workorder.errors import Conflict, Invalid
from workorder.models import ApiToken, AuditLog, Department, Order, Record
from workorder.views import AUDIT_CTX, SYSTEM, _iso

_INSERT_AUDIT = insert(AuditLog.__table__)


def audit_in_tx(s: Session, at, order_id: int | None, status_code: int) -> None:
    """The audit row of the current API request (AUDIT_CTX), written in ``s``'s transaction;
    nothing outside a request or without a principal.  Marks the request audited."""
    ctx = AUDIT_CTX.get()
    p = ctx["state"].get("principal") if ctx else None
    if ctx is None or p is None:
        return
    s.execute(
        _INSERT_AUDIT,  # parameters, not a statement built (and cache-keyed) per request
        dict(
            at=at,
            subject=p.subject,
            role=p.role,
            method=ctx["method"],
            path=ctx["path"][:300],
            what="change",
            status_code=status_code,
            order_id=order_id,
        ),
    )
    ctx["state"]["audited"] = True


class AdminMixin:
    # -- tokens and audit --------------------------------------------------------
    def issue_token(self, subject: str, role: str, department: str | None) -> str:
        token = secrets.token_urlsafe(24)
        with self.db.write() as s:
            if department and s.get(Department, department) is None:
                raise Invalid("department", f"unknown department {department!r}")
            s.add(
                ApiToken(
                    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                    subject=subject,
                    role=role,
                    department=department,
                    created_at=self.now(),
                )
            )
        return token

    def resolve_token(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.db.read() as s:
            t = s.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest, ApiToken.active.is_(True))).first()
            if t is None:
                return None
            return Principal(subject=t.subject, role=t.role, department=t.department)

    def audit(self, p: Principal, method: str, path: str, status_code: int, order_id: int | None) -> None:
        """Audit a request after it was served, at once, durably: a read leaves its row
        before the answer is complete, and a crash loses none.  Through the group commit
        (:meth:`Database.run`): concurrent reads share one fsync instead of queueing for
        one each behind the writer lock.  Changes are audited inside their own transaction
        instead (:meth:`_audit_tx`)."""
        self.db.run(self._audit_job(p, method, path, status_code, order_id))

    def audit_submit(self, p: Principal, method: str, path: str, status_code: int, order_id: int | None):
        """:meth:`audit` without waiting (:meth:`Database.submit`): the future of the durable row,
        or None without a group commit (then call :meth:`audit` in a thread)."""
        return self.db.submit(self._audit_job(p, method, path, status_code, order_id))

    def _audit_job(self, p: Principal, method: str, path: str, status_code: int, order_id: int | None):
        row = dict(
            at=self.now(),
            subject=p.subject,
            role=p.role,
            method=method,
            path=path[:300],
            what="read" if method in ("GET", "HEAD") else "change",
            status_code=status_code,
            order_id=order_id,
        )
        return lambda s: s.execute(_INSERT_AUDIT, row)

    def _audit_tx(self, s: Session, order_id: int | None, status_code: int) -> None:
        """Audit the current request inside the change's own transaction (no second commit)."""
        audit_in_tx(s, self.now(), order_id, status_code)

    # -- background job -------------------------------------------------------------
    def raise_alarms(self) -> dict[str, int]:
        """Warnings before a deadline, supervision records after it; idempotent (dedup key per
        order, round, stage and deadline).  Returns counts per stage."""
        now = self.now()
        counts: dict[str, int] = {}
        with self.db.read() as s:
            rows = s.execute(
                select(
                    Order.id,
                    Order.status,
                    Order.dispatched_at,
                    Order.sign_deadline,
                    Order.handling_deadline,
                    Order.round,
                    Order.sub_status,
                    Order.sub_dispatched_at,
                    Order.sub_sign_deadline,
                    Order.sub_handling_deadline,
                ).where(Order.status.in_(("dispatched", "handling", "return_review")))
            ).all()
        for oid, status, start, sign, handle, rnd, *sub in rows:
            found = dl.alarms(now, status, start, sign, handle, self.cfg.limits.warn_ratio)
            found += dl.county_alarms(now, *sub, self.cfg.limits.warn_ratio)  # 县→县直部门, its own deadlines
            for alarm in found:
                key = f"{oid}:{rnd}:{alarm.key}"
                with self.db.write() as s:
                    if s.scalar(select(Record.id).where(Record.dedup_key == key)) is not None:
                        continue
                    o = s.get(Order, oid)
                    if (
                        o is None
                        or o.status != status
                        or (alarm.stage.startswith("county_") and o.sub_status != sub[0])
                    ):
                        continue
                    kind = "urge" if alarm.stage.endswith("warning") else "supervise"
                    ev = {
                        "type": "supervision",
                        "kind": kind,
                        "stage": alarm.stage,
                        "note": f"deadline {_iso(alarm.deadline)}",
                        "dedup": key,
                    }
                    if alarm.stage.startswith("county_"):  # supervision of the county's department
                        ev |= {"level": "county", "unit": o.sub_unit}
                    self._on_event(s, o, ev, SYSTEM, now)
                    self._outbox(s, o, "order.supervision", {"stage": alarm.stage})
                counts[alarm.stage] = counts.get(alarm.stage, 0) + 1
        return counts

    def archive_closed(self, older_than_days: int = 30) -> int:
        cutoff = self.now() - timedelta(days=older_than_days)
        with self.db.read() as s:
            ids = list(s.scalars(select(Order.id).where(Order.status == "closed", Order.closed_at < cutoff)))
        n = 0
        for oid in ids:
            try:
                self.transition(oid, "archive", {}, SYSTEM)
                n += 1
            except Conflict:
                pass
        return n
