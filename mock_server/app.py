"""The ASGI application: routing, JSON errors, and the traffic middleware (traffic.py) around them."""

from __future__ import annotations

from typing import NoReturn
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import docs
from .classroom import Classroom
from .config import Config
from .endpoints import Endpoint
from .errors import error_response
from .routes import GROUPS
from .routes.resources import build_collections
from .state import ServerState
from .traffic import TrafficMiddleware


def create_app(config: Config | None = None) -> MockApp:
    """Build the mock API for `config` (defaults to `Config()`)."""
    config = config or Config()
    state = ServerState(config)
    state.collections = build_collections(config.seed)
    if config.classroom:
        state.classroom = Classroom(config)
    routes = routes_by_path([endpoint for group in GROUPS for endpoint in group.endpoints])
    return MockApp(state, SegmentRouter([*routes, *docs.routes()]))


def routes_by_path(endpoints: list[Endpoint]) -> list[BaseRoute]:
    """One route per path, serving every method the endpoints at that path declare.

    Starlette answers a wrong method with the Allow header of the first route whose path
    matches; with a route per endpoint, PUT /users said "allow: GET, HEAD" though POST works.
    """
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    return [group[0].route() if len(group) == 1 else _shared_route(path, group) for path, group in by_path.items()]


def _shared_route(path: str, endpoints: list[Endpoint]) -> Route:
    by_method = ByMethod({method: endpoint for endpoint in endpoints for method in endpoint.methods})
    name = "_or_".join(endpoint.handler.__name__ for endpoint in endpoints)
    return Route(path, by_method, methods=list(by_method.endpoints), name=name)


class ByMethod:
    """The endpoints sharing one path, chosen by the request's method (the route has checked it).

    An ASGI callable rather than a function, as Endpoint is, so Starlette calls it as it is.
    """

    def __init__(self, endpoints: dict[str, Endpoint]) -> None:
        if "GET" in endpoints:
            endpoints.setdefault("HEAD", endpoints["GET"])  # as Starlette serves HEAD with a GET endpoint
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoints[scope["method"]](scope, receive, send)


FIXED_STACK = (
    "the mock server's middleware stack is fixed (traffic accounting, JSON errors, the router): "
    "change MockApp.build_middleware_stack in mock_server/app.py"
)
FIXED_ERRORS = (
    "the mock server renders its own errors: raise mock_server.errors.ApiError from a handler, "
    "or change JsonErrors in mock_server/app.py"
)


class MockApp(Starlette):
    """Starlette with a short middleware stack: traffic accounting, JSON errors, the router.

    (Starlette's default stack wraps every request in two error layers; one does the job.)
    Starlette's ways to add middleware or exception handlers would be silently ignored by
    that fixed stack, so they raise instead.
    """

    def __init__(self, state: ServerState, router: Router) -> None:
        super().__init__()
        self.router = router
        self.state.mock = state

    def build_middleware_stack(self) -> ASGIApp:
        return TrafficMiddleware(JsonErrors(self.router), self.state.mock)

    def add_middleware(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"add_middleware() would be ignored: {FIXED_STACK}")

    # Starlette 1.x dropped the middleware() and exception_handler() decorators, but FastAPI
    # apps have them, so a contributor may reach for them: say where to go instead.
    def middleware(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"middleware() would be ignored: {FIXED_STACK}")

    def add_exception_handler(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"add_exception_handler() would be ignored: {FIXED_ERRORS}")

    def exception_handler(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"exception_handler() would be ignored: {FIXED_ERRORS}")


class SegmentRouter(Router):
    """Starlette's router, trying only the routes that share the request's first path segment.

    Starlette tries every route in turn, about half a microsecond each; with seventy routes
    that was a fifth of a request's cost. Anything the shortlist cannot answer (a 404, a
    trailing slash) falls through to the full router, so behaviour does not change.
    """

    def __init__(self, routes: list[BaseRoute]) -> None:
        super().__init__(routes, redirect_slashes=False, default=self.redirect_slash)
        groups: dict[str, list[BaseRoute]] = {}
        for route in routes:
            groups.setdefault(_first_segment(route.path), []).append(route)  # type: ignore[attr-defined]
        full = super().app
        self.shortlists = {segment: Router(group, redirect_slashes=False, default=full) for segment, group in groups.items()}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        shortlist = self.shortlists.get(_first_segment(scope.get("path", "")))
        await (shortlist.app if shortlist is not None else super().app)(scope, receive, send)

    async def redirect_slash(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's trailing-slash redirect (/users/ -> /users), with a relative Location.

        Starlette builds an absolute Location from the Host header, which the client chooses;
        a path needs no host. Anything else is a 404.
        """
        path = scope["path"]
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        if path != "/" and not other.startswith("//"):  # "//host" would be a protocol-relative URL
            moved = {**scope, "path": other}
            if any(route.matches(moved)[0] is not Match.NONE for route in self.routes):
                query = scope["query_string"].decode("latin-1")
                await RedirectResponse(quote(other) + (f"?{query}" if query else ""))(scope, receive, send)
                return
        await self.not_found(scope, receive, send)


def _first_segment(path: str) -> str:
    return path.split("/", 2)[1] if path.startswith("/") else ""


class JsonErrors:
    """Errors the endpoints do not answer themselves, in the server's JSON shape.

    Starlette's unknown path (404) and wrong method (405); and any bug, answered with a JSON
    500 and then re-raised so uvicorn logs its traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except HTTPException as exc:
            if started:
                raise
            await _http_error(Request(scope), exc)(scope, receive, send)
        except Exception as exc:
            if not started:
                await error_response(
                    500, "server_bug", f"the mock server failed ({type(exc).__name__}); this is a bug, please report it"
                )(scope, receive, send)
            raise


def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        return error_response(404, "not_found", f"no endpoint at {request.url.path}; see /docs for the list")
    if exc.status_code == 405:
        allowed = ", ".join(sorted((exc.headers or {}).get("Allow", "").split(", ")))  # Starlette's is a set's order
        return error_response(
            405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}; use {allowed}",
            {"Allow": allowed},
        )
    return error_response(exc.status_code, "http_error", str(exc.detail), exc.headers)
