"""Cookies, and a login that starts a cookie session (POST /login, then GET /dashboard)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..endpoints import Group, Param
from ..errors import ApiError
from ..reading import FORM_TYPES, JSON, media_type, parse_json, read_form
from ..responses import MAX_SET_HEADERS
from ..state import client_state, put, server_state

group = Group("Cookies and sessions", "Set, read and delete cookies; log in to get a session cookie.")

USERNAME, PASSWORD = "learner", "hunter2"
SESSION_COOKIE = "session"
MAX_SESSIONS = 10_000  # the oldest session is forgotten beyond this
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 6265 cookie-name (a token)
_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")  # RFC 6265 cookie-octets
# The same rules for /cookies/set/{name}/{value}, where a value is also one path segment (no /).
NAME_RULE = {"pattern": f"^{_NAME.pattern}$"}
VALUE_RULE = {"pattern": r"^[\x21\x23-\x2b\x2d\x2e\x30-\x3a\x3c-\x5b\x5d-\x7e]+$"}


COOKIES = {JSON: {"type": "object", "required": ["cookies"], "properties": {
    "cookies": {"type": "object", "additionalProperties": {"type": "string"}}}}}
TO_COOKIES = {302: None}  # a redirect to /cookies
CREDENTIALS = {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
               "required": ["username", "password"]}


def _check_cookie(name: str, value: str) -> None:
    if not _NAME.fullmatch(name):
        raise ApiError(400, "invalid_cookie", f"{name!r} is not a valid cookie name", cookie=name)
    if not _VALUE.fullmatch(value):
        raise ApiError(
            400, "invalid_cookie",
            f"the value of cookie {name} may not contain spaces, quotes, commas, semicolons or backslashes",
            cookie=name,
        )


@group.route("/cookies", responses={200: COOKIES})
async def cookies(request: Request) -> Response:
    """The cookies your client sent."""
    return JSONResponse({"cookies": dict(sorted(request.cookies.items()))})


def _set(pairs: list[tuple[str, str]]) -> Response:
    if len(pairs) > MAX_SET_HEADERS:
        raise ApiError(400, "too_many_cookies", f"set at most {MAX_SET_HEADERS} cookies at once, not {len(pairs)}")
    for name, value in pairs:
        _check_cookie(name, value)
    response = RedirectResponse("/cookies", 302)
    for name, value in pairs:
        response.set_cookie(name, value)
    return response


@group.route("/cookies/set", any_query="each sets a cookie of its name", responses=TO_COOKIES)
async def set_cookies(request: Request) -> Response:
    """Set a cookie for each query argument (/cookies/set?flavour=oat), then redirect to /cookies."""
    return _set(request.query_params.multi_items())


@group.route("/cookies/set/{name}/{value}", Param("name", str, "path", rule=NAME_RULE),
             Param("value", str, "path", rule=VALUE_RULE),
             responses=TO_COOKIES)
async def set_cookie(request: Request, name: str, value: str) -> Response:
    """Set one cookie, then redirect to /cookies."""
    return _set([(name, value)])


@group.route("/cookies/delete", any_query="each names a cookie to expire", responses=TO_COOKIES)
async def delete_cookies(request: Request) -> Response:
    """Expire each cookie named in the query (/cookies/delete?flavour), then redirect to /cookies."""
    names = list(request.query_params)
    if len(names) > MAX_SET_HEADERS:
        raise ApiError(400, "too_many_cookies", f"delete at most {MAX_SET_HEADERS} cookies at once, not {len(names)}")
    response = RedirectResponse("/cookies", 302)
    for name in names:
        _check_cookie(name, "")
        response.delete_cookie(name)
    return response


async def _credentials(request: Request) -> tuple[object, object]:
    content_type = media_type(request)
    if content_type in FORM_TYPES:
        form = await read_form(request)
        return form.get("username"), form.get("password")
    if content_type == JSON:
        data = parse_json(await request.body())
        if isinstance(data, dict):
            return data.get("username"), data.get("password")
    raise ApiError(
        415, "unsupported_media_type", "send the username and password as a form (data=...) or as JSON (json=...)"
    )


@group.route(
    "/login", methods=["POST"], body={media: CREDENTIALS for media in (*FORM_TYPES, JSON)},
    responses={200: {JSON: {"type": "object", "required": ["logged_in", "user"],
                            "properties": {"logged_in": {"enum": [True]}, "user": {"type": "string"}}}}},
)
async def login(request: Request) -> Response:
    """Log in with username `learner` and password `hunter2` (form or JSON); sets a session cookie."""
    username, password = await _credentials(request)
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(422, "missing_credentials", "send both username and password, as text")
    if (username, password) != (USERNAME, PASSWORD):
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    session = client_state(request).new_secret("session")
    put(server_state(request).sessions, session, username, MAX_SESSIONS)
    response = JSONResponse({"logged_in": True, "user": username})
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax")
    return response


@group.route("/dashboard", responses={200: {JSON: {"type": "object", "required": ["user", "message"], "properties": {
    "user": {"type": "string"}, "message": {"type": "string"}}}}})
async def dashboard(request: Request) -> Response:
    """A page for logged-in users only: needs the session cookie from POST /login."""
    session = request.cookies.get(SESSION_COOKIE)
    if session is None:
        raise ApiError(401, "login_required", "no session cookie: log in first with POST /login")
    user = server_state(request).sessions.get(session)
    if user is None:
        raise ApiError(401, "session_unknown", "this session is unknown or has ended: log in again")
    return JSONResponse({"user": user, "message": f"Welcome back, {user}!"})


@group.route("/logout", methods=["POST"], responses={200: {JSON: {
    "type": "object", "required": ["logged_in"], "properties": {"logged_in": {"enum": [False]}}}}})
async def logout(request: Request) -> Response:
    """End the session and expire its cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    if session is not None:
        server_state(request).sessions.pop(session, None)
    response = JSONResponse({"logged_in": False})
    response.delete_cookie(SESSION_COOKIE)
    return response
