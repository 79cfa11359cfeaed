"""Speech: Vosk in grammar mode over ARI external media, and free-form transcription.

The caller's voice reaches us through a snoop channel (``spy=in``, so the
caller stays free for prompts and DTMF) bridged with an external-media
channel that sends RTP (slin16, 16 kHz big-endian) to a UDP socket here.
Each ``Listen`` builds a :class:`RtpSink` and a recognizer restricted to the
node's keywords (``grammar``); the first final result, or the last partial
at the deadline, is the answer.

The model path is configuration: ``HOTLINE_VOSK_MODEL`` (a directory such as
``vosk-model-small-cn-0.22``).  Without it, speech nodes fall back to DTMF
and say so in the log once per node.
"""

from __future__ import annotations

import asyncio
import json
import logging
import wave
from pathlib import Path

from hotline.log import event

log = logging.getLogger("hotline.ari.speech")


def grammar_json(words) -> str:
    """The Vosk grammar: the node's keywords plus [unk] for everything else."""
    return json.dumps(list(words) + ["[unk]"], ensure_ascii=False)


MODEL_FILES = ("am/final.mdl", "conf/model.conf")  # what every Vosk model directory holds


def load_problem(path: str) -> str | None:
    """Why the model at ``path`` cannot be loaded, checked before Vosk tries (Vosk's own
    loader aborts the process on some broken directories), or None."""
    if not path:
        return "no speech model configured (HOTLINE_VOSK_MODEL)"
    p = Path(path)
    if not p.is_dir():
        return f"speech model not found: {path} is not a directory"
    missing = [f for f in MODEL_FILES if not (p / f).is_file() or (p / f).stat().st_size == 0]
    if missing:
        return f"speech model broken: {path} has no {', '.join(missing)} (not an unpacked Vosk model)"
    try:
        import vosk  # noqa: F401
    except ImportError:
        return "vosk is not installed (pip install vosk)"
    return None


class Speech:
    def __init__(self, model_path: str | Path, sample_rate: int = 16000):
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        self.model_path = str(model_path)
        self.model = Model(self.model_path)
        self.sample_rate = sample_rate

    @classmethod
    def from_settings(cls, settings) -> Speech | None:
        """The model of HOTLINE_VOSK_MODEL (hotline.settings), or None: speech nodes fall back
        to DTMF, with one log line saying why (not configured, not a directory, not a model,
        vosk missing, or the loader's own error)."""
        path = settings.vosk_model.strip()
        problem = load_problem(path)
        if problem:
            level = logging.WARNING if not path else logging.ERROR
            event(log, f"{problem}; speech nodes fall back to DTMF", level=level, model=path or None)
            return None
        try:
            return cls(path)
        except Exception as exc:  # a broken model: keep the calls going on DTMF
            event(
                log,
                "speech model failed to load; speech nodes fall back to DTMF",
                level=logging.ERROR,
                model=path,
                error=str(exc)[:200],
            )
            return None

    def recognizer(self, grammar: tuple[str, ...] | None, rate: int | None = None):
        from vosk import KaldiRecognizer

        rate = rate or self.sample_rate
        if grammar:
            return KaldiRecognizer(self.model, rate, grammar_json(grammar))
        return KaldiRecognizer(self.model, rate)

    def transcribe_file(self, path: Path) -> str:
        """Free-form text of a recorded WAV (used for the draft work order)."""
        with wave.open(str(path), "rb") as wf:
            rec = self.recognizer(None, wf.getframerate())
            parts = []
            while True:
                data = wf.readframes(8000)
                if not data:
                    break
                if rec.AcceptWaveform(data):
                    parts.append(json.loads(rec.Result()).get("text", ""))
            parts.append(json.loads(rec.FinalResult()).get("text", ""))
        return " ".join(p for p in parts if p).strip()


def rtp_payload(packet: bytes) -> bytes:
    """The payload of an RTP packet (header, CSRCs and extension stripped)."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        return b""
    cc = packet[0] & 0x0F
    off = 12 + 4 * cc
    if packet[0] & 0x10 and len(packet) >= off + 4:
        off += 4 + 4 * int.from_bytes(packet[off + 2 : off + 4], "big")
    payload = packet[off:]
    if packet[0] & 0x20 and payload:
        payload = payload[: -payload[-1]]
    return payload


def be_to_le16(data: bytes) -> bytes:
    """slin over RTP is big-endian; Vosk wants little-endian."""
    b = bytearray(data[: len(data) & ~1])
    b[0::2], b[1::2] = b[1::2], b[0::2]
    return bytes(b)


class RtpSink(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.packets = 0

    def datagram_received(self, data, addr):
        payload = rtp_payload(data)
        if payload:
            self.packets += 1
            self.queue.put_nowait(be_to_le16(payload))


async def recognize(speech: Speech, sink: RtpSink, grammar: tuple[str, ...], seconds: float) -> str:
    """Feed RTP audio to a grammar recognizer until a final result or ``seconds``."""
    rec = speech.recognizer(grammar)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    buf = b""
    while True:
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(sink.queue.get(), timeout=left)
        except TimeoutError:
            break
        buf += chunk
        if len(buf) < 3200:  # 100 ms at 16 kHz
            continue
        data, buf = buf, b""
        if await asyncio.to_thread(rec.AcceptWaveform, data):
            text = json.loads(rec.Result()).get("text", "").replace("[unk]", "").strip()
            if text:
                return text
    if buf:
        await asyncio.to_thread(rec.AcceptWaveform, buf)
    return json.loads(rec.FinalResult()).get("text", "").replace("[unk]", "").strip()
