"""``hotline speech check``: load the Vosk model of HOTLINE_VOSK_MODEL (or --model) the way
the IVR does, recognise a test grammar on silence, and say whether speech nodes will listen
or fall back to DTMF.  Exit status 0: the model loads; 1: it does not (the reason is printed)."""

from __future__ import annotations

import dataclasses
import json
import time

from ari_apps.speech import Speech, load_problem


def add_arguments(parser) -> None:
    parser.add_argument("--model", help="a model directory (default: HOTLINE_VOSK_MODEL)")


def run(args, settings) -> int:
    if args.model is not None:
        settings = dataclasses.replace(settings, vosk_model=args.model)
    path = settings.vosk_model.strip()
    t0 = time.perf_counter()
    problem = load_problem(path)
    if problem:
        print(f"speech: {problem}; speech nodes fall back to DTMF")
        return 1
    try:
        speech = Speech(path)
    except Exception as exc:  # what the IVR logs as "speech model failed to load"
        print(f"speech: model {path} failed to load ({str(exc)[:200]}); speech nodes fall back to DTMF")
        return 1
    rec = speech.recognizer(("一", "二"))
    rec.AcceptWaveform(b"\0\0" * 1600)
    json.loads(rec.FinalResult())
    print(f"speech: model {path} loaded in {time.perf_counter() - t0:.1f} s; speech nodes listen")
    return 0
