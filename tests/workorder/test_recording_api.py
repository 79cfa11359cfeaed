"""Recordings of an order through the API: who may listen, the audit, the purge."""

from __future__ import annotations

import os
import time

from sqlalchemy import select

from hotline.instance import InstancePaths, write_instance_paths
from workorder.models import AuditLog, CallRecording
from workorder.recordings import Recordings

LINKEDID = "1733650000.17"
WAV = b"RIFF" + b"\0" * 60


def _call(api, tmp_path):
    calls = tmp_path / "monitor"
    calls.mkdir()
    write_instance_paths(
        api.app.state.settings,
        InstancePaths(tmp_path, "/s", tmp_path / "rec", tmp_path / "queue_log", calls, "/srv/x/spool/monitor"),
    )
    body = {"uniqueid": LINKEDID, "linkedid": LINKEDID, "caller": "13800138000", "origin": "12345"}
    body |= {"mode": "direct", "agent": "rec1011", "queue": "hotline"}
    r = api.post("/api/v1/calls/answered", as_="calls", json=body)
    assert r.status_code == 201, r.text
    (calls / f"{LINKEDID}.wav").write_bytes(WAV)
    (calls / f"{LINKEDID}-1733650009.30.wav").write_bytes(WAV + b"2")
    (calls / "1733659999.1.wav").write_bytes(WAV)  # another call
    return r.json()["order"]["id"], calls


def test_who_may_listen_and_every_access_is_audited(sqlite_api, tmp_path):
    api = sqlite_api
    order_id, _ = _call(api, tmp_path)
    api.extra["own"] = api.store.issue_token("rec1011", "agent", None)
    api.extra["other"] = api.store.issue_token("rec1012", "agent", None)
    api.extra["quality"] = api.store.issue_token("qc1", "quality", None)
    listing = api.get(f"/api/v1/orders/{order_id}/recordings", as_="own")
    assert listing.status_code == 200, listing.text
    names = [r["name"] for r in listing.json()["recordings"]]
    assert names == [f"{LINKEDID}.wav", f"{LINKEDID}-1733650009.30.wav"]
    for who in ("own", "quality", "supervisor", "admin"):
        r = api.get(f"/api/v1/orders/{order_id}/recording", as_=who)
        assert r.status_code == 200 and r.content == WAV, (who, r.status_code)
        assert r.headers["content-type"] == "audio/wav"
    r = api.get(f"/api/v1/orders/{order_id}/recording?name={LINKEDID}-1733650009.30.wav&download=1", as_="admin")
    assert r.content == WAV + b"2" and r.headers["content-disposition"].startswith("attachment")
    for who in ("other", "department", "dispatcher"):
        assert api.get(f"/api/v1/orders/{order_id}/recording", as_=who).status_code == 403, who
    assert api.get(f"/api/v1/orders/{order_id}/recording?name=1733659999.1.wav", as_="admin").status_code == 404
    with api.store.db.read() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.path.like("%/recording%"))).all()
        seen = {(a.subject, a.status_code) for a in rows}
    assert ("rec1011", 200) in seen and ("qc1", 200) in seen and ("rec1012", 403) in seen
    # refused by role before the route ran: the path still names the order
    assert all(a.order_id == order_id for a in rows if a.status_code == 200)
    assert {a.role for a in rows if a.status_code == 403} == {"agent", "department", "dispatcher"}


def test_purge_deletes_old_files_and_marks_the_order_s_recording(sqlite_api, tmp_path):
    api = sqlite_api
    order_id, calls = _call(api, tmp_path)
    old = time.time() - 40 * 86400
    os.utime(calls / f"{LINKEDID}.wav", (old, old))
    rec = Recordings(api.store.db, calls)
    assert rec.sync() == 3
    assert rec.purge(30) == [f"{LINKEDID}.wav"]
    assert not (calls / f"{LINKEDID}.wav").exists() and (calls / "1733659999.1.wav").exists()
    with api.store.db.read() as s:
        row = s.scalars(select(CallRecording).where(CallRecording.name == f"{LINKEDID}.wav")).one()
        assert row.purged_at is not None and row.order_id == order_id
        unlinked = s.scalars(select(CallRecording).where(CallRecording.name == "1733659999.1.wav")).one()
        assert unlinked.order_id is None  # no order for that call (yet)
    r = api.get(f"/api/v1/orders/{order_id}/recording", as_="supervisor")
    assert r.status_code == 410
    listing = api.get(f"/api/v1/orders/{order_id}/recordings", as_="supervisor").json()["recordings"]
    assert [x["purged"] for x in listing] == [True, False]
