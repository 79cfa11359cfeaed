"""What the live statistics show: queue figures and agent states (a mixin of
:class:`queues.stats.Aggregator`; the counters and the event handling stay there)."""

from __future__ import annotations

from queues.stats_consts import _COUNTERS, _RINGING, _TALKING, _UNAVAILABLE, ALL, STATES, sum_buckets


class ViewsMixin:
    def member_state(self, queue: str, m: dict, iface: str, now: float) -> str:
        if m["paused"]:
            return "paused"
        st = m["status"]
        if st in _RINGING:
            return "ringing"
        if m["incall"] or st in _TALKING:
            return "talking"
        if st in _UNAVAILABLE:
            return "unavailable"
        wrap = m.get("wrapup") or self.wrapup.get(queue, 0.0)
        if wrap and now < self.last_end.get(iface, 0.0) + wrap:
            return "wrapup"
        return "available"

    def _sum(self, queue: str, hours) -> dict[str, float]:
        return sum_buckets(self.buckets.get(queue, {}), hours, _COUNTERS)

    def _figures(self, queue: str, tot: dict[str, float], waiting: int) -> dict:
        offered, answered = int(tot["offered"]), int(tot["answered"])
        wrap = self.wrapup.get(queue, 0.0) if queue != ALL else 0.0
        return {
            "offered": offered,
            "answered": answered,
            "abandoned": int(tot["abandoned"]),
            "other": max(0, offered - answered - int(tot["abandoned"]) - waiting),
            "answered_within_sl": int(tot["answered_sl"]),
            "answer_rate": answered / offered if offered else None,
            "service_level": tot["answered_sl"] / offered if offered else None,
            "asa": tot["wait_answered"] / answered if answered else None,
            "aht": (tot["talk"] / tot["completed"] + wrap) if tot["completed"] else None,
            "completed": int(tot["completed"]),
        }

    def day_hours(self, now: float) -> range:
        day_start = ((now + self.day_offset) // 86400) * 86400 - self.day_offset
        return range(int(day_start // 3600), int(now // 3600) + 1)

    def queue_view(self, queue: str, now: float) -> dict:
        if queue == ALL:
            waits = [t for w in self.waiting.values() for t in w.values()]
            # a caller waits in one queue at a time; count distinct callers
            waiting_ids = {u for w in self.waiting.values() for u in w}
            n_wait = len(waiting_ids)
            members = {}
            for q, ms in self.members.items():
                for iface, m in ms.items():
                    members.setdefault(iface, (q, m))
            agents = dict.fromkeys(STATES, 0)
            for iface, (q, m) in members.items():
                agents[self.member_state(q, m, iface, now)] += 1
        else:
            waits = list(self.waiting.get(queue, {}).values())
            n_wait = len(waits)
            agents = dict.fromkeys(STATES, 0)
            for iface, m in self.members.get(queue, {}).items():
                agents[self.member_state(queue, m, iface, now)] += 1
        hour = int(now // 3600)
        today = self._figures(queue, self._sum(queue, self.day_hours(now)), n_wait)
        last24 = self._figures(queue, self._sum(queue, range(hour - 23, hour + 1)), n_wait)
        return {
            "queue": queue,
            "waiting": n_wait,
            "longest_wait": max(0.0, now - min(waits)) if waits else 0.0,
            "agents": agents,
            "today": today,
            "last_24h": last24,
            "sl_seconds": self.sl,
        }

    def queue_names(self) -> list[str]:
        names = set(self.buckets) | set(self.waiting) | set(self.members)
        names.discard(ALL)
        return sorted(names)

    def view(self, now: float) -> dict:
        return {
            "at": now,
            "queues": [self.queue_view(q, now) for q in self.queue_names()],
            "total": self.queue_view(ALL, now),
            "calls": self.figures.view(now, self.day_hours(now)),  # type: ignore[attr-defined]
        }

    def agents_view(self, now: float) -> list[dict]:
        """One line per member interface: its queues and its state."""
        out: dict[str, dict] = {}
        for q, ms in sorted(self.members.items()):
            for iface, m in ms.items():
                a = out.setdefault(
                    iface,
                    {
                        "interface": iface,
                        "name": m["name"],
                        "queues": {},
                        "state": None,
                        "paused": m["paused"],
                        "reason": m["reason"],
                        "since": m["since"],
                    },
                )
                st = self.member_state(q, m, iface, now)
                a["queues"][q] = {"penalty": m["penalty"], "state": st}
                # the most engaged state wins: talking > ringing > wrapup > paused > available > unavailable
                order = ("talking", "ringing", "wrapup", "paused", "available", "unavailable")
                if a["state"] is None or order.index(st) < order.index(a["state"]):
                    a["state"] = st
        return sorted(out.values(), key=lambda a: a["name"])
