"""Declared endpoints: typed, bounded parameters that validate themselves and document the API.

A handler is `async def handler(request, **params) -> Response`. Its parameters are declared
once, with their limits, and that declaration does three jobs: parse the raw string, reject
bad input with a 400 that names the parameter and the limit, and describe it in /docs. An
endpoint declared idempotent honours the Idempotency-Key header (idempotency.py) the same way.

What an endpoint reads from the body and what it answers are declared beside it too, both as
`Content`: media type -> the schema of that body, or None for a body of that type with no
structure to state (bytes, HTML). /docs and the fuzz test (tests/test_openapi_fuzz.py) read
them; the JSON error every endpoint may answer with (4XX) is declared once, in docs.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from . import idempotency
from .config import Config, describe
from .errors import ApiError, invalid_param

Handler = Callable[..., Awaitable[Response]]
Bound = float | str | None  # a number, or the name of the Config field that sets it
# A pydantic model, or a JSON-schema dict in OpenAPI 3.0's dialect (a model inside it stands for its schema).
Schema = type[BaseModel] | Mapping[str, Any]
Content = Mapping[str, Schema | None]  # media type -> the body's schema (None: no structure to state)
Status = int | str  # 200, or a range such as "5XX"
Answer = Callable[[], Awaitable[Response]]
# Runs around an endpoint's whole answer, its Idempotency-Key handling included: (request, answer) -> response.
Around = Callable[[Request, Answer], Awaitable[Response]]

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
# Longer integers are refused before int() sees them: they are beyond every bound here, and
# converting thousands of digits is slow and then fails (Python's int-string limit, 4300).
MAX_INTEGER_DIGITS = 30
SHOWN_CHARACTERS = 40  # how much of a bad value an error message quotes
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
_REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    """One path or query parameter, with its type and its limits."""

    name: str
    type: type = str
    where: Literal["path", "query"] = "query"
    default: Any = _REQUIRED
    minimum: Bound = None
    maximum: Bound = None
    choices: tuple[str, ...] = ()
    description: str = ""
    rule: Mapping[str, Any] = field(default_factory=dict)  # JSON-schema keywords of a rule the handler checks

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def bound(self, bound: Bound, config: Config) -> float | None:
        return getattr(config, bound) if isinstance(bound, str) else bound

    def parse(self, raw: str, config: Config) -> Any:
        value = self._convert(raw, config)
        low, high = self.bound(self.minimum, config), self.bound(self.maximum, config)
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid_param(self.name, f"must be {self._range_text(config)}, got {_shown(raw)}")
        return value

    def _convert(self, raw: str, config: Config) -> Any:
        if self.type is int:
            if not _INTEGER.fullmatch(raw):
                raise invalid_param(self.name, f"must be an integer, got {_shown(raw)}")
            digits = len(raw.lstrip("-").lstrip("0"))
            if digits > MAX_INTEGER_DIGITS:
                beyond = self.bound(self.minimum if raw.startswith("-") else self.maximum, config)
                limit = self._range_text(config) if beyond is not None else f"at most {MAX_INTEGER_DIGITS} digits long"
                raise invalid_param(self.name, f"must be {limit}, got an integer of {digits} digits")
            return int(raw)
        if self.type is float:
            if not _DECIMAL.fullmatch(raw) or not math.isfinite(float(raw)):
                raise invalid_param(self.name, f"must be a finite number like 1.5, got {_shown(raw)}")
            return float(raw)
        if self.type is bool:
            if raw.lower() not in _TRUE | _FALSE:
                raise invalid_param(self.name, f"must be true or false, got {_shown(raw)}")
            return raw.lower() in _TRUE
        if self.choices and raw not in self.choices:
            raise invalid_param(self.name, f"must be one of {', '.join(self.choices)}, got {_shown(raw)}")
        return raw

    def _range_text(self, config: Config) -> str:
        low, high = self.bound(self.minimum, config), self.bound(self.maximum, config)
        text = f"between {_number(low)} and {_number(high)}" if low is not None and high is not None else (
            f"at least {_number(low)}" if low is not None else f"at most {_number(high)}"
        )
        for bound in (self.minimum, self.maximum):
            if isinstance(bound, str):
                text += f" (the server's {describe(bound)})"
        return text


def _shown(raw: str) -> str:
    """`raw` quoted for an error message, cut short if it is long."""
    return repr(raw) if len(raw) <= SHOWN_CHARACTERS else f"{raw[:SHOWN_CHARACTERS]!r}... ({len(raw)} characters)"


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    params: tuple[Param, ...]
    body: Content | None  # what the body may be
    summary: str
    description: str
    tag: str
    idempotent: bool = False
    responses: Mapping[Status, Content | None] = field(default_factory=dict)  # None: no body
    body_required: bool = True
    any_query: str = ""  # what query arguments of any name do, when the handler reads them itself
    around: Around | None = None  # runs around the whole answer (an outage before or after it)
    raw_segments: bool = False  # match path parameters on the raw path (RawSegmentRoute)

    def route(self) -> Route:
        # An ASGI callable rather than a function, so Starlette does not wrap it in another
        # exception-handling layer per request: the endpoint renders its own ApiErrors.
        kind = RawSegmentRoute if self.raw_segments else Route
        return kind(self.path, self, methods=list(self.methods), name=self.handler.__name__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.respond(request)
        except ApiError as exc:
            response = exc.response()
        except ClientDisconnect:
            return  # nobody left to answer; the journal records 499
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        config: Config = request.app.state.mock.config
        values = {}
        for param in self.params:
            if param.where == "path":
                raw = request.path_params[param.name]
            else:
                given = request.query_params.getlist(param.name)
                if len(given) > 1:
                    raise invalid_param(param.name, "was given more than once")
                if not given:
                    if param.required:
                        raise invalid_param(param.name, "is required")
                    values[param.name] = param.default
                    continue
                raw = given[0]
            values[param.name] = param.parse(raw, config)
        if self.idempotent:
            answer: Answer = lambda: idempotency.guard(request, lambda: self.handler(request, **values))
        else:
            answer = lambda: self.handler(request, **values)
        return await (answer() if self.around is None else self.around(request, answer))


class RawSegmentRoute(Route):
    """A route whose path parameters are each matched on one segment of the raw path, then unquoted.

    Starlette matches the decoded path, so `/payments/..%2Fadmin` would arrive as
    `/payments/../admin`, two segments, and `/payments/a%2Frefunds` as another route's path.
    Here a quoted slash stays inside its segment: the first is the id `../admin`, the second
    the id `a/refunds`. (Only for an endpoint alone at its path: app.routes_by_path builds a
    plain route for a path that several endpoints share.)
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope["type"] != "http" or raw is None:
            return super().matches(scope)
        match, child = super().matches({**scope, "path": raw.decode("latin-1"), "root_path": ""})
        if match is not Match.NONE:
            params = child["path_params"]
            child["path_params"] = {name: unquote(value) if isinstance(value, str) else value for name, value in params.items()}
        return match, child


@dataclass
class Group:
    """The endpoints of one topic; becomes one section of /docs."""

    name: str
    description: str
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        path: str,
        *params: Param,
        methods: Sequence[str] = ("GET",),
        body: Content | None = None,
        body_required: bool = True,
        idempotent: bool = False,
        responses: Mapping[Status, Content | None],
        any_query: str = "",
        around: Around | None = None,
        raw_segments: bool = False,
    ) -> Callable[[Handler], Handler]:
        in_path = set(_PATH_PARAM.findall(path))
        declared = {param.name for param in params if param.where == "path"}
        if in_path != declared:
            raise TypeError(f"{path}: path parameters {sorted(in_path)} must each be declared once, got {sorted(declared)}")

        def register(handler: Handler) -> Handler:
            summary, _, description = (handler.__doc__ or "").strip().partition("\n")
            self.endpoints.append(
                Endpoint(path, tuple(methods), handler, params, body, summary, description.strip(), self.name,
                         idempotent, responses, body_required, any_query, around, raw_segments)
            )
            return handler

        return register
