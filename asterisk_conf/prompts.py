"""Mandarin prompt audio for Asterisk, generated from text.

``espeak-ng -v cmn-latn-pinyin`` speaks the text (Chinese characters are read
through espeak's Mandarin dictionary; plain ``-v cmn`` would read Latin
letters and tone digits as English), then ``sox`` makes 8 kHz mono 16-bit
WAV, which Asterisk plays without transcoding surprises.

- Hotline numbers are spelled digit by digit the way Chinese operators say
  them (12345 -> 幺二三四五), not as quantities (一万二千...).
- Generated audio is cached under ``<sounds>/.cache/<hash>.wav`` keyed by a
  hash of the spoken text, the voice and the tool flags: the same text is
  never synthesised twice.
- A recorded file of the same name overrides: if ``<sounds>/<name>.<ext>``
  exists and is not the file this module wrote, it is used and left alone.

``ensure_prompt(name, text, sounds_dir)`` is the one entry point (the IVR
helper reuses it); ``ensure_prompts`` does a batch in parallel.  Synthesis is
a step of its own, run by the deploy layer after rendering
(``deploy/prompts_step.py``; ``hotline prompts`` runs it by hand).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hotline.names import emergency_prompt, linkage_prompt, transition_prompt, unreachable_prompt
from hotline.policy import LINKAGE_NUMBERS
from hotline.transfer_map import NEVER_INTEGRATED

VOICE = "cmn-latn-pinyin"
ESPEAK_ARGS = ("-s", "150")  # words per minute: a calm operator's pace
SOX_ARGS = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
RECORDED_EXTS = (".wav", ".gsm", ".ulaw", ".alaw", ".sln", ".sln16", ".g722", ".WAV")
CACHE = ".cache"
MANIFEST = "manifest.json"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$")
_DIGITS = "零幺二三四五六七八九"
_RUN = re.compile(r"\d{3,}")
_lock = threading.Lock()


class PromptError(RuntimeError):
    pass


def spoken(text: str) -> str:
    """The text as it is spoken: runs of 3+ digits (hotline and phone
    numbers) digit by digit, 1 as 幺; 7×24 as 七乘二十四."""
    text = text.replace("×", "乘").replace("7x24", "7乘24").replace("7X24", "7乘24")
    return _RUN.sub(lambda m: "".join(_DIGITS[int(d)] for d in m.group(0)), text)


def cache_key(text: str, voice: str = VOICE) -> str:
    h = hashlib.sha256()
    for part in (spoken(text), voice, *ESPEAK_ARGS, *SOX_ARGS):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise PromptError(f"prompt name {name!r}: ASCII letters, digits, - and _ (it becomes a file name)")


def tools_available(voice: str = VOICE) -> str | None:
    """None when espeak-ng (with the voice) and sox are there, else what is missing."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (hotline setup installs it)"
    out = subprocess.run(["espeak-ng", "--voices=cmn"], capture_output=True, text=True).stdout
    if voice not in out.split():
        return f"espeak-ng has no voice {voice!r}"
    return None


def synthesize(text: str, out: Path, voice: str = VOICE) -> None:
    """espeak-ng -> sox -> ``out`` (8 kHz mono 16-bit signed WAV), atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        raw, conv = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        run = subprocess.run(
            ["espeak-ng", "-v", voice, *ESPEAK_ARGS, "-w", str(raw), "--", spoken(text)], capture_output=True, text=True
        )
        if run.returncode != 0 or not raw.exists() or raw.stat().st_size <= 44:
            raise PromptError(f"espeak-ng failed for {text[:30]!r}: {run.stderr.strip()}")
        run = subprocess.run(["sox", "-R", "-G", str(raw), *SOX_ARGS, str(conv)], capture_output=True, text=True)
        if run.returncode != 0:
            raise PromptError(f"sox failed: {run.stderr.strip()}")
        os.replace(conv, out)


def _manifest(sounds_dir: Path) -> dict:
    try:
        return json.loads((sounds_dir / CACHE / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_manifest(sounds_dir: Path, data: dict) -> None:
    path = sounds_dir / CACHE / MANIFEST
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two processes may share a sounds dir
    tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1), encoding="utf-8")
    tmp.replace(path)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def recorded(name: str, sounds_dir: Path) -> Path | None:
    """The admin's recording of ``name``, if one is there (not a file we generated)."""
    ours = _manifest(sounds_dir).get(name)
    for ext in RECORDED_EXTS:
        p = sounds_dir / f"{name}{ext}"
        if not p.exists():
            continue
        if ext == ".wav" and ours and _same_bytes(p, sounds_dir / CACHE / f"{ours}.wav"):
            continue  # the one we wrote earlier
        return p
    return None


def ensure_prompt(name: str, text: str, sounds_dir: Path, voice: str = VOICE) -> Path:
    """Make ``<sounds_dir>/<name>.wav`` speak ``text`` unless a recording of
    that name exists; return the file Asterisk will play."""
    check_name(name)
    sounds_dir = Path(sounds_dir)
    rec = recorded(name, sounds_dir)
    if rec is not None:
        return rec
    key = cache_key(text, voice)
    cached = sounds_dir / CACHE / f"{key}.wav"
    if not cached.exists():
        synthesize(text, cached, voice)
    target = sounds_dir / f"{name}.wav"
    if not _same_bytes(target, cached):
        tmp = sounds_dir / f".{name}.{os.getpid()}.{threading.get_ident()}.wav.tmp"
        shutil.copyfile(cached, tmp)
        tmp.replace(target)
    with _lock:
        man = _manifest(sounds_dir)
        if man.get(name) != key:
            man[name] = key
            _save_manifest(sounds_dir, man)
    return target


def ensure_prompts(prompts: dict[str, str], sounds_dir: Path, voice: str = VOICE, workers: int = 4) -> dict[str, Path]:
    """Batch version: every ``name -> text``, synthesised in parallel."""
    for name in prompts:
        check_name(name)
    sounds_dir = Path(sounds_dir)
    (sounds_dir / CACHE).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            name: pool.submit(ensure_prompt, name, text, sounds_dir, voice) for name, text in sorted(prompts.items())
        }
        return {name: f.result() for name, f in futures.items()}


# --- the texts of the transfer map ----------------------------------------------------


def emergency_text(number: str) -> str:
    return f"您拨打的{number}是紧急电话，12345热线不能为您转接，请挂机后直接拨打{number}。"


def linkage_text(number: str) -> str:
    """What an IVR caller who chose an emergency line hears when 12345 cannot connect
    them (no linkage trunk for it, or it did not answer): never 正在为您转接."""
    return f"对不起，12345热线暂时无法为您接通{number}。如遇紧急情况，请立即挂机，直接拨打{number}。"


# what the caller is told of a peer that cannot be reached, by the trunk's kind
_UNREACHABLE_PEER = {"province": "省级平台", "subcenter": "分中心", "seats": "该热线坐席"}


def unreachable_text(kind: str, hotline_number: str) -> str:
    """Heard before the fallback when the peer behind a line's trunk cannot be reached
    (unavailable to SIP OPTIONS, or refusing the call): the caller knows why they are moved."""
    return f"{_UNREACHABLE_PEER[kind]}无法接通，为您转接{hotline_number}。"  # about 5.5 s


def map_prompts(tmap: Any) -> dict[str, str]:
    """Prompt name -> text for the transfer map: the 过渡期 announcements, the
    refusal heard when an emergency number reaches the platform, and what the
    IVR says when it cannot connect a caller to an emergency line."""
    out: dict[str, str] = {}
    for line in tmap.lines:
        if line.transition is not None:
            out[transition_prompt(line.number)] = line.transition.text
    for number in LINKAGE_NUMBERS:
        if number in NEVER_INTEGRATED:
            out[emergency_prompt(number)] = emergency_text(number)
        # with a linkage trunk too: played when the trunk does not answer
        out[linkage_prompt(number)] = linkage_text(number)
    for name, trunk in tmap.trunks.items():
        if trunk.kind in _UNREACHABLE_PEER:
            out[unreachable_prompt(name)] = unreachable_text(trunk.kind, tmap.hotline.number)
    return out


# --- Mandarin numbers for Asterisk's own announcements -------------------------------
#
# app_queue says positions and hold times with Asterisk's say.c, which plays
# sounds/<language>/digits/<n>. Debian ships English digits only, so a caller
# on a zh channel heard English numbers.  These are the files it asks for.

_ZH = "零一二三四五六七八九"


def zh_number(n: int) -> str:
    """0..99 in Mandarin characters: 0 零, 10 十, 12 十二, 20 二十, 23 二十三."""
    if not 0 <= n <= 99:
        raise ValueError(n)
    tens, units = divmod(n, 10)
    if tens == 0:
        return _ZH[units]
    head = "十" if tens == 1 else _ZH[tens] + "十"
    return head + (_ZH[units] if units else "")


def zh_digit_prompts() -> dict[str, str]:
    """File name under sounds/zh/digits -> text (say.c plays e.g. digits/20 then digits/3)."""
    out = {str(n): zh_number(n) for n in range(100)}
    out.update({"hundred": "百", "thousand": "千", "million": "百万", "minus": "负"})
    return out
