"""When the jobs trim Asterisk's heap (workorder/jobs_cli.py ``trim_due``), and the setting's range."""

from __future__ import annotations

import pytest

from hotline.settings import Settings
from workorder.jobs_cli import trim_due


def test_the_first_pass_trims_then_every_interval():
    assert trim_due(None, 5.0, 600)
    assert not trim_due(5.0, 604.9, 600)
    assert trim_due(5.0, 605.0, 600)


def test_zero_never_trims():
    assert not trim_due(None, 5.0, 0) and not trim_due(0.0, 1e9, 0)


def test_the_interval_is_checked():
    assert Settings.from_env({"HOTLINE_ASTERISK_TRIM_INTERVAL": "60"}).asterisk_trim_interval == 60
    with pytest.raises(ValueError, match="HOTLINE_ASTERISK_TRIM_INTERVAL=-1: must be between 0 and 86400"):
        Settings.from_env({"HOTLINE_ASTERISK_TRIM_INTERVAL": "-1"})
