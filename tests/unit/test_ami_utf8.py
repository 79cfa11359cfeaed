"""The AMI reader keeps multi-byte characters split across TCP reads, and hands over only wanted events."""

from panoramisk.ami_protocol import AMIProtocol

from hotline.ami import LeanAMIProtocol


class _Factory:
    picks: dict = {}  # every event parsed whole (hotline.ami.LeanManager's reads: none)

    def __init__(self):
        self.events = []

    def wants(self, name):
        return True

    def dispatch(self, message):
        self.events.append(message)


class _Transport:
    def write(self, data):
        pass

    def close(self):
        pass


def _feed(protocol_cls, chunks):
    proto = protocol_cls()
    proto.connection_made(_Transport())
    proto.factory = _Factory()
    proto.encoding = "utf-8"
    for chunk in chunks:
        proto.data_received(chunk)
    return proto.factory.events


RAW = "Event: Newchannel\r\nCallerIDName: 张三\r\nExten: 12345\r\n\r\n".encode()


def _split_inside_chinese():
    cut = RAW.index("张".encode()) + 1  # one byte into the first character
    return [RAW[:cut], RAW[cut:]]


def test_split_chinese_header_survives():
    events = _feed(LeanAMIProtocol, _split_inside_chinese())
    assert len(events) == 1
    assert events[0]["CallerIDName"] == "张三"


def test_every_split_point_survives():
    for cut in range(1, len(RAW)):
        events = _feed(LeanAMIProtocol, [RAW[:cut], RAW[cut:]])
        assert [e["CallerIDName"] for e in events] == ["张三"], cut


def test_stock_panoramisk_loses_the_character():
    # Documents the bug we fix: if this starts passing upstream, drop our class.
    events = _feed(AMIProtocol, _split_inside_chinese())
    assert events[0]["CallerIDName"] != "张三"


def test_only_wanted_events_are_parsed_and_dispatched():
    class Picky(_Factory):
        def wants(self, name):
            return name == "AgentConnect"

    proto = LeanAMIProtocol()
    proto.connection_made(_Transport())
    proto.factory = Picky()
    proto.data_received(RAW + b"Event: AgentConnect\r\nChanVariable: A=1\r\nChanVariable: B=2\r\n\r\n")
    assert proto.factory.events == [{"Event": "AgentConnect", "ChanVariable": ["A=1", "B=2"]}]
