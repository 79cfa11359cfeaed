"""The Stasis app: runs IVR flows, one asyncio task per call.

The websocket reader does almost nothing per event: it stamps the lag, finds
the call's queue by channel id and drops the event in.  Each call's task
turns ARI events into engine events, asks the pure interpreter
(:mod:`ari_apps.engine`) what to do, and does it over REST.

Load shedding, so that no call ever waits on a stalled or lagging app:

- a heartbeat writes the global ``HOTLINE_IVR_UNTIL`` (epoch + 5 s) every
  second while healthy; the dialplan enters Stasis only while
  ``${EPOCH} < HOTLINE_IVR_UNTIL``, else it takes the dialplan fallback.  A
  dead, stalled or disconnected app stops the heartbeat, so new calls bypass
  it within 5 s without any request to the app;
- when over capacity (calls in flight, event lag, event-loop lag) the
  heartbeat writes 0 at once, and a call that still arrives is ``continue``d
  straight to the fallback with one request.

The websocket reconnects by itself (:mod:`ari_apps.ari`); after a reconnect
the app asks ``GET /channels`` for calls still in Stasis: calls it still
tracks are nudged (playbacks that ended during the gap), calls it does not
know (the app restarted) go to the fallback, so nobody is left in silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ari_apps import engine as E
from ari_apps import flow as F
from ari_apps.actions import ActionsMixin
from ari_apps.ari import Ari, AriError, event_lag, parse_args
from ari_apps.call import GONE, Call
from ari_apps.capacity import FALLBACK_CONTEXT, HEALTH_SECONDS, INTERNAL_ARG, Capacity, Prompts, overloaded
from hotline.log import event

__all__ = ["GONE", "Call", "Capacity", "IvrApp", "Prompts", "overloaded"]

log = logging.getLogger("hotline.ari.app")


class IvrApp(ActionsMixin):
    def __init__(
        self,
        ari: Ari,
        flows: dict[str, F.Flow],
        store=None,
        speech=None,
        prompts: Prompts | None = None,
        capacity: Capacity | None = None,
        recordings_host: Path | None = None,
        bind: str = "127.0.0.1",
        clock: Callable[[], datetime] = datetime.now,
        callbacks=None,
        hotline_number: str = "",
    ):
        self.ari = ari
        # the hotline's number (the map's): the origin of a call that carries none, the default flow's name
        self.hotline_number = hotline_number
        self.flows = flows
        self.store = store
        self.speech = speech
        self.prompts = prompts or Prompts(None, None)
        self.capacity = capacity or Capacity()
        self.recordings_host = recordings_host
        self.bind = bind
        self.clock = clock
        self.callbacks = callbacks
        self.calls: dict[str, Call] = {}
        self.event_lag = 0.0
        self.loop_lag = 0.0
        self.shedding = False
        self.stats = {"calls": 0, "shed": 0, "resumed": 0, "events": 0, "errors": 0}
        self._no_speech_logged: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------ main loop
    async def run(self) -> None:
        hb = asyncio.create_task(self.heartbeat())
        hot = asyncio.create_task(self.warm_hot_loop())
        try:
            async for ev in self.ari.events(on_connect=self.resync):
                self.dispatch(ev)
        finally:
            hb.cancel()
            hot.cancel()

    def _spawn(self, coro) -> asyncio.Task:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._done)
        return t

    def _done(self, t: asyncio.Task) -> None:
        self._tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            self.stats["errors"] += 1
            event(log, "helper task failed", level=logging.ERROR, error=repr(t.exception())[:300])

    def dispatch(self, ev: dict) -> None:
        """Per-event work on the reader: tiny.  Route to the call's queue."""
        self.stats["events"] += 1
        lag = event_lag(ev)
        self.event_lag = 0.8 * self.event_lag + 0.2 * lag
        kind = ev.get("type")
        if kind == "StasisStart":
            self.on_stasis_start(ev)
            return
        cid = _channel_id(ev)
        call = self.calls.get(cid) if cid else None
        if call is None:
            return
        if kind in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"):
            call.queue.put_nowait(GONE)
        else:
            call.queue.put_nowait(ev)

    def on_stasis_start(self, ev: dict) -> None:
        ch = ev.get("channel", {})
        cid = ch.get("id", "")
        args = ev.get("args", [])
        if (args and args[0] == INTERNAL_ARG) or ch.get("name", "").startswith(("Snoop/", "UnicastRTP/")):
            return  # our own helper channels (speech)
        if cid in self.calls:
            return
        if overloaded(self.capacity, len(self.calls), self.event_lag, self.loop_lag, self.shedding):
            if not self.shedding:
                self.shedding = True
                self._spawn(self.set_health(False))
                event(
                    log,
                    "over capacity: new calls go to the dialplan fallback",
                    level=logging.WARNING,
                    calls=len(self.calls),
                    event_lag=round(self.event_lag, 3),
                    loop_lag=round(self.loop_lag, 3),
                )
            self.stats["shed"] += 1
            self._spawn(self.to_fallback(cid, "shed"))
            return
        flow_name, node, variables = parse_args(args, self.hotline_number)
        caller = ch.get("caller", {}).get("number", "")
        linkedid = variables.pop("linkedid", "") or ch.get("linkedid", "") or cid
        call = Call(cid, caller, linkedid, flow_name, asyncio.Queue(), origin=variables.get("HOTLINE_ORIGIN", ""))
        self.calls[cid] = call
        self.stats["calls"] += 1
        call.task = self._spawn(self.run_call(call, node, variables))

    async def to_fallback(self, cid: str, why: str) -> None:
        try:
            await self.ari.post(
                f"/channels/{cid}/continue", ok_missing=True, context=FALLBACK_CONTEXT, extension="s", priority=1
            )
        except (TimeoutError, AriError, OSError) as exc:
            event(log, "fallback continue failed", level=logging.WARNING, channel=cid, why=why, error=str(exc)[:200])

    async def set_health(self, ok: bool) -> None:
        value = str(int(time.time()) + HEALTH_SECONDS) if ok else "0"
        try:
            # on its own connection: never queued behind the calls' requests
            hb = getattr(self.ari, "heartbeat_post", None) or self.ari.post
            await hb("/asterisk/variable", variable="HOTLINE_IVR_UNTIL", value=value)
        except Exception as exc:
            event(log, "heartbeat failed", level=logging.WARNING, error=str(exc)[:200])

    async def heartbeat(self, period: float = 1.0) -> None:
        loop = asyncio.get_running_loop()
        last_report = loop.time()
        while True:
            t0 = loop.time()
            await asyncio.sleep(period)
            self.loop_lag = max(0.0, loop.time() - t0 - period)
            # quiet periods: event lag decays even without events
            if self.calls == {}:
                self.event_lag *= 0.5
            over = overloaded(self.capacity, len(self.calls), self.event_lag, self.loop_lag, self.shedding)
            if over != self.shedding:
                self.shedding = over
                if not over:
                    self.stats["resumed"] += 1
                event(
                    log,
                    "over capacity: shedding" if over else "capacity back: taking calls",
                    calls=len(self.calls),
                    event_lag=round(self.event_lag, 3),
                    loop_lag=round(self.loop_lag, 3),
                )
            if self.ari.connected.is_set():
                await self.set_health(not self.shedding)
            if loop.time() - last_report > 10:
                last_report = loop.time()
                event(
                    log,
                    "ivr stats",
                    in_flight=len(self.calls),
                    event_lag=round(self.event_lag, 3),
                    loop_lag=round(self.loop_lag, 3),
                    shedding=self.shedding,
                    **self.stats,
                )

    async def resync(self) -> None:
        """After (re)connecting: pick up channels still in Stasis."""
        try:
            channels = await self.ari.get("/channels")
        except Exception as exc:
            event(log, "resync: GET /channels failed", level=logging.WARNING, error=str(exc)[:200])
            return
        live = set()
        for ch in channels or []:
            dp = ch.get("dialplan", {})
            if dp.get("app_name") != "Stasis" or not str(dp.get("app_data", "")).startswith(self.ari.app):
                continue
            if ch.get("name", "").startswith(("Snoop/", "UnicastRTP/")):
                continue
            live.add(ch["id"])
            call = self.calls.get(ch["id"])
            if call is None:
                event(
                    log,
                    "resync: unknown call in Stasis goes to the fallback",
                    channel=ch["id"],
                    caller=ch.get("caller", {}).get("number", ""),
                )
                self._spawn(self.to_fallback(ch["id"], "resync"))
            elif call.playback:
                pb = await self.ari.request("GET", f"/playbacks/{call.playback}", ok_missing=True)
                if pb is None:  # it ended while we were away
                    call.queue.put_nowait(
                        {"type": "PlaybackFinished", "playback": {"id": call.playback}, "synthetic": True}
                    )
        for cid, call in list(self.calls.items()):
            if cid not in live:
                call.queue.put_nowait(GONE)
        event(log, "resync done", in_stasis=len(live), tracked=len(self.calls))

    # --------------------------------------------------------------- a call
    async def run_call(self, call: Call, node: str | None, variables: dict[str, str]) -> None:
        flow = self.flows.get(call.flow_name)
        try:
            if flow is None or (node and node not in flow.nodes):
                event(log, "unknown flow; fallback", level=logging.WARNING, flow=call.flow_name, node=node)
                await self.to_fallback(call.id, "unknown flow")
                return
            event(log, "call enters flow", flow=call.flow_name, caller=call.caller, channel=call.id)
            st, acts = E.start(call.flow_name, flow, variables, self.clock(), node)
            call.state = st
            await self.execute(call, acts)
            while not call.state.done:
                item = await call.queue.get()
                if item is GONE:
                    break
                ev = self.translate(call, item)
                if ev is None:
                    continue
                st, acts = E.step(flow, call.state, ev, self.clock())
                if log.isEnabledFor(logging.DEBUG):
                    event(
                        log,
                        "step",
                        level=logging.DEBUG,
                        node=call.state.node,
                        phase=call.state.phase,
                        ev=type(ev).__name__,
                        detail=str(ev)[:120],
                        acts=[type(a).__name__ for a in acts],
                    )
                call.state = st
                await self.execute(call, acts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.stats["errors"] += 1
            event(
                log,
                "call task failed; fallback",
                level=logging.ERROR,
                flow=call.flow_name,
                node=call.state.node if call.state else "",
                error=repr(exc)[:300],
            )
            await self.to_fallback(call.id, "error")
        finally:
            self._cleanup(call)

    def _cleanup(self, call: Call) -> None:
        if call.timer:
            call.timer.cancel()
        if call.listen and not call.listen.done():
            call.listen.cancel()
        self.calls.pop(call.id, None)

    def post(self, call: Call, ev) -> None:
        """Deliver an engine event from a helper task back into the call's queue."""
        call.queue.put_nowait(("engine", ev))

    def translate(self, call: Call, item: Any):
        if isinstance(item, tuple) and item and item[0] == "engine":
            return item[1]
        kind = item.get("type")
        if kind == "ChannelDtmfReceived":
            return E.Digit(item.get("digit", ""))
        if kind in ("PlaybackFinished",):
            pid = item.get("playback", {}).get("id", "")
            if pid and pid == call.playback:
                call.playback = ""
                return E.PromptDone(call.playback_token)
            return None
        if kind in ("RecordingFinished", "RecordingFailed"):
            rec = item.get("recording", {})
            if rec.get("name") == call.recording:
                call.recording = ""
                name = rec.get("name", "") if kind == "RecordingFinished" else ""
                self._spawn(self._after_recording(call, name, call.recording_token))
            return None
        return None

    # -------------------------------------------------------------- actions
    async def execute(self, call: Call, acts: list) -> None:
        for a in acts:
            if isinstance(a, E.Play):
                await self._play(call, await self.prompt_uris(a.prompts), a.token)
            elif isinstance(a, E.Say):
                uri = await asyncio.to_thread(self.prompts.say_uri, a.text)
                await self._play(call, [uri] if uri else [], a.token)
            elif isinstance(a, E.StopPlay):
                if call.playback:
                    pid, call.playback = call.playback, ""
                    self._spawn(self.ari.delete(f"/playbacks/{pid}"))
            elif isinstance(a, E.Timer):
                self._set_timer(call, a.seconds, E.Timeout(a.token))
            elif isinstance(a, E.Listen):
                self._listen(call, a)
            elif isinstance(a, E.Lookup):
                self._spawn(self._lookup(call, a))
            elif isinstance(a, E.Record):
                await self._record(call, a)
            elif isinstance(a, E.HotList):
                self._spawn(self._hot_list(call, a))
            elif isinstance(a, E.KbRead):
                self._spawn(self._kb_read(call, a))
            elif isinstance(a, E.SaveDraft):
                self._spawn(self._save_draft(call, a))
            elif isinstance(a, E.SaveSurvey):
                self._spawn(self._save_survey(call, a))
            elif isinstance(a, E.OfferCallback):
                self._spawn(self._estimate(call, a))
            elif isinstance(a, E.PlaceCallback):
                self._spawn(self._place_callback(call, a))
            elif isinstance(a, E.Continue):
                await self._continue(call, a)
            elif isinstance(a, E.Hangup):
                await self.ari.delete(f"/channels/{call.id}")
            elif isinstance(a, E.Log):
                event(log, a.message, **{"flow": call.flow_name, "channel": call.id, **dict(a.fields)})


def _channel_id(ev: dict) -> str:
    ch = ev.get("channel")
    if isinstance(ch, dict):
        return ch.get("id", "")
    for key in ("playback", "recording"):
        obj = ev.get(key)
        if isinstance(obj, dict):
            uri = obj.get("target_uri", "")
            if uri.startswith("channel:"):
                return uri[8:]
    return ""
