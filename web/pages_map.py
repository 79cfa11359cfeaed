"""Admin: the transfer map with its check result, a checked edit, and a reload button."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool

from web.accounts import SessionInfo
from web.maps import MapFile
from web.render import page
from web.session import page_user

router = APIRouter(include_in_schema=False)
ADMIN = page_user("admin")
MAX_MAP = 2_000_000


def _map(request: Request) -> MapFile:
    return request.app.state.transfer_map


def _view(
    request: Request,
    status_code: int = 200,
    *,
    text: str | None = None,
    problems=None,
    notice: str = "",
    reload_output: str = "",
    reload_ok: bool | None = None,
    edited: bool = False,
):
    m = _map(request)
    current = m.problems()
    return page(
        request,
        "admin_map.html",
        status_code=status_code,
        file=str(m.path),
        text=m.text() if text is None else text,
        file_problems=current,
        problems=problems,
        notice=notice,
        reload_output=reload_output,
        reload_ok=reload_ok,
        backups=[b.name for b in m.backups()[:5]],
        edited=edited,
    )


@router.get("/admin/map")
async def map_page(request: Request, info: SessionInfo = Depends(ADMIN)):
    return await run_in_threadpool(_view, request)


@router.post("/admin/map")
async def map_save(
    request: Request,
    info: SessionInfo = Depends(ADMIN),
    text: str = Form(..., max_length=MAX_MAP),
    action: str = Form("check"),
):
    text = text.replace("\r\n", "\n")
    m = _map(request)
    if action != "save":
        problems = await run_in_threadpool(m.check_text, text)
        return await run_in_threadpool(
            _view,
            request,
            422 if problems else 200,
            text=text,
            problems=problems,
            notice="" if problems else "检查通过（尚未保存）",
            edited=True,
        )
    saved = await run_in_threadpool(m.save, text)
    if saved.problems:
        return await run_in_threadpool(
            _view, request, 422, text=text, problems=saved.problems, notice="检查未通过：文件没有改动", edited=True
        )
    ok, output = await run_in_threadpool(request.app.state.map_reloader)
    notice = f"已保存（原文件备份为 {saved.backup.name if saved.backup else '-'}）"
    return await run_in_threadpool(
        _view, request, 200 if ok else 502, notice=notice, reload_output=output, reload_ok=ok, problems=[]
    )


@router.post("/admin/map/reload")
async def map_reload(request: Request, info: SessionInfo = Depends(ADMIN)):
    ok, output = await run_in_threadpool(request.app.state.map_reloader)
    return await run_in_threadpool(_view, request, 200 if ok else 502, reload_output=output, reload_ok=ok)
