"""Supervisor wallboard (监控大屏): the platform's 24 h answer rate and 15 s service level
(every call that reached it, per line and mode) against the 95% target and the alerts of
the rolling window, the queues, agents by state, live over the queues API's SSE stream, with
listen / whisper / barge (监听 / 耳语 / 强插) on an agent's live call.

``POST /wallboard/spy {agent, mode}`` (supervisor or admin, session + CSRF): the
user's own phone (the extension the account is bound to, ``hotline user add NAME
--role supervisor --extension 1009``) rings and, answered, spies on the agent's
channel (:mod:`queues.spy`).  The agent must be talking in the live statistics
(404 otherwise).  The audit log keeps who spied on whom and how."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from hotline.policy import MODE_NAMES
from queues import agents as ag
from queues import spy
from queues.api import live_members, settings_of
from queues.sizing import SERVICE_LEVEL_SECONDS, TARGET_ANSWER_RATE
from web.accounts import SessionInfo
from web.render import STATIC, page
from web.session import page_user

router = APIRouter(include_in_schema=False)
WATCH = page_user("supervisor", "dispatcher", "admin")
SPIES = ("supervisor", "admin")
SPY = page_user(*SPIES)
CHART_JS = STATIC / "wallboard" / "vendor" / "uPlot.iife.min.js"  # built by deploy/softphone.py


@router.get("/wallboard")
async def wallboard(request: Request, info: SessionInfo = Depends(WATCH)):
    account = info.account
    return page(
        request,
        "wallboard.html",
        chart=CHART_JS.exists(),
        config={
            "target": TARGET_ANSWER_RATE,
            "sl_seconds": SERVICE_LEVEL_SECONDS,
            "alert_window": round(settings_of(request).stats_alert_window),
            "modes": {"direct": "12345", **MODE_NAMES},
            "stream": "/api/v1/queues/stream",
            "agents": "/api/v1/queues/agents",
            "spy": {
                "url": "/wallboard/spy",
                "allowed": account.role in SPIES,
                "extension": account.extension,
                "modes": spy.MODES,
            },
        },
    )


class SpyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
    mode: Annotated[str, Field(max_length=20)]


async def _live_agent(request: Request, name: str) -> dict | None:
    """The agent's live record that is talking, else any (None: not logged in)."""
    members = await live_members(request, name)
    return next((m for m in members if m.get("state") == "talking"), members[0] if members else None)


@router.post("/wallboard/spy")
async def wallboard_spy(body: SpyIn, request: Request, info: SessionInfo = Depends(SPY)):
    problem = spy.mode_problem(body.mode)
    if problem:
        raise HTTPException(422, problem)
    label, extension = spy.MODES[body.mode], info.account.extension
    if not extension:
        raise HTTPException(
            409,
            f"账号 {info.account.name} 未绑定分机，无法{label}：请管理员建立绑定分机的班长账号"
            "（hotline user add 名称 --role supervisor --extension 分机）",
        )
    live = await _live_agent(request, body.agent)
    if live is None or live.get("state") != "talking":
        raise HTTPException(404, f"坐席 {body.agent} 当前不在通话中，无法{label}")
    try:
        action = spy.originate(str(live.get("interface", "")), spy.phone(extension), body.mode)
    except spy.SpyError as exc:
        raise HTTPException(409, str(exc)) from None
    try:
        results = await ag.send_actions(settings_of(request), [action])
    except (TimeoutError, OSError, ConnectionError) as exc:
        raise HTTPException(503, f"无法连接 Asterisk AMI，未能{label}：{exc}") from None
    if not results[0].ok:
        raise HTTPException(502, f"Asterisk 拒绝了{label}呼叫：{results[0].message}")
    # the audit row names the agent and the mode (the middleware's own row has the path only)
    request.state.audited = True
    await run_in_threadpool(
        request.app.state.store.audit,
        info.account.principal,
        "POST",
        f"/wallboard/spy?agent={body.agent}&mode={body.mode}",
        200,
        None,
    )
    return {
        "agent": body.agent,
        "mode": body.mode,
        "interface": live["interface"],
        "extension": extension,
        "message": f"正在呼叫您的分机 {extension}：接听后开始{label}坐席 {body.agent}",
    }
