"""网上诉求待受理: the citizens' web appeals waiting for the hotline (channel ``web``, 草稿 and
已受理 not yet dispatched), oldest first, and the steps the hotline takes on them through the
store's own transitions (the same state machine and rules as a phone order): 受理, 受理并派单
(or 派单 once accepted), 不予受理 with an acceptance-exclusion code, 并单 into an earlier order.

The caller is masked per role by the store (workorder/privacy.py); the text shown is cut to an
excerpt (the template escapes it)."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.auth import Principal
from workorder.models import Category, Department, Order
from workorder.photos import OrderPhoto
from workorder.service import Conflict, Store
from workorder.states import DISPOSITIONS, EMERGENCY_LINES, allowed_actions
from workorder.views import order_dict, state_of

CHANNEL = "web"
WAITING = ("draft", "accepted")  # not dispatched yet
ACTIONS = ("accept", "dispatch", "reject", "merge")
EXCERPT = 80
LIMIT = 200


def waited_text(seconds: float) -> str:
    """How long an appeal has waited, for the queue: 3天2小时, 2小时5分, 12分, 不到1分钟."""
    minutes = int(max(seconds, 0) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分" if mins else "不到1分钟"


def excerpt(text: str | None, size: int = EXCERPT) -> str:
    """The first ``size`` characters of the content (one line), with … when cut."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= size else flat[:size] + "…"


def count(store: Store) -> int:
    with store.db.read() as s:
        return int(s.scalar(select(func.count()).where(Order.channel == CHANNEL, Order.status.in_(WAITING))) or 0)


def queue(store: Store, p: Principal, limit: int = LIMIT) -> dict:
    """The waiting web appeals, oldest first (at most ``limit``), each with what ``p`` may do."""
    now = store.now()
    with store.db.read() as s:
        rows = list(
            s.scalars(
                select(Order)
                .where(Order.channel == CHANNEL, Order.status.in_(WAITING))
                .order_by(Order.received_at, Order.id)
                .limit(limit)
            )
        )
        ids = [o.id for o in rows]
        photos: dict[int, list[int]] = {}
        for oid, pid in s.execute(
            select(OrderPhoto.order_id, OrderPhoto.id).where(OrderPhoto.order_id.in_(ids)).order_by(OrderPhoto.id)
        ):
            photos.setdefault(oid, []).append(pid)
        codes = {o.category_code for o in rows if o.category_code}
        names = dict(s.execute(select(Category.code, Category.name).where(Category.code.in_(codes))).all())
        units = [
            (d.code, d.name)
            for d in s.scalars(
                select(Department)
                .where(Department.active.is_(True), Department.parent.is_(None))
                .order_by(Department.code)
            )
        ]
        items = []
        for o in rows:
            d = order_dict(o, p)  # the caller masked per role
            can = [a for a in allowed_actions(state_of(o), p.role, p.department) if a in ACTIONS]
            if "accept" in can:  # 受理并派单: the desk's own two steps
                can.append("dispatch")
            items.append(
                {
                    **d,
                    "category": names.get(o.category_code or "", o.category_code or ""),
                    "waited": waited_text((now - o.received_at).total_seconds()),
                    "excerpt": excerpt(o.content),
                    "photos": photos.get(o.id, []),
                    "actions": [a for a in ACTIONS if a in can],
                }
            )
    return {"items": items, "total": count(store), "units": units}


def _order_id_of(store: Store, number: str) -> int:
    with store.db.read() as s:
        found = s.scalar(select(Order.id).where(Order.number == number.strip()))
    if found is None:
        raise Conflict("bad_parent", f"没有工单号为 {number.strip() or '（空）'} 的工单")
    return int(found)


def act(store: Store, order_id: int, action: str, form: dict[str, str], p: Principal) -> dict:
    """Take ``action`` on web appeal ``order_id``; ``form``: version, main_unit, disposition,
    transfer_to, parent_number, comment.  Raises the store's Conflict / NotFound."""
    if action not in ACTIONS:
        raise Conflict("unknown_action", f"未知操作 {action}")
    current = store.get(order_id, p)
    if current["channel"] != CHANNEL:
        raise Conflict("not_web", "此工单不是网上诉求，请在坐席工作台办理")
    version: int | None = int(form["version"]) if str(form.get("version") or "").isdigit() else None
    comment = (form.get("comment") or "").strip() or None
    payload: dict = {}
    if action == "dispatch":
        if not form.get("main_unit"):
            raise Conflict("bad_field", "请选择主办单位")
        if current["status"] == "draft":
            version = store.transition(order_id, "accept", {}, p, version)["version"]
        payload = {"main_unit": form["main_unit"], "co_units": []}
    elif action == "reject":
        code = form.get("disposition") or ""
        if code not in DISPOSITIONS:
            raise Conflict("bad_field", "请选择不予受理的情形")
        payload = {"disposition": code}
        if code == "emergency":
            if form.get("transfer_to") not in EMERGENCY_LINES:
                raise Conflict("bad_field", f"紧急事项请选择转接的号码：{'、'.join(EMERGENCY_LINES)}")
            payload["transfer_to"] = form["transfer_to"]
        if code == "unreasonable_repeat" or (form.get("parent_number") or "").strip():
            payload["parent_id"] = _order_id_of(store, form.get("parent_number") or "")
    elif action == "merge":
        payload = {"parent_id": _order_id_of(store, form.get("parent_number") or "")}
    return store.transition(order_id, action, payload, p, version, comment)
