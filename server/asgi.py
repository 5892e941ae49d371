"""Entry point for ASGI servers: ``uvicorn --factory server.asgi:app``."""

from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings


def app() -> Starlette:
    return create_app(Settings.from_env())
