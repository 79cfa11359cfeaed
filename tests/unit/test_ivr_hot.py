"""The ``hot`` node (热点问题) of the pure interpreter, in the shipped 12345 flow."""

from ari_apps import engine as E
from ari_apps.engine_text import hot_answer_text, hot_menu_text, say_name
from tests.unit.test_ivr_engine import Call, flows  # noqa: F401 (the fixture)

ITEMS = (
    {"id": 7, "version": 2, "title": "公积金提取条件", "body": "职工购房可以提取。"},
    {"id": 3, "version": 1, "title": "社保卡补办", "body": "携带身份证到社保大厅办理。"},
)


def _to_list(c):
    c.send(E.Digit("2"))  # during the greeting
    assert c.st.node == "hot" and isinstance(c.acts[0], E.StopPlay)
    assert c.last(E.HotList).limit == 5
    c.send(E.HotListed(True, ITEMS, c.last(E.HotList).token))


def test_the_titles_are_read_as_a_menu_and_the_chosen_answer_is_read(flows):  # noqa: F811
    c = Call(flows, "12345")
    _to_list(c)
    menu = hot_menu_text(["公积金提取条件", "社保卡补办"], agent=True)
    assert menu == "第一条，公积金提取条件，请按1。第二条，社保卡补办，请按2。重听请按星号键。人工服务请按0。"
    play = c.last(E.Play)
    assert play.prompts == (("ivr-12345-hot", "以下是近期热点问题。"), (say_name(menu), menu))
    c.prompt_done()
    c.send(E.Digit("2"))
    read = c.last(E.KbRead)
    assert read.article_id == 3
    c.send(E.KbAnswer("ok", ITEMS[1], read.token))
    text = hot_answer_text(ITEMS[1])
    assert text == "社保卡补办。携带身份证到社保大厅办理。"
    assert c.last(E.Play).prompts == ((say_name(text), text),)
    assert c.last(E.Log).fields == {"id": 3, "version": 1, "prompt": say_name(text)}
    c.prompt_done()
    assert c.st.node == "after_hot"


def test_an_entry_gone_since_the_list_is_not_read(flows):  # noqa: F811
    c = Call(flows, "12345")
    _to_list(c)
    c.send(E.Digit("1"))  # barge in during the list
    assert isinstance(c.acts[0], E.StopPlay)
    c.send(E.KbAnswer("not_found", {}, c.last(E.KbRead).token))
    assert c.last(E.Play).prompts == (("ivr-12345-hot-gone", "对不起，该解答已失效。"),)
    c.prompt_done()
    assert c.st.node == "after_hot"


def test_no_hot_entry_goes_to_an_agent_and_0_too(flows):  # noqa: F811
    c = Call(flows, "12345")
    c.send(E.Digit("2"))
    c.send(E.HotListed(True, (), c.last(E.HotList).token))
    assert c.last(E.Play).prompts == (("ivr-12345-hot-empty", "目前没有热点问题解答。"),)
    c.prompt_done()
    assert c.st.done and isinstance(c.acts[-1], E.Continue)

    c = Call(flows, "12345")
    _to_list(c)
    c.send(E.Digit("0"))
    assert c.st.done and c.acts[-1].variables["HOTLINE_AFTER"] == "survey"


def test_bad_keys_and_silence_replay_the_list_then_fail_to_an_agent(flows):  # noqa: F811
    c = Call(flows, "12345")
    _to_list(c)
    c.prompt_done()
    c.send(E.Digit("9"))  # only two entries
    assert c.last(E.Play).prompts[0] == ("ivr-12345-hot-invalid", "对不起，您的输入有误。")
    c.prompt_done()
    c.timeout()  # retries (1) exhausted
    assert c.st.done and isinstance(c.acts[-1], E.Continue)
    # a stale answer of the store is ignored
    c = Call(flows, "12345")
    c.send(E.Digit("2"))
    assert c.send(E.HotListed(True, ITEMS, 999)) == []
