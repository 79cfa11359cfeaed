"""``hotline api``: the work-order REST API and the people's pages, one uvicorn server."""

from __future__ import annotations

from web.app import create_app
from workorder.api import serve

add_arguments = serve.add_arguments


def run(args, settings) -> int:
    return serve.run(args, settings, app_factory=create_app)
