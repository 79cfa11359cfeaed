"""Warnings of a valid map: what time made stale, and what is too long.

Never a reason to refuse the map (time never breaks the platform): a
transition announcement or temporary seats whose last day is past, and an
announcement too long for the 15 s answer target.
"""

from __future__ import annotations

from datetime import date

from hotline.map_schema import TransferMap
from hotline.policy import MODE_NAMES, normalize_mode
from hotline.yamlsrc import Problem, Source

TRANSITION_MAX_SECONDS = 6.0
SECONDS_PER_CHARACTER = 0.3
SPOKEN_OVERHEAD = 0.4


def spoken_seconds(text: str) -> float:
    """About how long the generated voice speaks ``text``."""
    return SPOKEN_OVERHEAD + SECONDS_PER_CHARACTER * sum(1 for c in text if not c.isspace())


def map_warnings(tm: TransferMap, src: Source, today: date, index: list[int]) -> list[Problem]:
    """What is stale but not wrong: transition announcements and temporary seats whose last day is past,
    and announcements too long for the 15 s answer target."""
    out = []
    for k, ln in enumerate(tm.lines):
        if ln.seats_until is not None and ln.seats_until < today:
            out.append(
                src.problem(
                    ("lines", index[k], "seats_until"),
                    f"warning: the temporarily retained seats of {ln.number} ended on "
                    f"{ln.seats_until.isoformat()} (today is {today.isoformat()}): its calls go to the "
                    f"12345 agents of queue {tm.skill_of(ln)}; write seats: cancelled (or move the date)",
                )
            )
        if ln.transition is not None and spoken_seconds(ln.transition.text) > TRANSITION_MAX_SECONDS:
            out.append(
                src.problem(
                    ("lines", index[k], "transition", "text"),
                    f"warning: the transition announcement of {ln.number} takes about "
                    f"{spoken_seconds(ln.transition.text):.0f} s with the generated voice (more than "
                    f"{TRANSITION_MAX_SECONDS:.0f} s): the caller hears it before joining the queue and the 15 s "
                    f"answer target counts from arrival; shorten the text (e.g. 民政热线已并入12345，请稍候。)",
                )
            )
        if ln.transition is not None and ln.transition.until < today:
            out.append(
                src.problem(
                    ("lines", index[k], "transition", "until"),
                    f"warning: the transition announcement of {ln.number} ended on "
                    f"{ln.transition.until.isoformat()} (today is {today.isoformat()}): it is no "
                    f"longer played and the line routes as {MODE_NAMES[normalize_mode(ln.mode)[0]]} "
                    f"without it; remove the transition (or move the date)",
                )
            )
    return out
