"""``hotline handoff``: every answered call becomes a draft work order.

An AMI consumer: on each ``AgentConnect`` it posts the call to the work-order
API (``POST /api/v1/calls/answered``, idempotent by linkedid), then stamps the
order's number on both legs of the call as ``HOTLINE_ORDER`` (AMI ``Setvar``),
so every later event, the CDR and the survey carry it.

It also answers an agent's emergency linkage (the ``HotlineLinkage`` UserEvent of
the *0110 feature, queues/linkage.py) with the AMI Redirect that moves the
caller and the agent into the three-way conference: the dialplan cannot.

It stays off the call's path: Asterisk does not wait for it.  The AMI reader
only puts events on a bounded queue; a few workers do the HTTP round trips.
When the queue is full the oldest hand-offs are still in it and the newest is
logged and dropped, never blocking the AMI reader (agents can still create
the order from the desktop: the API finds it by linkedid).
"""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx

from hotline import ami
from hotline.log import event as log_event
from hotline.secrets import load_secrets
from queues.agents import login
from queues.linkage import linkage_redirect
from workorder.client import OrdersClient
from workorder.handoff import NotAnAgentConnect, answered_body

log = logging.getLogger("workorder.handoff")

WORKERS = 4
QUEUE_SIZE = 1000
RETRIES = 6  # 0.25 s doubling: about 8 s for an API restart


class Handoff:
    def __init__(self, client: OrdersClient, manager=None):
        self.client, self.manager = client, manager
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.done = 0
        self.dropped = 0

    def on_event(self, manager, message) -> None:
        """AMI callback: constant time, never awaits."""
        ev = dict(message.items())
        try:
            self.queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.dropped += 1
            log_event(
                log,
                "hand-off queue full; order left to the agent desktop",
                logging.WARNING,
                linkedid=ev.get("Linkedid", ""),
            )

    async def handle(self, ev: dict) -> dict | None:
        try:
            body = answered_body(ev)
        except NotAnAgentConnect:
            return None
        for attempt in range(1, RETRIES + 1):
            try:
                out = await self.client.call_answered(body)
                break
            except (httpx.HTTPError, ValueError) as exc:
                detail = getattr(getattr(exc, "response", None), "text", "")[:500]
                client_error = isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500
                if attempt == RETRIES or client_error:  # a 4xx will not heal by retrying
                    log_event(
                        log,
                        "hand-off failed",
                        logging.ERROR,
                        linkedid=body["linkedid"],
                        caller=body["caller"],
                        error=str(exc).splitlines()[0],
                        detail=detail,
                    )
                    return None
                await asyncio.sleep(0.25 * 2 ** (attempt - 1))
        number = (out.get("order") or {}).get("number", "")
        if number and self.manager is not None:
            for channel in (ev.get("Channel"), ev.get("DestChannel")):
                if channel:
                    self.manager.send_action(
                        {"Action": "Setvar", "Channel": channel, "Variable": "HOTLINE_ORDER", "Value": number}
                    )
        self.done += 1
        log_event(
            log,
            "call handed to a work order",
            order=number,
            linkedid=body["linkedid"],
            caller=body["caller"],
            origin=body["origin"],
            agent=body["agent"],
            queue=body["queue"],
        )
        return out

    def on_user_event(self, manager, message) -> None:
        """AMI callback: an agent's emergency linkage (``HotlineLinkage``, raised by the
        feature's dialplan) is answered at once with the Redirect of both channels."""
        action = linkage_redirect(dict(message.items()))
        if action is None:
            return
        manager.send_action(action)
        log_event(
            log,
            "emergency linkage: caller and agent moved to the conference",
            number=message.get("Number", ""),
            conference=message.get("Conference", ""),
            agent=message.get("Agent", ""),
            caller=message.get("Caller", ""),  # masked by the dialplan
        )

    async def worker(self) -> None:
        while True:
            ev = await self.queue.get()
            try:
                await self.handle(ev)
            except Exception:
                log.exception("hand-off worker")
            finally:
                self.queue.task_done()


async def serve(settings, stop: asyncio.Event) -> None:
    secrets = load_secrets(settings.secrets_file)
    client = OrdersClient.from_settings(settings, role="calls", timeout=5)
    try:
        mgr = ami.manager(settings, secrets, events="on")
        h = Handoff(client, mgr)
        mgr.register_event("AgentConnect", h.on_event)
        mgr.register_event("UserEvent", h.on_user_event)
        await login(mgr)
        workers = [asyncio.create_task(h.worker()) for _ in range(WORKERS)]
        log_event(log, "hand-off consumer running", api=str(client.http.base_url))
        try:
            await stop.wait()
        finally:
            for w in workers:
                w.cancel()
            mgr.close()
    finally:
        await client.close()


def add_arguments(p) -> None:
    pass


def run(args, settings) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
    return 0
