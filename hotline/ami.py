"""AMI client: panoramisk with a UTF-8-safe reader.

panoramisk 1.4 decodes every TCP chunk on its own with errors ignored, so a
multi-byte character split across two reads is lost (``CallerIDName: 张三``
arrives as ``三``).  :class:`Utf8AMIProtocol` keeps an incremental decoder per
connection: the bytes of an unfinished character wait for the next chunk.

Use :func:`manager` to get a connected-on-demand ``panoramisk.Manager`` with
the generated credentials.
"""

from __future__ import annotations

import codecs

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol


class Utf8AMIProtocol(AMIProtocol):
    def connection_made(self, transport):
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def data_received(self, data: bytes):
        # Complete characters only; an unfinished tail waits in the decoder.
        text = self._decoder.decode(data)
        if text:
            self.encoding = "utf-8"
            super().data_received(text.encode("utf-8"))


def manager(settings, secrets: dict, **kwargs) -> Manager:
    """A panoramisk Manager for this instance's AMI (not yet connected)."""
    config = dict(
        host=settings.bind,
        port=settings.ami_port,
        username=secrets["ami_user"],
        secret=secrets["ami_secret"],
        encoding="utf-8",
        protocol_factory=Utf8AMIProtocol,
        ping_delay=10,
        reconnect_timeout=1,
    )
    config.update(kwargs)
    return Manager(**config)


def event_dict(message) -> dict:
    """A panoramisk Message as a plain dict (what pure code consumes)."""
    return dict(message.items())
