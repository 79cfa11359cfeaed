"""The photos of the citizens' web appeals: the table ``order_photos`` (migration ``0011_citizen``)
and the files' lifetime on disk.

A photo's file goes when its order is deleted (a draft the hotline removes as spam: the row goes
with the order, the file here, after the commit), and when its order has been closed (办结,
不予受理, 并单; ``closed_at``) for longer than ``HOTLINE_CITIZEN_PHOTO_RETENTION_DAYS`` (the
background job's pass, workorder/jobs_cli.py; 0 keeps them for ever).  The rule is
:func:`retention_cutoff`; the rest is the adapter."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline.auth import Principal
from hotline.log import event
from workorder.models import Base, Order, utcnow
from workorder.service import Store

log = logging.getLogger("workorder.photos")
CLOSED = ("closed", "archived", "rejected", "merged")  # the orders whose photos age out
BATCH = 500  # photo rows purged per transaction


class OrderPhoto(Base):
    """A photo a citizen attached to a web appeal: the file ``name`` in ``HOTLINE_CITIZEN_PHOTO_DIR``
    (made by the platform, never the upload's name), its checked type, size and SHA-256."""

    __tablename__ = "order_photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


def retention_cutoff(now: datetime, days: int) -> datetime | None:
    """Photos of orders closed before this moment are removed; None: kept for ever (``days`` 0)."""
    if days < 0:
        raise ValueError("retention days must be 0 (for ever) or more")
    return now - timedelta(days=days) if days else None


def remove_files(photo_dir: Path, names: list[str]) -> int:
    """Unlink the named files (a name is the platform's own, never a path); how many were there."""
    n = 0
    for name in names:
        path = photo_dir / Path(name).name
        try:
            path.unlink()
            n += 1
        except FileNotFoundError:
            pass
    return n


def delete_order(store: Store, photo_dir: Path, order_id: int, p: Principal) -> int:
    """Delete a draft (the store's rule and audit) and then its photos' files; the files removed."""
    with store.db.read() as s:
        names = list(s.scalars(select(OrderPhoto.name).where(OrderPhoto.order_id == order_id)))
    store.delete(order_id, p)  # the rows go with the order (ON DELETE CASCADE; SQLite: foreign_keys on)
    removed = remove_files(photo_dir, names)
    if names:
        event(log, "order photos deleted", order_id=order_id, files=removed)
    return removed


def purge_closed(store: Store, photo_dir: Path, days: int) -> int:
    """Remove the photos (rows and files) of orders closed longer than ``days`` ago; how many."""
    cutoff = retention_cutoff(store.now(), days)
    if cutoff is None:
        return 0
    total = 0
    while True:
        with store.db.write() as s:
            rows = s.execute(
                select(OrderPhoto.id, OrderPhoto.name)
                .join(Order, Order.id == OrderPhoto.order_id)
                .where(Order.status.in_(CLOSED), Order.closed_at.is_not(None), Order.closed_at < cutoff)
                .order_by(OrderPhoto.id)
                .limit(BATCH)
            ).all()
            if rows:
                s.execute(delete(OrderPhoto).where(OrderPhoto.id.in_([r.id for r in rows])))
        if not rows:
            break
        remove_files(photo_dir, [r.name for r in rows])  # after the commit: a failed one keeps both
        total += len(rows)
    if total:
        event(log, "order photos purged", photos=total, days=days)
    return total
