"""One real platform per test session, shared by every end-to-end test."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.harness import Stack


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    missing = [tool for tool in ("sipp", "redis-server") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"end-to-end tests need {missing}: run `make test` (it installs them)")
    s = Stack(tmp_path_factory.mktemp("stack"))
    try:
        s.start()
    except Exception:
        s.stop()
        raise
    yield s
    s.stop()
