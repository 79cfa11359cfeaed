"""Helpers of the citizens' web channel's tests: a real PNG, the form, an order moved on to
待评价 through the work-order API (as the hotline and the department would)."""

from __future__ import annotations

import re
import struct
import zlib

from fastapi.testclient import TestClient

from hotline.secrets import load_secrets

PHONE = "13800138000"
FORM = {
    "type": "complaint",
    "category": "400201",
    "address": "邯郸市丛台区中华北大街 1 号",
    "content": "小区门口垃圾三天没有清运，气味很大",
    "name": "张三",
    "phone": PHONE,
}


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image (red pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def csrf_of_form(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def post_appeal(c: TestClient, photo: tuple[str, bytes, str] | None = None, **fields):
    token = csrf_of_form(c.get("/citizen").text)
    files = {"photo": photo} if photo else {"photo": ("", b"", "application/octet-stream")}
    return c.post("/citizen/appeals", data={**FORM, "csrf": token, **fields}, files=files)


def number_of(html: str) -> str:
    return re.search(r'id="order-number">(\d+)<', html).group(1)


def to_evaluation(app, order_id: int, unit: str = "mzj") -> None:
    """受理, 派单, 签收, 答复, 审核, 回访 (reached) through the API with the platform's tokens."""
    tokens = load_secrets(app.state.settings.secrets_file)["api_tokens"]
    api = TestClient(app)

    def call(path: str, as_: str | None, token: str | None, body: dict):
        r = api.post(path, json=body, headers={"Authorization": "Bearer " + (token or tokens[as_])})
        assert r.status_code in (200, 201), (path, body, r.text)
        return r.json()

    dept = call("/api/v1/tokens", "admin", None, {"subject": f"unit-{unit}", "role": "department", "department": unit})[
        "token"
    ]
    steps = [
        ("accept", "agent", None, {}),
        ("dispatch", "dispatcher", None, {"main_unit": unit, "co_units": []}),
        ("sign", None, dept, {}),
        ("reply", None, dept, {"content": "已安排环卫公司清运，并加密清运频次"}),
        ("review_reply", "dispatcher", None, {"decision": "accept"}),
        ("callback", "agent", None, {"reached": True, "resolved": True}),
    ]
    for action, role, token, payload in steps:
        out = call(f"/api/v1/orders/{order_id}/transitions", role, token, {"action": action, "payload": payload})
    assert out["status"] == "evaluation"
