"""The transition announcements (过渡期语音提示) stay under 6 s: the caller hears them before
joining the queue, and the 15 s service level counts from the call's arrival."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest

from hotline.map_warnings import TRANSITION_MAX_SECONDS, spoken_seconds
from hotline.settings import PROJECT_ROOT
from hotline.transfer_map import check_file_all, load_map

SHIPPED = PROJECT_ROOT / "transfer_map.yaml"
TODAY = date(2026, 12, 2)


def test_the_shipped_announcements_are_estimated_under_6_s_and_not_warned():
    tm = load_map(SHIPPED, TODAY)
    texts = {ln.number: ln.transition.text for ln in tm.lines if ln.transition}
    assert len(texts) >= 10
    assert {
        n: round(spoken_seconds(t), 1) for n, t in texts.items() if spoken_seconds(t) > TRANSITION_MAX_SECONDS
    } == {}
    problems, warnings = check_file_all(SHIPPED, TODAY)
    assert problems == [] and not [w for w in warnings if "takes about" in str(w)]


def test_a_long_announcement_is_a_warning_at_its_text(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "text: 民政热线已并入12345，请稍候。",
        "text: 您拨打的民政服务热线12349已并入12345政务服务便民热线，正在为您转接12345热线，请稍候。",
    )
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    problems, warnings = check_file_all(path, TODAY)
    assert problems == []  # a warning never rejects the map
    (w,) = [w for w in warnings if "takes about" in str(w)]
    assert "12349" in str(w) and "about 15 s" in str(w)
    line_no = next(i for i, l in enumerate(text.splitlines(), 1) if "正在为您转接12345热线" in l)
    assert w.line == line_no


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("soxi") is None, reason="needs espeak-ng, sox")
def test_the_estimate_is_not_shorter_than_the_generated_audio(tmp_path):
    """Measured with the prompt generator (the file Asterisk plays): each under 6 s, the estimate
    at least as long (within 0.2 s) as the audio."""
    from asterisk_conf.prompts import synthesize

    tm = load_map(SHIPPED, TODAY)
    measured = {}
    for ln in tm.lines:
        if ln.transition:
            out = tmp_path / f"{ln.number}.wav"
            synthesize(ln.transition.text, out)
            measured[ln.number] = float(subprocess.check_output(["soxi", "-D", str(out)]).decode())
            assert measured[ln.number] < TRANSITION_MAX_SECONDS, (ln.number, measured[ln.number])
            assert spoken_seconds(ln.transition.text) >= measured[ln.number] - 0.2, (ln.number, measured[ln.number])
    long = "您拨打的民政服务热线12349已并入12345政务服务便民热线，正在为您转接12345热线，请稍候。"
    synthesize(long, tmp_path / "long.wav")
    assert (
        abs(spoken_seconds(long) - float(subprocess.check_output(["soxi", "-D", str(tmp_path / "long.wav")]).decode()))
        < 1.0
    )
