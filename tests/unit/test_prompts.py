"""Mandarin prompt generation (asterisk_conf/prompts.py)."""

from __future__ import annotations

import wave
from datetime import date
from pathlib import Path

import pytest

from asterisk_conf import prompts as P

ROOT = Path(__file__).resolve().parents[2]
needs_tools = pytest.mark.skipif(P.tools_available() is not None, reason=str(P.tools_available()))


def test_hotline_numbers_are_spelled_digit_by_digit():
    assert P.spoken("请拨打12345热线") == "请拨打幺二三四五热线"
    assert P.spoken("民政服务热线12349已并入12345") == "民政服务热线幺二三四九已并入幺二三四五"
    assert P.spoken("96119") == "九六幺幺九"
    assert P.spoken("110") == "幺幺零"
    # short quantities stay quantities; 7×24 is said 七乘二十四
    assert P.spoken("提供7×24小时服务，按1号键") == "提供7乘24小时服务，按1号键"


def test_cache_key_depends_on_spoken_text_and_voice():
    a = P.cache_key("您好")
    assert a == P.cache_key("您好")
    assert a != P.cache_key("您好。") and a != P.cache_key("您好", voice="cmn")
    assert len(a) == 24


@pytest.mark.parametrize("bad", ["", "../x", "a b", "提示", "x/y"])
def test_prompt_names_are_safe_file_names(bad, tmp_path):
    with pytest.raises(P.PromptError):
        P.ensure_prompt(bad, "您好", tmp_path)


def test_the_pinyin_voice_is_there():
    assert P.tools_available() is None, P.tools_available()


@needs_tools
def test_ensure_prompt_makes_8khz_mono_16bit_wav(tmp_path):
    path = P.ensure_prompt("transition-12349", "您拨打的民政服务热线12349已并入12345热线。", tmp_path)
    assert path == tmp_path / "transition-12349.wav"
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 8000 * 3  # a sentence of several seconds, not silence
        frames = w.readframes(w.getnframes())
    assert max(frames[1::2]) > 8  # some loud samples: it speaks


@needs_tools
def test_same_text_is_synthesised_once(tmp_path, monkeypatch):
    calls = []
    real = P.synthesize
    monkeypatch.setattr(P, "synthesize", lambda *a, **k: (calls.append(a), real(*a, **k)))
    P.ensure_prompt("a", "您好", tmp_path)
    P.ensure_prompt("a", "您好", tmp_path)
    P.ensure_prompt("b", "您好", tmp_path)  # another name, same words: the cache serves it
    assert len(calls) == 1
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    P.ensure_prompt("a", "再见", tmp_path)  # new text under an old name: regenerated
    assert len(calls) == 2
    assert (tmp_path / "a.wav").read_bytes() != (tmp_path / "b.wav").read_bytes()


@needs_tools
def test_a_recording_of_the_same_name_overrides(tmp_path):
    generated = P.ensure_prompt("transition-12350", "您好", tmp_path)
    # the admin records the announcement in a studio and drops it in
    rec = tmp_path / "transition-12350.wav"
    rec.write_bytes(b"RIFF-recorded-by-a-person")
    assert generated == rec
    assert P.ensure_prompt("transition-12350", "您好", tmp_path) == rec
    assert P.ensure_prompt("transition-12350", "另一段文字", tmp_path) == rec
    assert rec.read_bytes() == b"RIFF-recorded-by-a-person"
    # a recording in another format wins too, and the generated wav is not rewritten
    (tmp_path / "greet.ulaw").write_bytes(b"\xff" * 800)
    assert P.ensure_prompt("greet", "您好", tmp_path) == tmp_path / "greet.ulaw"
    assert not (tmp_path / "greet.wav").exists()


@needs_tools
def test_batch_and_map_prompts(tmp_path):
    from hotline.transfer_map import load_map

    tmap = load_map(ROOT / "transfer_map.yaml", date(2026, 11, 23))
    texts = P.map_prompts(tmap)
    assert texts["transition-12349"].startswith("民政热线已并入12345")
    assert {"emergency-110", "emergency-119", "emergency-120", "emergency-122"} <= set(texts)
    assert sum(1 for n in texts if n.startswith("transition-")) == sum(
        1 for ln in tmap.lines if ln.transition is not None
    )
    few = {k: texts[k] for k in ("transition-12349", "emergency-110")}
    files = P.ensure_prompts(few, tmp_path)
    assert set(files) == set(few) and all(p.exists() for p in files.values())


def test_cli_say(capsys):
    from deploy.cli import main

    assert main(["prompts", "--say", "请拨打12345"]) == 0
    assert capsys.readouterr().out.strip() == "请拨打幺二三四五"


def test_zh_numbers_for_asterisk_say():
    from asterisk_conf.prompts import zh_digit_prompts, zh_number

    assert [zh_number(n) for n in (0, 7, 10, 12, 20, 23, 99)] == ["零", "七", "十", "十二", "二十", "二十三", "九十九"]
    files = zh_digit_prompts()
    assert files["20"] + files["3"] == "二十三" == files["23"]  # either way say.c asks, the words are right
    assert files["hundred"] == "百" and len(files) == 104


def test_prompt_synthesis_that_fails_is_reported_not_swallowed(tmp_path, monkeypatch, caplog):
    """Rendering used to swallow every exception from prompt generation; the step now says so at ERROR."""
    import logging

    from deploy import configure
    from hotline.transfer_map import load_map

    tmap = load_map(ROOT / "transfer_map.yaml", date(2026, 11, 23))

    def broken(prompts, sounds_dir, *a, **kw):
        raise P.PromptError("espeak-ng failed for '您拨打的': voice missing")

    monkeypatch.setattr(P, "tools_available", lambda *a: None)
    monkeypatch.setattr(P, "ensure_prompts", broken)
    with caplog.at_level(logging.ERROR):
        report = configure.synthesise(tmap, tmp_path)
    assert report.problems and "voice missing" in report.problems[0]
    assert "prompt synthesis failed" in caplog.text
    assert report.available == set()  # nothing exists, so the configuration names no missing sound

    monkeypatch.setattr(P, "tools_available", lambda *a: "espeak-ng is not installed")
    with caplog.at_level(logging.ERROR):
        report = configure.synthesise(tmap, tmp_path)
    assert report.problems == ["prompts not generated: espeak-ng is not installed"]
