"""IVR flow schema and validation: positions, dangling targets, unreachable nodes."""

from pathlib import Path

import pytest

from ari_apps import flow as F
from hotline.settings import Settings
from hotline.yamlsrc import ConfigError, loads

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        data, src = loads(text, "f.yaml")
        F.parse(data, src)
    return [str(p) for p in exc.value.problems]


GOOD = """\
flows:
  "12345":
    start: greet
    nodes:
      greet:
        type: menu
        prompt: 您好
        choices: {"1": q}
        failure: q
      q: {type: queue, skill: general, after: ""}
"""


def test_shipped_flows_are_valid():
    flows = F.load_dir(ROOT / "ivr_flows")
    assert "12345" in flows and "survey" in flows and "legacy" in flows
    # the default flow is short: greeting shortcut, then the queue on no input
    greet = flows["12345"].nodes[flows["12345"].start]
    assert isinstance(greet, F.Menu)
    assert isinstance(flows["12345"].nodes[greet.no_input], F.Queue)
    assert greet.max_retries == 0 and greet.timeout <= 3


def test_good_file_parses():
    data, src = loads(GOOD, "f.yaml")
    flows = F.parse(data, src)
    assert flows["12345"].nodes["greet"].choices == {"1": "q"}


def test_dangling_target_is_reported_at_the_target():
    bad = GOOD.replace('{"1": q}', '{"1": nowhere}')
    out = problems(bad)
    assert out == ["f.yaml:8:19: flow '12345': node 'greet' goes to 'nowhere', which does not exist"]


def test_unreachable_node_is_reported_at_the_node():
    bad = GOOD + "      lost: {type: hangup}\n"
    assert problems(bad) == ["f.yaml:11:7: flow '12345': node 'lost' is unreachable from 'greet'"]


def test_missing_start():
    bad = GOOD.replace("start: greet", "start: nope")
    out = problems(bad)
    assert out[0] == "f.yaml:3:5: flow '12345': start node 'nope' does not exist"


def test_shape_errors_point_at_the_field_and_all_are_reported():
    bad = GOOD.replace('{"1": q}', '{"12": q}').replace("skill: general", "skill: General Queue")
    out = problems(bad)
    assert len(out) == 2
    assert out[0].startswith("f.yaml:8:9: flows.12345.nodes.greet.choices: choice keys must be one DTMF key")
    assert out[1].startswith("f.yaml:10:") and "skill" in out[1]


def test_unknown_type_and_extra_field():
    bad = GOOD.replace('q: {type: queue, skill: general, after: ""}', "q: {type: queu, skill: general}")
    assert any("f.yaml:10:" in p for p in problems(bad))
    bad = GOOD.replace("failure: q", "failure: q\n        colour: red")
    out = problems(bad)
    assert out and out[0].startswith("f.yaml:10:9:") and "colour" in out[0]


def test_emergency_linkage_only_to_110_119_120_122():
    text = GOOD.replace(
        'q: {type: queue, skill: general, after: ""}', 'q: {type: transfer, kind: emergency, to: "911"}'
    )
    assert "110, 119, 120, 122" in problems(text)[0]
    ok = GOOD.replace('q: {type: queue, skill: general, after: ""}', 'q: {type: transfer, kind: emergency, to: "120"}')
    data, src = loads(ok, "f.yaml")
    assert F.parse(data, src)["12345"].nodes["q"].to == "120"


def test_pass_through_loop_is_rejected():
    text = GOOD + "      h: {type: hours, open: h, closed: q}\n"
    text = text.replace('{"1": q}', '{"1": h}')
    assert any("loops back to itself without waiting" in p for p in problems(text))


def test_read_lengths_and_duplicate_keys():
    text = GOOD.replace('{"1": q}', '{"1": r}') + (
        "      r: {type: read, prompt: x, var: n, min_length: 5, max_length: 4, failure: q, next: q}\n"
    )
    assert any("min_length is greater than max_length" in p for p in problems(text))
    dup = GOOD.replace("      q: {type: queue", "      greet: {type: hangup}\n      q: {type: queue")
    assert any("duplicate key 'greet'" in p for p in problems(dup))


def test_directory_rejected_whole(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        GOOD.replace('"12345"', "other").replace('{"1": q}', '{"1": zz}'), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as exc:
        F.load_dir(tmp_path)
    assert [p.file for p in exc.value.problems] == [str(tmp_path / "b.yaml")]
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        F.load_dir(tmp_path)
    assert "already defined in" in str(exc.value)


def test_queue_after_must_name_a_flow(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace('after: ""', "after: nosurvey"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        F.load_dir(tmp_path)
    assert "enters flow 'nosurvey'" in str(exc.value) and ":10:" in str(exc.value)


def test_cli_check(tmp_path, capsys):
    from ari_apps import flows_cli

    class A:
        directory = tmp_path

    (tmp_path / "a.yaml").write_text(GOOD + "      lost: {type: hangup}\n", encoding="utf-8")
    settings = Settings.from_env({}, home=tmp_path)
    assert flows_cli.run(A, settings) == 1
    assert "a.yaml:11:7:" in capsys.readouterr().out
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    assert flows_cli.run(A, settings) == 0


def test_hours_nodes_name_a_calendar_instead_of_listing_dates(tmp_path):
    hours = "      h: {type: hours, holidays: [2026-10-01], open: greet, closed: q}\n"
    text = GOOD.replace("    start: greet\n", "    start: h\n").rstrip("\n") + "\n" + hours
    with pytest.raises(ConfigError) as exc:
        F.parse(*loads(text, "h.yaml"))
    assert "moved to holidays/<year>.yaml" in str(exc.value) and "h.yaml:" in str(exc.value)
    bad = text.replace("holidays: [2026-10-01], ", "calendar: lunar, ")
    with pytest.raises(ConfigError, match="calendar"):
        F.parse(*loads(bad, "h.yaml"))
    none = text.replace("holidays: [2026-10-01], ", "calendar: none, ")
    assert F.parse(*loads(none, "h.yaml"))


def test_a_hyphenated_skill_is_a_queue_name_as_in_the_map(tmp_path):
    text = GOOD.replace("skill: general", "skill: dept-x") if "skill: general" in GOOD else None
    assert text is not None
    assert F.parse(*loads(text, "s.yaml"))
    with pytest.raises(ConfigError, match="queue name"):
        F.parse(*loads(GOOD.replace("skill: general", "skill: Dept"), "s.yaml"))


def test_prompt_names_and_texts():
    flows = F.load_dir(ROOT / "ivr_flows")
    prompts = F.all_prompts(flows)
    # the shipped greeting is short and names the shortcuts (ivr_flows/12345.yaml)
    assert prompts["ivr-12345-greet"].startswith("查进度按1")
    assert "ivr-survey-rate" in prompts and "ivr-12345-progress_lookup-last4" in prompts
    assert all(name.isascii() for name in prompts)


def test_expand():
    assert F.expand("${A}-${B}", {"A": "x"}) == "x-"
