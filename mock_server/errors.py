"""The one error shape the server uses: `{"error": code, "message": sentence, ...details}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse


class ErrorBody(BaseModel):
    """The body of every JSON error: a code, a sentence, and any details (which /docs does not list)."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str


class ApiError(Exception):
    """Raise from any handler to answer with a JSON error naming the problem."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})
        self.details = details

    def response(self) -> JSONResponse:
        return error_response(self.status, self.error, self.message, self.headers, **self.details)


def error_response(
    status: int,
    error: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    return JSONResponse({"error": error, "message": message, **details}, status, dict(headers or {}))


def invalid_param(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {message}", param=name)
