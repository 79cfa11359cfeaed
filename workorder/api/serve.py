"""``hotline api``: run the work-order REST API with uvicorn on settings.bind:settings.api_port."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=None, help="override settings.api_port")
    parser.add_argument("--no-migrate", action="store_true", help="do not run the migrations first")


def run(args, settings) -> int:
    import uvicorn

    from workorder.api.app import create_app
    from workorder.migrate import upgrade

    if not getattr(args, "no_migrate", False):
        upgrade(settings.database_url)
    app = create_app(settings)
    uvicorn.run(app, host=settings.bind, port=args.port or settings.api_port, log_level="warning",
                access_log=False)
    return 0
