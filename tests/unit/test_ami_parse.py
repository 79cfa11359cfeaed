"""The AMI message parser keeps repeated headers and output lines; the call facts' parser reads as parse_qsl."""

from urllib.parse import parse_qsl, quote

import pytest

from hotline.ami import parse_message
from hotline.names import CALL_FACTS, parse_call_facts

BLOCKS = [
    "Event: Newchannel\r\nChannel: PJSIP/x-1\r\nCallerIDName: 张三\r\nExten: 12345",
    "Event: X\r\nEmpty: \r\nValue: a: b: c",  # an empty value; ": " inside a value
    "Event: X\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nChanVariable: C=3",  # a header thrice
    "Response: Follows\r\nPrivilege: Command\r\nline one\r\nline two: x",  # output lines
    "Response: Success\r\n\r\nMessage: x",  # a blank line inside
    "Event: X\r\nNoSpace:colon",
]


def test_parse_message_keeps_repeated_headers_and_output_lines():
    assert parse_message(BLOCKS[2])["ChanVariable"] == ["A=1", "B=2", "C=3"]
    assert parse_message(BLOCKS[3])["_output"] == ["line one"]
    assert parse_message(BLOCKS[3])["line two"] == "x"
    assert parse_message(BLOCKS[1]) == {"Event": "X", "Empty": "", "Value": "a: b: c"}


def _by_parse_qsl(text):
    names = dict(CALL_FACTS)
    return {names[k]: v for k, v in parse_qsl(text, keep_blank_values=False) if k in names and v}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "o=12349&m=merge&r=agi&q=hotline",
        "o=&m=merge&x=1&q",  # an unset variable, an unknown key, a key without "="
        "n=" + quote("a=b&c", safe="") + "&d=" + quote("民政局 mzj", safe=""),
        "o=1+2&n=a%2Bb",  # a plus (a space to parse_qsl) and an encoded one
        "o=1=2",
    ],
)
def test_parse_call_facts_reads_as_parse_qsl(text):
    assert parse_call_facts(text) == _by_parse_qsl(text)
