"""The citizens' web channel's adapters: the throttle's counts, the appeal made through the
store's own ``create`` (channel ``web``, a draft waiting for 受理 as a phone order does), its
photo on disk, the progress query through the IVR's own check (``Store.ivr_status``: the order
number and the last 4 digits of the phone on file) and the rating through the ``evaluate``
transition, with the same rule as the 回访 survey (不满意 counts the unit at fault).

The decisions are pure (:mod:`web.citizen_rules`)."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from hotline.auth import Principal
from hotline.log import event, mask_number
from web.citizen_rules import EXTENSION, REPLY_SHOWN, progress_text
from web.models import CitizenHit, OrderPhoto
from workorder.models import Category, Order, Record
from workorder.service import Conflict, Forbidden, NotFound, Store
from workorder.views import _iso
from workorder.vocab import CITIZEN, DISSATISFIED, SATISFACTION

log = logging.getLogger("web.citizen")
WINDOWS = {"appeal": timedelta(hours=1), "phone": timedelta(days=1), "lookup": timedelta(hours=1)}
KEEP = timedelta(days=1)  # the longest window


def citizen(phone: str | None) -> Principal:
    """Who acts on the web channel: a citizen, named by the masked phone (audit log, history)."""
    return Principal(subject=f"citizen:{mask_number(phone) or 'web'}", role=CITIZEN)


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


@dataclass
class CitizenDesk:
    store: Store
    photo_dir: Path

    # -- the throttle ---------------------------------------------------------------
    def count(self, kind: str, value: str) -> int:
        """Hits of ``kind`` for ``value`` within the kind's window."""
        since = self.store.now() - WINDOWS[kind]
        with self.store.db.read() as s:
            return int(
                s.scalar(
                    select(func.count()).where(
                        CitizenHit.kind == kind, CitizenHit.key == _key(kind, value), CitizenHit.at >= since
                    )
                )
                or 0
            )

    def hit(self, kind: str, value: str) -> None:
        now = self.store.now()
        with self.store.db.write() as s:
            s.add(CitizenHit(kind=kind, key=_key(kind, value), at=now))
            s.execute(delete(CitizenHit).where(CitizenHit.at < now - KEEP))

    # -- the form's choices ----------------------------------------------------------
    def categories(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(top-level name, [(code, name)]) of the store's category tree, for the form's select."""
        with self.store.db.read() as s:
            cats = [(c.code, c.name, c.parent_code) for c in s.scalars(select(Category).order_by(Category.code))]
        tops = {code: name for code, name, parent in cats if parent is None}
        groups: dict[str, list[tuple[str, str]]] = {}
        for code, name, parent in cats:
            if parent is not None:
                groups.setdefault(tops.get(code[:2] + "0000", ""), []).append((code, name))
        return list(groups.items())

    # -- an appeal ---------------------------------------------------------------------
    def submit(self, data: dict[str, Any], photo: tuple[str, bytes] | None) -> dict:
        """A new draft order of channel ``web`` (and its photo); the order's id and number."""
        p = citizen(str(data.get("caller_phone") or ""))
        path = None
        if photo is not None:
            self.photo_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
            path = self.photo_dir / f"{secrets.token_hex(16)}.{EXTENSION[photo[0]]}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "wb") as f:
                f.write(photo[1])
                f.flush()
                os.fsync(f.fileno())
        try:
            out = self.store.create(data, p, "draft")
        except Exception:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        if photo is not None and path is not None:
            with self.store.db.write() as s:
                s.add(
                    OrderPhoto(
                        order_id=out["id"],
                        name=path.name,
                        content_type=photo[0],
                        size=len(photo[1]),
                        sha256=hashlib.sha256(photo[1]).hexdigest(),
                        uploaded_at=self.store.now(),
                    )
                )
        event(log, "web appeal", number=out["number"], photo=photo is not None)
        return {"id": out["id"], "number": out["number"]}

    # -- progress and rating ----------------------------------------------------------
    def progress(self, number: str, last4: str) -> dict | None:
        """What the citizen reads of the order; None for an unknown number and for wrong last 4
        digits alike (the same answer: no one learns which numbers exist)."""
        try:
            status = self.store.ivr_status(number, "", last4)
        except (NotFound, Forbidden):
            return None
        with self.store.db.read() as s:
            o = s.scalars(select(Order).where(Order.number == number)).one()
            category = s.get(Category, o.category_code) if o.category_code else None
            reply = s.scalars(
                select(Record)
                .where(Record.order_id == o.id, Record.kind == "reply", Record.round == o.round)
                .order_by(Record.id.desc())
            ).first()
            return {
                "id": o.id,
                "number": o.number,
                "status": o.status,
                "status_text": progress_text(o.status),
                "deadline": status["deadline"],
                "received_at": _iso(o.received_at),
                "category": category.name if category else "",
                "reply": (reply.data or {}).get("content") if reply and o.status in REPLY_SHOWN else None,
                "can_rate": o.status == "evaluation",
                "rated": SATISFACTION.get(o.satisfaction) if o.satisfaction else None,
                "caller_phone": o.caller_phone,
            }

    def rate(self, number: str, last4: str, score: int) -> dict | None:
        """The citizen's 评价 of the order (its ``evaluate`` transition); None as in :meth:`progress`.
        Raises :class:`Conflict` when the order does not wait for a rating."""
        seen = self.progress(number, last4)
        if seen is None:
            return None
        if not seen["can_rate"]:
            raise Conflict("invalid_state", "该工单当前不在待评价状态")
        payload = {"satisfaction": score, "unit_at_fault": score in DISSATISFIED}
        self.store.transition(seen["id"], "evaluate", payload, citizen(seen["caller_phone"]), comment="网上评价")
        return self.progress(number, last4)

    # -- photos, for the staff ----------------------------------------------------------
    def photos_of(self, order_id: int) -> list[dict]:
        with self.store.db.read() as s:
            rows = s.scalars(select(OrderPhoto).where(OrderPhoto.order_id == order_id).order_by(OrderPhoto.id))
            return [{"id": r.id, "content_type": r.content_type, "size": r.size} for r in rows]

    def photo_file(self, order_id: int, photo_id: int, p: Principal) -> tuple[Path, str] | None:
        """The file of a photo of an order ``p`` may see; None when either is not there for ``p``."""
        try:
            self.store.get(order_id, p)
        except NotFound:
            return None
        with self.store.db.read() as s:
            row = s.get(OrderPhoto, photo_id)
        if row is None or row.order_id != order_id:
            return None
        path = self.photo_dir / row.name
        return (path, row.content_type) if path.is_file() else None
