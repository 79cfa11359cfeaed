"""What the Stasis app does for the engine's actions: play, listen, record, look up,
save, estimate, call back, continue (a mixin of :class:`ari_apps.app.IvrApp`)."""

from __future__ import annotations

import asyncio
import logging
import time

from ari_apps import engine as E
from ari_apps import flow as F
from ari_apps.ari import AriError
from ari_apps.call import _GONE, GONE, Call
from ari_apps.capacity import INTERNAL_ARG
from ari_apps.engine_text import hot_answer_text, hot_menu_text, say_name
from ari_apps.speech import RtpSink, recognize
from hotline.log import event

log = logging.getLogger("hotline.ari.app")

HOT_WARM_SECONDS = 60.0  # how often the hot questions' prompts are made ahead of the calls


class ActionsMixin:
    async def _play(self, call: Call, uris: list[str], token: int) -> None:
        if not uris:
            self.post(call, E.PromptDone(token))
            return
        pid = f"{call.id}-p{token}"
        call.playback, call.playback_token = pid, token
        try:
            await self.ari.post(f"/channels/{call.id}/play/{pid}", media=",".join(uris), lang="zh")
        except AriError as exc:
            if exc.status == 404:
                call.queue.put_nowait(GONE)
                return
            event(log, "play failed", level=logging.WARNING, error=str(exc)[:200])
            call.playback = ""
            self.post(call, E.PromptDone(token))

    async def prompt_uris(self, prompts: tuple[tuple[str, str], ...]) -> list[str]:
        """The files of a Play; texts not made yet (a knowledge-base answer on first use) are
        synthesised off the event loop, once: they are named by their content hash."""
        if all(n.startswith("sound:") or n in self.prompts.cache for n, _ in prompts):
            return [u for u in (self.prompts.uri(n, t) for n, t in prompts) if u]
        return await asyncio.to_thread(lambda: [u for u in (self.prompts.uri(n, t) for n, t in prompts) if u])

    async def _hot_list(self, call: Call, a: E.HotList) -> None:
        ok, items = False, []
        if self.store is not None:
            outcome, items = await self.store.kb_hot(a.limit)
            ok = outcome == "ok"
        self.post(call, E.HotListed(ok, tuple(items), a.token))

    async def _kb_read(self, call: Call, a: E.KbRead) -> None:
        outcome, data = ("error", {}) if self.store is None else await self.store.kb_entry(a.article_id)
        self.post(call, E.KbAnswer(outcome, data, a.token))

    def hot_texts(self, items: list[dict]) -> list[str]:
        """The run-time texts the ``hot`` nodes of the flows will say for ``items``."""
        texts: list[str] = []
        for flow in self.flows.values():
            for node in flow.nodes.values():
                if isinstance(node, F.Hot) and items:
                    shown = items[: node.limit]
                    texts.append(hot_menu_text([str(i.get("title", "")) for i in shown], node.agent is not None))
                    texts.extend(hot_answer_text(i) for i in shown)
        return list(dict.fromkeys(texts))

    async def warm_hot(self) -> int:
        """Make the prompts of the current hot questions now, not on a caller's time."""
        limits = [n.limit for f in self.flows.values() for n in f.nodes.values() if isinstance(n, F.Hot)]
        if not limits or self.store is None:
            return 0
        outcome, items = await self.store.kb_hot(max(limits))
        if outcome != "ok":
            return 0
        texts = [t for t in self.hot_texts(items) if say_name(t) not in self.prompts.cache]
        for text in texts:
            await asyncio.to_thread(self.prompts.say_uri, text)
        if texts:
            event(log, "hot prompts made", prompts=len(texts), entries=[i.get("id") for i in items])
        return len(texts)

    async def warm_hot_loop(self) -> None:
        while True:
            try:
                await self.warm_hot()
            except Exception as exc:
                event(log, "hot prompts failed", level=logging.WARNING, error=repr(exc)[:200])
            await asyncio.sleep(HOT_WARM_SECONDS)

    def _set_timer(self, call: Call, seconds: float, ev) -> None:
        if call.timer:
            call.timer.cancel()
        call.timer = asyncio.get_running_loop().call_later(seconds, self.post, call, ev)

    def _listen(self, call: Call, a: E.Listen) -> None:
        if self.speech is None:
            key = (call.flow_name, a.node)
            if key not in self._no_speech_logged:
                self._no_speech_logged.add(key)
                event(
                    log,
                    "no speech model: speech node falls back to DTMF",
                    level=logging.WARNING,
                    flow=call.flow_name,
                    node=a.node,
                )
            self._set_timer(call, a.seconds, E.Timeout(a.token))
            return
        if call.listen and not call.listen.done():
            call.listen.cancel()
        call.listen = self._spawn(self._recognize(call, a))

    async def _recognize(self, call: Call, a: E.Listen) -> None:
        loop = asyncio.get_running_loop()
        transport = None
        made: list[str] = []
        bridge = ""
        text = ""
        try:
            transport, sink = await loop.create_datagram_endpoint(RtpSink, local_addr=(self.bind, 0))
            port = transport.get_extra_info("sockname")[1]
            ext = await self.ari.post(
                "/channels/externalMedia",
                app=self.ari.app,
                external_host=f"{self.bind}:{port}",
                format="slin16",
                encapsulation="rtp",
                transport="udp",
                direction="both",
            )
            made.append(ext["id"])
            snoop = await self.ari.post(f"/channels/{call.id}/snoop", spy="in", app=self.ari.app, appArgs=INTERNAL_ARG)
            made.append(snoop["id"])
            br = await self.ari.post("/bridges", type="mixing")
            bridge = br["id"]
            await self.ari.post(f"/bridges/{bridge}/addChannel", channel=",".join(made))
            text = await recognize(self.speech, sink, a.grammar, a.seconds)
            event(log, "speech heard", flow=call.flow_name, node=a.node, text=text, packets=sink.packets)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            event(log, "speech failed", level=logging.WARNING, error=repr(exc)[:200])
        finally:
            if transport is not None:
                transport.close()
            for cid in made:
                self._spawn(self.ari.delete(f"/channels/{cid}"))
            if bridge:
                self._spawn(self.ari.delete(f"/bridges/{bridge}"))
        self.post(call, E.Speech(text, a.token))

    async def _lookup(self, call: Call, a: E.Lookup) -> None:
        if self.store is None:
            outcome, data = "error", {}
        else:
            outcome, data = await self.store.order_status(a.number, call.caller, a.last4)
        event(log, "progress query", caller=call.caller, outcome=outcome, last4=bool(a.last4))
        self.post(call, E.Looked(outcome, data, a.token))

    async def _record(self, call: Call, a: E.Record) -> None:
        name = f"hotline-msg-{call.linkedid}-{a.token}".replace(".", "_")
        call.recording, call.recording_token = name, a.token
        try:
            await self.ari.post(
                f"/channels/{call.id}/record",
                name=name,
                format="wav",
                maxDurationSeconds=a.seconds,
                maxSilenceSeconds=5,
                beep="true",
                terminateOn="#",
                ifExists="overwrite",
            )
        except AriError as exc:
            event(log, "record failed", level=logging.WARNING, error=str(exc)[:200])
            call.recording = ""
            self.post(call, E.Recorded("", "", a.token))

    async def _after_recording(self, call: Call, name: str, token: int) -> None:
        transcript = ""
        if name and self.speech is not None and self.recordings_host is not None:
            path = self.recordings_host / f"{name}.wav"
            if path.exists():
                try:
                    transcript = await asyncio.to_thread(self.speech.transcribe_file, path)
                except Exception as exc:
                    event(log, "transcription failed", level=logging.WARNING, error=str(exc)[:200])
        self.post(call, E.Recorded(name, transcript, token))

    async def _save_draft(self, call: Call, a: E.SaveDraft) -> None:
        ok, data = (
            (False, {})
            if self.store is None
            else await self.store.draft(
                call.linkedid, call.caller, call.origin or self.hotline_number, a.transcript, a.recording
            )
        )
        event(
            log,
            "draft",
            caller=call.caller,
            stored=ok,
            id=data.get("id"),
            number=data.get("number"),
            recording=a.recording,
            transcript_chars=len(a.transcript),
        )
        self.post(call, E.Saved(ok, data, a.token))

    async def _save_survey(self, call: Call, a: E.SaveSurvey) -> None:
        ok, data = (False, {}) if self.store is None else await self.store.survey(call.linkedid, call.caller, a.score)
        event(log, "survey", caller=call.caller, score=a.score, stored=ok, linkedid=call.linkedid)
        self.post(call, E.Saved(ok, data, a.token))

    async def _estimate(self, call: Call, a: E.OfferCallback) -> None:
        seconds = -1.0
        if self.callbacks is not None:
            try:
                seconds = await self.callbacks.estimate(a.queue, call.id)
            except Exception as exc:
                event(log, "wait estimate failed", level=logging.WARNING, error=str(exc)[:200])
        self.post(call, E.Wait(seconds, a.token))

    async def _place_callback(self, call: Call, a: E.PlaceCallback) -> None:
        ok, data = False, {}
        if self.callbacks is not None:
            try:
                ok, data = await self.callbacks.place(call.caller, a.queue, a.priority, call.linkedid, call.id)
            except Exception as exc:
                event(log, "callback failed", level=logging.ERROR, error=repr(exc)[:300])
        self.post(call, E.Saved(ok, data, a.token))

    async def _continue(self, call: Call, a: E.Continue) -> None:
        if a.context == E.QUEUE_CONTEXT:
            v = a.variables
            exten = f"q-{v['HOTLINE_QUEUE']}-{v['HOTLINE_PRIORITY']}-{v.get('HOTLINE_AFTER', '')}"
            if v.get("HOTLINE_QUEUE_PROMPT"):
                uri = self.prompts.cache.get(v["HOTLINE_QUEUE_PROMPT"])
                if uri:
                    await self.ari.post(
                        f"/channels/{call.id}/variable",
                        variable="HOTLINE_QUEUE_PROMPT",
                        value=uri.removeprefix("sound:"),
                    )
        else:
            exten = f"t-{a.variables.get('HOTLINE_TRANSFER_KIND', '')}-{a.exten}"
            p = a.variables.get("HOTLINE_TRANSFER_PROMPT")
            uri = self.prompts.cache.get(p) if p else None
            if uri:
                await self.ari.post(
                    f"/channels/{call.id}/variable",
                    variable="HOTLINE_TRANSFER_PROMPT",
                    value=uri.removeprefix("sound:"),
                )
        event(
            log,
            "call leaves flow",
            flow=call.flow_name,
            to=a.context,
            exten=exten,
            seconds=round(time.monotonic() - call.started, 2),
        )
        gone = await self.ari.request(
            "POST",
            f"/channels/{call.id}/continue",
            params={"context": a.context, "extension": exten, "priority": 1},
            ok_missing=True,
            missing=_GONE,
        )
        if gone is _GONE:
            event(log, "call gone before continue", level=logging.WARNING, flow=call.flow_name)
