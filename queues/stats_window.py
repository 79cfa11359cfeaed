"""The alert window's counts (the last N minutes of settled calls), kept incrementally.  Pure.

Settled calls are counted into slots of :data:`STEP` seconds of their arrival,
per scope key (``*``, ``line:<n>``, ``mode:<m>``); the window's totals are kept
running: a call adds to them as it is counted, a slot that slides out of the
window is taken off once.  So reading the window costs the slots that left it
since the last read (none between two reads a few seconds apart), not the
calls in it: at 30 calls/s an hour's window is 108,000 calls, 360 slots.

The window is the slots that start at or after ``now - window``: it is up to
one STEP shorter than ``window`` (a call in the slot straddling the edge has
left it).
"""

from __future__ import annotations

STEP = 10  # seconds a slot spans

# per scope key: [offered, answered, answered within the service level]
Counts = list[float]


class SlidingCounts:
    def __init__(self, window: float, step: int = STEP):
        self.window, self.step = window, step
        self.slots: dict[int, dict[str, Counts]] = {}  # slot index -> key -> counts
        self.totals: dict[str, Counts] = {}  # the sums of the slots >= self.start
        self.start = 0  # the first slot in the window (as of the last read)
        self.version = 0  # changes with every call counted and every slot that left the window

    def _first(self, now: float) -> int:
        return -int((self.window - now) // self.step)  # ceil((now - window) / step)

    def add(self, arrived: float, keys: tuple[str, ...], answered: bool, within: bool) -> None:
        slot = int(arrived // self.step)
        per_key = self.slots.setdefault(slot, {})
        inc = (1.0, 1.0 if answered else 0.0, 1.0 if within else 0.0)
        in_window = slot >= self.start
        for key in keys:
            c = per_key.get(key)
            if c is None:
                c = per_key[key] = [0.0, 0.0, 0.0]
            c[0] += inc[0]
            c[1] += inc[1]
            c[2] += inc[2]
            if in_window:
                t = self.totals.setdefault(key, [0.0, 0.0, 0.0])
                t[0] += inc[0]
                t[1] += inc[1]
                t[2] += inc[2]
        self.version += 1

    def at(self, now: float) -> dict[str, Counts]:
        """The window's totals at ``now`` (keys with no call in it left out)."""
        first = self._first(now)
        if first > self.start:
            for slot in [s for s in self.slots if self.start <= s < first]:
                for key, c in self.slots[slot].items():
                    t = self.totals[key]
                    t[0] -= c[0]
                    t[1] -= c[1]
                    t[2] -= c[2]
                    if t[0] <= 0:
                        del self.totals[key]
            self.start = first
            self.version += 1
        elif first < self.start:  # a read of an earlier time (a clock set back, a test): sum afresh
            self.start = first
            self._resum()
        return self.totals

    def _resum(self) -> None:
        self.totals = {}
        for slot, per_key in self.slots.items():
            if slot >= self.start:
                for key, c in per_key.items():
                    t = self.totals.setdefault(key, [0.0, 0.0, 0.0])
                    t[0] += c[0]
                    t[1] += c[1]
                    t[2] += c[2]
        self.version += 1

    def empty(self) -> bool:
        return not self.totals

    def next_change(self, now: float) -> float | None:
        """When the oldest slot in the window leaves it (None: the window is empty)."""
        self.at(now)
        live = [s for s in self.slots if s >= self.start]
        return min(live) * self.step + self.window + self.step if live else None

    def prune(self, now: float) -> None:
        """Forget the slots that have left the window (read first, so the totals stay right)."""
        self.at(now)
        for slot in [s for s in self.slots if s < self.start]:
            del self.slots[slot]

    def dump(self) -> dict:
        return {"step": self.step, "slots": {str(s): per for s, per in self.slots.items()}}

    def load(self, data: dict | None, recent: list | None = None, keys=None) -> None:
        """From :meth:`dump`; or from the list of settled calls of an older state (``recent``:
        ``[arrived, line, mode, answered, within]``, ``keys(line, mode)`` their scopes)."""
        self.slots, self.totals = {}, {}
        if data and int(data.get("step", 0)) == self.step:
            self.slots = {int(s): {k: list(c) for k, c in per.items()} for s, per in data.get("slots", {}).items()}
        elif recent and keys is not None:
            for arrived, line, mode, answered, within in recent:
                self.add(float(arrived), keys(line, mode), bool(answered), bool(within))
        self._resum()
