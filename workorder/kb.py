"""Knowledge base (知识库): entries with versions, an owning department, a lifecycle and an
expiry date, found by Chinese word search ranked by BM25.

* Lifecycle and rights: ``workorder/kb_rules.py`` (pure).  Every edit is a new version in
  draft; review (not by the author), then publish (a hotline KB editor).  The published
  version answers agents and the IVR until a newer one is published or the entry is
  archived or expires (``expires_on``, local date).
* Words and ranking: ``workorder/kb_text.py`` (jieba, the hotline dictionary, stop words,
  synonyms) and ``workorder/kb_index.py`` (the database picks candidates, BM25F ranks).
* Changes are audited inside their own transaction, as the order routes are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.settings import local_zone
from workorder import kb_index
from workorder.db import Database
from workorder.kb_rules import CURATOR_ROLES, Actor, KbRuleError, check_edit, is_expired, is_live, transition
from workorder.models import Department, KbArticle, KbVersion, utcnow
from workorder.service_admin import audit_in_tx

EDITABLE = ("title", "body", "tags", "department", "valid_from", "expires_on")
# the IVR's hot questions (热点问题): published, live entries whose published version carries this tag
HOT_TAG = "热点"
REASON_STATUS = {"role_not_allowed": 403, "not_owner": 403, "not_found": 404, "bad_field": 422}


class KbError(Exception):
    def __init__(self, reason: str, message: str, status: int | None = None):
        super().__init__(message)
        self.reason, self.message = reason, message
        self.status = status or REASON_STATUS.get(reason, 409)


def _iso(d: date | datetime | None) -> str | None:
    return d.isoformat() if d else None


class KnowledgeBase:
    def __init__(self, db: Database, now=utcnow):
        self.db = db
        self.now = now

    def today(self) -> date:
        return self.now().astimezone(local_zone()).date()

    # -- views ------------------------------------------------------------------------
    def _entry(self, a: KbArticle, today: date) -> dict[str, Any]:
        return {
            "id": a.id,
            "title": a.title,
            "body": a.body,
            "tags": a.tags or [],
            "department": a.department,
            "valid_from": _iso(a.valid_from),
            "expires_on": _iso(a.expires_on),
            "expired": is_expired(a.expires_on, today),
            "status": a.status,
            "version": a.version,
            "published_version": a.published_version,
            "live": is_live(a.published_version, a.status, a.expires_on, today),
            "updated_at": _iso(a.updated_at),
        }

    @staticmethod
    def _version(v: KbVersion, with_body: bool) -> dict[str, Any]:
        out = {
            "version": v.version,
            "status": v.status,
            "title": v.title,
            "tags": v.tags or [],
            "department": v.department,
            "expires_on": _iso(v.expires_on),
            "editor": v.editor,
            "at": _iso(v.at),
            "reviewed_by": v.reviewed_by,
            "reviewed_at": _iso(v.reviewed_at),
            "published_by": v.published_by,
            "published_at": _iso(v.published_at),
        }
        if with_body:
            out["body"] = v.body
        return out

    # -- changes ----------------------------------------------------------------------
    def _audit(self, s: Session, status_code: int) -> None:
        audit_in_tx(s, self.now(), None, status_code)

    @staticmethod
    def _check_department(s: Session, code: str | None) -> None:
        if code is None:
            raise KbError("missing_field", "department: every entry belongs to a department", 422)
        d = s.get(Department, code)
        if d is None or not d.active:
            raise KbError("bad_field", f"department {code!r} is not a department of the map", 422)

    def create(self, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
        now = self.now()
        with self.db.write() as s:
            try:
                check_edit(actor, data.get("department"))
            except KbRuleError as e:
                raise KbError(e.reason, e.message) from None
            self._check_department(s, data.get("department"))
            a = KbArticle(
                title=data["title"],
                body=data["body"],
                tags=list(data.get("tags") or []),
                department=data["department"],
                valid_from=data.get("valid_from"),
                expires_on=data.get("expires_on"),
                version=1,
                status="draft",
                updated_at=now,
                search_text=" ".join(data.get("tags") or []),
            )
            s.add(a)
            s.flush()
            s.add(self._new_version(a, actor, now))
            self._audit(s, 201)
            return self._entry(a, self.today())

    @staticmethod
    def _new_version(a: KbArticle, actor: Actor, now: datetime) -> KbVersion:
        return KbVersion(
            article_id=a.id,
            version=a.version,
            title=a.title,
            body=a.body,
            tags=list(a.tags or []),
            department=a.department,
            expires_on=a.expires_on,
            editor=actor.subject,
            at=now,
            status="draft",
        )

    def _load(self, s: Session, article_id: int, expected_version: int | None) -> KbArticle:
        a = s.get(KbArticle, article_id)
        if a is None:
            raise KbError("not_found", f"entry {article_id} not found")
        if expected_version is not None and expected_version != a.version:
            raise KbError("version_conflict", f"entry {article_id} is at version {a.version}, not {expected_version}")
        return a

    def update(
        self, article_id: int, data: dict[str, Any], actor: Actor, expected_version: int | None = None
    ) -> dict[str, Any]:
        """A new version, in draft: the published one answers until this one is published."""
        now = self.now()
        with self.db.write() as s:
            a = self._load(s, article_id, expected_version)
            try:
                check_edit(actor, a.department)
                if "department" in data:
                    check_edit(actor, data["department"])
            except KbRuleError as e:
                raise KbError(e.reason, e.message) from None
            if "department" in data:
                self._check_department(s, data["department"])
            for k in EDITABLE:
                if k in data:
                    setattr(a, k, list(data[k] or []) if k == "tags" else data[k])
            a.search_text = " ".join(a.tags or [])
            a.version += 1
            a.status = "draft"
            a.updated_at = now
            s.add(self._new_version(a, actor, now))
            self._audit(s, 200)
            return self._entry(a, self.today())

    def act(self, article_id: int, action: str, actor: Actor, expected_version: int | None = None) -> dict[str, Any]:
        """review, publish or archive the entry's newest version."""
        now = self.now()
        with self.db.write() as s:
            a = self._load(s, article_id, expected_version)
            v = s.scalars(select(KbVersion).where(KbVersion.article_id == a.id, KbVersion.version == a.version)).one()
            try:
                new = transition(a.status, action, actor, a.department, v.editor)
            except KbRuleError as e:
                raise KbError(e.reason, e.message) from None
            a.status = v.status = new
            a.updated_at = now
            if new == "reviewed":
                v.reviewed_by, v.reviewed_at = actor.subject, now
            elif new == "published":
                v.published_by, v.published_at = actor.subject, now
                a.published_version = a.version
                for k, val in kb_index.fields(a.title, a.body, list(a.tags or [])).items():
                    setattr(a, k, val)
            self._audit(s, 200)
            return self._entry(a, self.today())

    def reindex(self) -> int:
        """Segment every published version again (after a change of the dictionary or synonyms)."""
        with self.db.write() as s:
            n = 0
            for a in s.scalars(select(KbArticle).where(KbArticle.published_version.is_not(None))):
                v = s.scalars(
                    select(KbVersion).where(KbVersion.article_id == a.id, KbVersion.version == a.published_version)
                ).one()
                for k, val in kb_index.fields(v.title, v.body, list(v.tags or [])).items():
                    setattr(a, k, val)
                n += 1
            return n

    # -- reads ------------------------------------------------------------------------
    def get(self, article_id: int, actor: Actor) -> dict[str, Any] | None:
        """Editors and departments: the working copy and every version.  Others (agents, the
        IVR): the published version of a live entry, else nothing."""
        today = self.today()
        with self.db.read() as s:
            a = s.get(KbArticle, article_id)
            if a is None:
                return None
            stmt = select(KbVersion).where(KbVersion.article_id == a.id).order_by(KbVersion.version)
            versions = list(s.scalars(stmt))
            if actor.role in CURATOR_ROLES:
                out = self._entry(a, today)
                out["versions"] = [self._version(v, with_body=False) for v in versions]
                return out
            if not is_live(a.published_version, a.status, a.expires_on, today):
                return None
            pub = next(v for v in versions if v.version == a.published_version)
            return self._public(a, pub, today, with_body=True)

    def version(self, article_id: int, n: int) -> dict[str, Any] | None:
        with self.db.read() as s:
            v = s.scalars(select(KbVersion).where(KbVersion.article_id == article_id, KbVersion.version == n)).first()
            return None if v is None else {"id": article_id, **self._version(v, with_body=True)}

    def _public(self, a: KbArticle, v: KbVersion, today: date, with_body: bool) -> dict[str, Any]:
        out = {
            "id": a.id,
            "title": v.title,
            "tags": v.tags or [],
            "department": a.department,
            "version": v.version,
            "valid_from": _iso(a.valid_from),
            "expires_on": _iso(a.expires_on),
            "expired": is_expired(a.expires_on, today),
            "published_at": _iso(v.published_at),
        }
        if with_body:
            out["body"] = v.body
        else:
            out["snippet"] = v.body[:120]
        return out

    def entries(
        self, status: str | None = None, department: str | None = None, expired: bool | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The editors' list, newest change first; ``expired`` flags entries past their date."""
        today = self.today()
        stmt = select(KbArticle)
        if status:
            stmt = stmt.where(KbArticle.status == status)
        if department:
            stmt = stmt.where(KbArticle.department == department)
        if expired is True:
            stmt = stmt.where(KbArticle.expires_on.is_not(None), KbArticle.expires_on <= today)
        elif expired is False:
            stmt = stmt.where(kb_index.unexpired(today))
        stmt = stmt.order_by(KbArticle.updated_at.desc(), KbArticle.id.desc()).limit(limit)
        with self.db.read() as s:
            return [{k: v for k, v in self._entry(a, today).items() if k != "body"} for a in s.scalars(stmt)]

    def search(
        self,
        q: str = "",
        department: str | None = None,
        at: datetime | None = None,
        include_expired: bool = False,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """Published entries for question ``q``, best first (BM25).  Expired entries only with
        ``include_expired`` (the editors' view), flagged ``expired``."""
        today = (at or self.now()).astimezone(local_zone()).date()
        moment = at or self.now()
        where = [kb_index.published()]
        where.append((KbArticle.valid_from.is_(None)) | (KbArticle.valid_from <= moment))
        if not include_expired:
            where.append(kb_index.unexpired(today))
        if department:
            where.append(KbArticle.department == department)
        with self.db.read() as s:
            hits = kb_index.search(s, q, where, limit)
            if not hits:
                return []
            arts = {a.id: a for a in s.scalars(select(KbArticle).where(KbArticle.id.in_([h.id for h in hits])))}
            pubs = {
                v.article_id: v
                for v in s.scalars(select(KbVersion).where(KbVersion.article_id.in_(list(arts))))
                if v.version == arts[v.article_id].published_version
            }
            out = []
            for h in hits:
                item = self._public(arts[h.id], pubs[h.id], today, with_body=False)
                item["score"] = round(h.score, 4)
                out.append(item)
            return out

    def hot(self, limit: int = 5, at: datetime | None = None) -> list[dict[str, Any]]:
        """The hot questions the IVR reads (热点问题): live entries (published, in force, not
        expired) whose *published* version is tagged ``HOT_TAG``, newest publication first."""
        moment = at or self.now()
        today = moment.astimezone(local_zone()).date()
        stmt = (
            select(KbArticle, KbVersion)
            .join(
                KbVersion,
                (KbVersion.article_id == KbArticle.id) & (KbVersion.version == KbArticle.published_version),
            )
            .where(
                kb_index.published(),
                (KbArticle.valid_from.is_(None)) | (KbArticle.valid_from <= moment),
                kb_index.unexpired(today),
            )
            .order_by(KbVersion.published_at.desc(), KbArticle.id.desc())
        )
        out: list[dict[str, Any]] = []
        with self.db.read() as s:
            for a, v in s.execute(stmt):
                if HOT_TAG in (v.tags or []):
                    out.append(self._public(a, v, today, with_body=True))
                    if len(out) >= limit:
                        break
        return out
