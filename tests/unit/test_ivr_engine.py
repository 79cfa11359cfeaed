"""The pure flow interpreter: (state, event) -> actions, without ARI."""

from datetime import datetime
from pathlib import Path

import pytest

from ari_apps import engine as E
from ari_apps import flow as F

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday, 10:00


@pytest.fixture(scope="module")
def flows():
    return F.load_dir(ROOT / "ivr_flows")


class Call:
    """Drive one flow and keep the last actions."""

    def __init__(self, flows, name, variables=None, now=NOW, node=None):
        self.flow = flows[name]
        self.st, self.acts = E.start(name, self.flow, variables or {}, now, node)
        self.now = now

    def send(self, ev):
        self.st, self.acts = E.step(self.flow, self.st, ev, self.now)
        return self.acts

    def last(self, kind):
        found = [a for a in self.acts if isinstance(a, kind)]
        assert found, f"no {kind.__name__} in {self.acts}"
        return found[-1]

    def prompt_done(self):
        return self.send(E.PromptDone(self.last(E.Play).token))

    def timeout(self):
        return self.send(E.Timeout(self.last(E.Timer).token))


def test_default_flow_goes_to_the_queue_when_the_caller_waits(flows):
    c = Call(flows, "12345", {"HOTLINE_PRIORITY": "3"})
    play = c.last(E.Play)
    assert play.prompts == (("ivr-12345-greet", flows["12345"].nodes["greet"].prompt),)
    c.prompt_done()
    timer = c.last(E.Timer)
    assert timer.seconds == 2
    acts = c.timeout()
    assert acts == [
        E.Continue(
            E.QUEUE_CONTEXT, "s", {"HOTLINE_QUEUE": "hotline", "HOTLINE_PRIORITY": "3", "HOTLINE_AFTER": "survey"}
        )
    ]
    assert c.st.done


def test_any_other_key_during_greeting_goes_to_the_queue(flows):
    c = Call(flows, "12345")
    acts = c.send(E.Digit("7"))
    assert isinstance(acts[0], E.StopPlay) and isinstance(acts[-1], E.Continue)


def test_progress_query_with_caller_match(flows):
    c = Call(flows, "12345")
    c.send(E.Digit("1"))  # shortcut during the greeting: barge in
    assert c.st.node == "progress_number" and isinstance(c.acts[0], E.StopPlay)
    c.prompt_done()
    for d in "20261124":
        c.send(E.Digit(d))
    c.send(E.Digit("#"))
    lookup = c.last(E.Lookup)
    assert (lookup.number, lookup.last4) == ("20261124", None)
    c.send(
        E.Looked("ok", {"number": "20261124", "status_text": "办理中", "deadline": "2026-11-30T17:00:00"}, lookup.token)
    )
    say = c.last(E.Say)
    assert "2 0 2 6 1 1 2 4" in say.text and "办理中" in say.text and "2026年11月30日" in say.text
    c.send(E.PromptDone(say.token))
    assert c.st.node == "after_progress"


def test_progress_query_needs_last4(flows):
    c = Call(flows, "progress")
    c.prompt_done()
    for d in "12345#":
        c.send(E.Digit(d))
    tok = c.last(E.Lookup).token
    c.send(E.Looked("needs_last4", {}, tok))
    assert c.last(E.Play).prompts[0][0] == "ivr-progress-lookup-last4"
    c.prompt_done()
    for d in "567":
        c.send(E.Digit(d))
    assert not any(isinstance(a, E.Lookup) for a in c.acts)
    c.send(E.Digit("8"))
    lk = c.last(E.Lookup)
    assert (lk.number, lk.last4) == ("12345", "5678")
    # still wrong: denied, then on
    c.send(E.Looked("needs_last4", {}, lk.token))
    assert c.last(E.Play).prompts[0][0] == "ivr-progress-lookup-denied"
    c.prompt_done()
    assert c.st.node == "bye"


def test_lookup_not_found_and_stale_events(flows):
    c = Call(flows, "progress")
    c.prompt_done()
    for d in "9999#":
        c.send(E.Digit(d))
    tok = c.last(E.Lookup).token
    assert c.send(E.Looked("ok", {}, tok - 1)) == []  # stale answer ignored
    c.send(E.Looked("not_found", {}, tok))
    assert c.last(E.Play).prompts[0][0] == "ivr-progress-lookup-not_found"


def test_menu_invalid_then_timeout_then_failure(flows):
    c = Call(flows, "linkage")
    node = flows["linkage"].nodes["ask"]
    c.prompt_done()
    c.send(E.Digit("9"))  # invalid, no `invalid:` target -> retry with notice
    assert c.st.retries == 1
    assert [p[0] for p in c.last(E.Play).prompts] == ["ivr-linkage-ask-invalid", "ivr-linkage-ask"]
    replay = c.last(E.Play)
    # the timer of the first wait is stale now
    assert c.send(E.Timeout(c.st.token - 1)) == []
    c.send(E.PromptDone(replay.token))
    c.send(E.Digit("2"))
    assert c.acts[-1] == E.Continue(
        E.TRANSFER_CONTEXT, "119", {"HOTLINE_TRANSFER_KIND": "emergency", "HOTLINE_TRANSFER_PROMPT": "ivr-linkage-fire"}
    )
    # timeout with no_input set goes straight there
    c = Call(flows, "linkage")
    c.prompt_done()
    c.timeout()
    assert isinstance(c.acts[-1], E.Continue) and c.acts[-1].context == E.QUEUE_CONTEXT
    assert node.max_retries == 2


def test_retries_exhausted_goes_to_failure(flows):
    c = Call(flows, "survey")
    for _ in range(2):  # max_retries 1: one replay, then failure
        c.prompt_done()
        c.timeout()
    assert c.st.node == "bye" and c.acts[-1] == E.Hangup()


def test_survey_stores_the_score(flows):
    c = Call(flows, "survey")
    acts = c.send(E.Digit("2"))
    save = c.last(E.SaveSurvey)
    assert save.score == 2 and isinstance(acts[0], E.StopPlay)
    c.send(E.Digit("5"))  # while saving: ignored
    assert c.acts == []
    c.send(E.Saved(True, {}, save.token))
    assert c.last(E.Play).prompts[0][0] == "ivr-survey-rate-thanks"
    c.prompt_done()
    assert c.acts == [E.Hangup()]


def test_survey_rejects_6(flows):
    c = Call(flows, "survey")
    c.send(E.Digit("6"))
    assert c.st.retries == 1 and not any(isinstance(a, E.SaveSurvey) for a in c.acts)


def test_legacy_announcement_then_department_queue(flows):
    v = {"HOTLINE_ANNOUNCE": "hotline/legacy-12319", "HOTLINE_QUEUE": "dept_zhujian", "HOTLINE_PRIORITY": "2"}
    c = Call(flows, "legacy", v)
    assert c.last(E.Play).prompts == (("sound:hotline/legacy-12319", ""),)
    c.prompt_done()
    assert c.acts[-1].variables["HOTLINE_QUEUE"] == "dept_zhujian"
    assert c.acts[-1].variables["HOTLINE_PRIORITY"] == "2"
    # no announcement configured: straight to the queue
    c = Call(flows, "legacy", {"HOTLINE_QUEUE": "dept_x"})
    assert isinstance(c.acts[-1], E.Continue) and c.acts[-1].variables["HOTLINE_PRIORITY"] == "0"


@pytest.mark.parametrize(
    "when,is_open",
    [
        (datetime(2026, 11, 24, 9, 0), True),  # Tuesday morning
        (datetime(2026, 11, 24, 12, 30), False),  # lunch break
        (datetime(2026, 11, 24, 17, 30), False),  # closing time is exclusive
        (datetime(2026, 11, 28, 10, 0), False),  # Saturday
        (datetime(2026, 9, 20, 10, 0), True),  # Sunday, but an adjusted working day (调休)
        (datetime(2026, 10, 10, 10, 0), True),  # Saturday, an adjusted working day (调休)
        (datetime(2026, 9, 27, 10, 0), False),  # Sunday inside 中秋 (the old IVR calendar made it a workday)
        (datetime(2026, 10, 1, 10, 0), False),  # National Day holiday (a Thursday)
        (datetime(2026, 10, 6, 10, 0), False),  # National Day holiday (the old IVR calendar left it open)
        (datetime(2026, 10, 7, 10, 0), False),
    ],
)
def test_hours(flows, when, is_open):
    """The IVR's hours node asks the platform's one calendar (holidays/2026.yaml)."""
    node = flows["legacy-hours"].nodes["hours"]
    assert E.is_open(node, when, flows["legacy-hours"].calendar) is is_open
    c = Call(flows, "legacy-hours", {"HOTLINE_ANNOUNCE": "a", "HOTLINE_QUEUE": "q"}, now=when)
    assert c.st.node == ("announce" if is_open else "message")


def test_record_makes_a_draft(flows):
    c = Call(flows, "legacy-hours", now=datetime(2026, 11, 28, 10, 0))
    c.prompt_done()
    rec = c.last(E.Record)
    assert rec.seconds == 90 and rec.transcribe
    c.send(E.Recorded("hotline/msg-1", "路灯坏了", rec.token))
    draft = c.last(E.SaveDraft)
    assert (draft.recording, draft.transcript) == ("hotline/msg-1", "路灯坏了")
    c.send(E.Saved(True, {"number": "N1"}, draft.token))
    assert c.st.vars["draft_number"] == "N1"
    c.prompt_done()
    assert c.st.node == "bye"


def test_speech_choice_and_dtmf_fallback(flows):
    c = Call(flows, "speech-menu")
    c.prompt_done()
    listen = c.last(E.Listen)
    assert listen.grammar == ("查询进度", "进度", "人工服务", "人工")
    c.send(E.Speech("我 要 查询 进度", listen.token))
    assert c.st.node == "progress"
    c = Call(flows, "speech-menu")
    c.send(E.Digit("0"))
    assert c.acts[-1].context == E.QUEUE_CONTEXT
    c = Call(flows, "speech-menu")
    c.prompt_done()
    c.send(E.Speech("天气", c.last(E.Listen).token))
    assert c.st.retries == 1 and c.st.node == "ask"


def test_callback_offer(flows):
    c = Call(flows, "12345-callback")
    c.prompt_done()
    est = c.last(E.OfferCallback)
    assert est.queue == "hotline"
    c.send(E.Wait(30, est.token))  # short wait: queue at once
    assert isinstance(c.acts[-1], E.Continue)
    c = Call(flows, "12345-callback")
    c.prompt_done()
    c.send(E.Wait(300, c.last(E.OfferCallback).token))
    c.prompt_done()
    c.send(E.Digit("1"))
    place = c.last(E.PlaceCallback)
    c.send(E.Saved(True, {}, place.token))
    c.prompt_done()
    assert c.acts == [E.Hangup()] and c.st.done
    # the callback leg itself is not offered a callback again
    c = Call(flows, "12345-callback", {"HOTLINE_CALLBACK": "1"})
    c.prompt_done()
    assert isinstance(c.acts[-1], E.Continue)


def test_read_min_length_and_terminator(flows):
    c = Call(flows, "progress")
    c.prompt_done()
    for d in "12#":
        c.send(E.Digit(d))
    assert c.st.retries == 1 and c.st.node == "number"  # too short: invalid


def test_done_state_ignores_events(flows):
    c = Call(flows, "12345")
    c.send(E.Digit("0"))
    assert c.st.done and c.send(E.Digit("1")) == []


def test_readback_without_deadline():
    assert (
        E.readback_text({"number": "12", "status_text": "已办结", "deadline": None}) == "工单号 1 2，当前状态：已办结。"
    )
