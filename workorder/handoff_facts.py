"""The facts of each answer, for the hand-off: the ``HotlineAnswered`` UserEvent of the agent's
channel ([agent-connected]) paired with the AgentConnect of that channel.

Asterisk sends the UserEvent just before the AgentConnect (the queue's member gosub runs before
it bridges), so the facts are usually here when the AgentConnect is handled; when they are not,
the AgentConnect waits for them at most ``wait`` seconds and goes without (logged by the caller).
"""

from __future__ import annotations

import asyncio

FACTS_MAX = 10000  # facts kept of answers whose AgentConnect has not come (yet)


class AnswerFacts:
    def __init__(self, wait: float, keep: int = FACTS_MAX):
        self.wait, self.keep = wait, keep
        self.kept: dict[str, dict[str, str]] = {}  # agent channel -> its HotlineAnswered facts
        self.waiting: dict[str, asyncio.Future] = {}  # agent channel -> an AgentConnect waiting
        self.missing = 0  # AgentConnects that went without

    def put(self, channel: str, facts: dict[str, str]) -> None:
        """A ``HotlineAnswered`` UserEvent: to the AgentConnect of that agent channel."""
        waiting = self.waiting.pop(channel, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(facts)
            return
        self.kept[channel] = facts
        while len(self.kept) > self.keep:
            del self.kept[next(iter(self.kept))]

    async def take(self, channel: str) -> dict[str, str] | None:
        """The facts of the answer on ``channel`` (the AgentConnect's DestChannel), None if they
        did not come within ``wait`` s."""
        got = self.kept.pop(channel, None)
        if got is not None or not channel:
            return got or {}
        waiting = asyncio.get_running_loop().create_future()
        self.waiting[channel] = waiting
        try:
            return await asyncio.wait_for(waiting, self.wait)
        except TimeoutError:
            self.missing += 1
            return None
        finally:
            self.waiting.pop(channel, None)
