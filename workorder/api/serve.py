"""``hotline api``: run the work-order REST API with uvicorn on settings.bind:settings.api_port."""

from __future__ import annotations

import sys

import anyio.to_thread

from workorder.api.app import create_app
from workorder.migrate import upgrade


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=None, help="override settings.api_port")
    parser.add_argument("--no-migrate", action="store_true", help="do not run the migrations first")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.0005,
        help="Python GIL switch interval in seconds (Python's default 0.005 starves the event "
        "loop behind the group-commit writer: 64 clients got half the throughput of 8)",
    )


def run(args, settings, app_factory=None) -> int:
    """``app_factory(settings)`` builds the app (web.serve passes the one with the pages)."""
    import uvicorn

    if not getattr(args, "no_migrate", False):
        upgrade(settings.database_url)
    app = (app_factory or create_app)(settings)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    @app.on_event("startup")
    async def _threads():
        # every in-flight request may wait on the group commit: let them all queue there
        anyio.to_thread.current_default_thread_limiter().total_tokens = 128

    # log_config=None: uvicorn's own lines go to the JSON handler of hotline.log, like every other
    uvicorn.run(
        app,
        host=settings.bind,
        port=args.port or settings.api_port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    return 0
