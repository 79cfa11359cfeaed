"""Schemathesis against the work-order OpenAPI: no 500s on generated input (bounded run)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from hotline.secrets import load_secrets  # noqa: E402
from hotline.settings import Settings  # noqa: E402

from .conftest import make_api  # noqa: E402

_state: dict = {}


def _app():
    if "app" not in _state:
        import tempfile
        from pathlib import Path

        from workorder.migrate import upgrade

        home = Path(tempfile.mkdtemp(prefix="wo-fuzz-"))
        url = f"sqlite:///{home / 'hotline.db'}"
        upgrade(url)
        st = Settings(home=home)
        # a prepared instance, as `hotline up` leaves it (the recordings routes read its paths)
        from hotline.instance import InstancePaths, write_instance_paths

        calls = home / "monitor"
        calls.mkdir()
        write_instance_paths(
            st, InstancePaths(home, "/s", home / "rec", home / "queue_log", calls, "/srv/x/spool/monitor")
        )
        app, store, _client = make_api(st, url)
        _state.update(app=app, tokens=load_secrets(st.secrets_file)["api_tokens"])
    return _state["app"]


# the work-order routes only: other packages' routers (queues: Redis, an endless SSE stream)
# are fuzzed by their owners
schema = schemathesis.openapi.from_dict(_app().openapi()).exclude(path_regex=r"^/api/v1/queues")
schema.app = _app()


def role_for(path: str) -> str:
    if path.startswith("/api/v1/ivr/"):
        return "ivr"
    if path.startswith("/api/v1/calls/"):
        return "calls"
    return "admin"


@schema.parametrize()
@settings(
    max_examples=7, deadline=None, derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
)
def test_no_server_errors(case):
    token = _state["tokens"][role_for(case.operation.path)]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])
