"""The app itself: its fixed middleware stack refuses what it would otherwise ignore."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.middleware.base import BaseHTTPMiddleware

from mock_server.app import MockApp, create_app


async def _dispatch(request: Any, call_next: Any) -> Any:
    return await call_next(request)


async def _handler(request: Any, exc: Exception) -> Any:
    raise AssertionError("never called")


# (how a Starlette or FastAPI user would try it, the words the refusal must contain)
REFUSED: list[tuple[str, Callable[[MockApp], object], str]] = [
    ("add_middleware", lambda app: app.add_middleware(BaseHTTPMiddleware, dispatch=_dispatch), "build_middleware_stack"),
    ("middleware decorator", lambda app: app.middleware("http")(_dispatch), "build_middleware_stack"),
    ("add_exception_handler", lambda app: app.add_exception_handler(ValueError, _handler), "ApiError"),
    ("exception_handler decorator", lambda app: app.exception_handler(404)(_handler), "JsonErrors"),
]


@pytest.mark.parametrize(("how", "call", "words"), REFUSED, ids=[row[0] for row in REFUSED])
def test_the_fixed_stack_refuses_what_it_would_ignore(how: str, call: Callable[[MockApp], object], words: str) -> None:
    app = create_app()
    with pytest.raises(TypeError, match="would be ignored") as refused:
        call(app)
    assert words in str(refused.value) and "mock_server/app.py" in str(refused.value)
    assert app.user_middleware == [] and app.exception_handlers == {}
