"""The knowledge base's lifecycle and who may do what: pure decisions over plain data.

    draft --review--> reviewed --publish--> published
      ^                                        |
      +---------- every edit (a new version) --+     any --archive--> archived

* An entry belongs to a department (a code of the transfer map, 共建共享): a department
  user edits only its own entries; the hotline's KB editors (supervisor, admin) edit any.
* 多方校核: the reviewer is not the author of the version under review; only the hotline's
  KB editors publish.
* Every edit makes a new version in draft.  The published version goes on answering
  (agents, the IVR) until a newer one is published; an archived entry answers nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

STATUSES = ("draft", "reviewed", "published", "archived")
ACTIONS = ("review", "publish", "archive")
EDITOR_ROLES = frozenset({"supervisor", "admin"})
WRITER_ROLES = EDITOR_ROLES | {"department"}
# the roles whose search may include entries that are not live (expired), flagged
CURATOR_ROLES = WRITER_ROLES


class KbRuleError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Actor:
    subject: str
    role: str
    department: str | None = None


def may_edit(actor: Actor, owner: str | None) -> bool:
    if actor.role in EDITOR_ROLES:
        return True
    return actor.role == "department" and actor.department is not None and actor.department == owner


def check_edit(actor: Actor, owner: str | None) -> None:
    if actor.role not in WRITER_ROLES:
        raise KbRuleError("role_not_allowed", f"role {actor.role!r} may not edit the knowledge base")
    if not may_edit(actor, owner):
        raise KbRuleError("not_owner", "a department edits only its own entries")


def transition(status: str, action: str, actor: Actor, owner: str | None, author: str | None) -> str:
    """The status after ``action`` on an entry in ``status`` owned by ``owner`` whose current
    version was written by ``author``; raises :class:`KbRuleError`."""
    if action not in ACTIONS:
        raise KbRuleError("bad_field", f"action: one of {', '.join(ACTIONS)}")
    check_edit(actor, owner)
    if action == "review":
        if status != "draft":
            raise KbRuleError("invalid_state", f"only a draft is reviewed (this entry is {status})")
        if author is not None and actor.subject == author:
            raise KbRuleError("same_person", "the author may not review their own version (多方校核)")
        return "reviewed"
    if action == "publish":
        if status != "reviewed":
            raise KbRuleError("invalid_state", f"only a reviewed entry is published (this entry is {status})")
        if actor.role not in EDITOR_ROLES:
            raise KbRuleError("role_not_allowed", "only the hotline's KB editors publish")
        return "published"
    if status == "archived":
        raise KbRuleError("invalid_state", "the entry is already archived")
    return "archived"


def is_expired(expires_on: date | None, today: date) -> bool:
    """An entry expires at the start of its ``expires_on`` day (local time)."""
    return expires_on is not None and today >= expires_on


def is_live(published_version: int | None, status: str, expires_on: date | None, today: date) -> bool:
    """Found by agents' and the IVR's search: a published version, not archived, not expired."""
    return published_version is not None and status != "archived" and not is_expired(expires_on, today)
