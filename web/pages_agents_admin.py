"""Admin: the agents of the registry (坐席) — list, add, change skills, remove.

An agent's phones (the PJSIP endpoints ``<extension>`` and ``webrtc-<extension>``)
are rendered from the registry, so adding or removing one runs ``hotline reload``
(the same reloader as the map page) and shows what it printed.  Skills name the
queues of the transfer map; a skill the map has no queue for is refused."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.concurrency import run_in_threadpool

from hotline.transfer_map import load_map_for
from queues.config import queue_specs
from queues.models import Registry, parse_skills
from web.accounts import SessionInfo
from web.render import page
from web.session import page_user

router = APIRouter(include_in_schema=False)
ADMIN = page_user("admin")
NAME = Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")


def _queues(request: Request) -> list[str]:
    settings = request.app.state.settings
    return [q["name"] for q in queue_specs(load_map_for(settings), settings)]


def _page(request: Request, status_code: int = 200, **ctx):
    settings = request.app.state.settings
    try:
        queues, map_error = _queues(request), ""
    except Exception as exc:  # noqa: BLE001 - a refused map: say so, keep the page usable
        queues, map_error = [], f"转接表未通过检查，技能队列无法列出：{exc}"
    return page(
        request,
        "admin_agents.html",
        status_code=status_code,
        agents=Registry(settings.database_url).all(),
        queues=queues,
        **{"error": map_error, "notice": "", "reload_output": "", "reload_ok": None, **ctx},
    )


def _skills(request: Request, text: str) -> dict[str, int]:
    text = text.replace("，", ",").replace(" ", ",").strip(", ")
    if not text:  # the hotline's own queue, as `hotline agent add` does
        return {load_map_for(request.app.state.settings).hotline.queue: 0}
    skills = parse_skills(text)
    known = _queues(request)
    unknown = sorted(set(skills) - set(known))
    if unknown:
        raise ValueError(f"技能 {', '.join(unknown)} 不是转接表中的队列（可用：{', '.join(known)}）")
    return skills


def _reloaded(request: Request, notice: str, status_code: int = 200):
    ok, output = request.app.state.map_reloader()
    return _page(
        request,
        status_code if ok else 502,
        notice=notice + ("；Asterisk 已重新加载" if ok else "；重新加载失败，见下方输出"),
        reload_output=output,
        reload_ok=ok,
    )


@router.get("/admin/agents")
async def agents_page(request: Request, info: SessionInfo = Depends(ADMIN)):
    return await run_in_threadpool(_page, request)


@router.post("/admin/agents")
async def add_agent(
    request: Request,
    info: SessionInfo = Depends(ADMIN),
    name: str = Form(..., max_length=40),
    extension: str = Form(..., max_length=8),
    skills: str = Form("", max_length=400),
    display: str = Form("", max_length=80),
    team: str = Form("", max_length=40),
):
    def run():
        try:
            a = Registry(request.app.state.settings.database_url).add(
                name.strip(), extension.strip(), _skills(request, skills), team=team.strip(), display=display.strip()
            )
        except ValueError as exc:
            return _page(request, 422, error=str(exc))
        return _reloaded(request, f"已新增坐席 {a['name']}（分机 {a['extension']}）", 201)

    return await run_in_threadpool(run)


@router.post("/admin/agents/{name}/skills")
async def agent_skills(
    request: Request, name: str = NAME, info: SessionInfo = Depends(ADMIN), skills: str = Form(..., max_length=400)
):
    def run():
        registry = Registry(request.app.state.settings.database_url)
        if registry.get(name) is None:
            return _page(request, 404, error=f"没有坐席 {name}")
        try:
            a = registry.update(name, skills=_skills(request, skills))
        except ValueError as exc:
            return _page(request, 422, error=str(exc))
        # the dialplan's feature-code logins carry the skills: render them too
        return _reloaded(request, f"坐席 {a['name']} 的技能已改为 {a['skills']}（签出后再签入生效）")

    return await run_in_threadpool(run)


@router.post("/admin/agents/{name}/remove")
async def remove_agent(request: Request, name: str = NAME, info: SessionInfo = Depends(ADMIN)):
    def run():
        if not Registry(request.app.state.settings.database_url).remove(name):
            return _page(request, 404, error=f"没有坐席 {name}")
        return _reloaded(request, f"已删除坐席 {name}")

    return await run_in_threadpool(run)
