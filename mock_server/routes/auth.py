"""Authentication: Basic, a real OAuth client-credentials token endpoint, Bearer, API keys."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group, Param
from ..errors import ApiError
from ..reading import ANY_BODY, JSON, media_type, read_form
from ..state import client_state, put, server_state

group = Group("Auth", "Basic auth, OAuth tokens (client credentials) for Bearer auth, API keys and signed requests.")

CLIENT_ID, CLIENT_SECRET = "course", "course-secret"
SIGNING_SECRET = "course-signing-secret"
MAX_TOKENS = 10_000  # the oldest token is forgotten beyond this
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="mock-server"'}
FORM = "application/x-www-form-urlencoded"
AUTHENTICATED = {"type": "object", "required": ["authenticated"], "properties": {"authenticated": {"enum": [True]}}}
TOKEN_REQUEST = {
    "type": "object", "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "expires_in": {"type": "integer", "minimum": 1, "description": "at most the server's --token-ttl"},
    },
}


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) from an Authorization: Basic header, or None."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, separator, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if separator else None


def _basic(request: Request, user: str, passwd: str, *, hidden: bool) -> Response:
    if basic_credentials(request) == (user, passwd):
        return JSONResponse({"authenticated": True, "user": user})
    if hidden:
        raise ApiError(404, "not_found", f"no endpoint at {request.url.path}")
    raise ApiError(401, "unauthorized", f"send Basic credentials for {user}:{passwd}", headers=BASIC_CHALLENGE)


CREDENTIALS = (Param("user", str, "path"), Param("passwd", str, "path"))


@group.route("/basic-auth/{user}/{passwd}", *CREDENTIALS, responses={200: {JSON: AUTHENTICATED}})
async def basic_auth(request: Request, user: str, passwd: str) -> Response:
    """200 if you send Basic auth for user:passwd, else 401 with a Basic challenge."""
    return _basic(request, user, passwd, hidden=False)


@group.route("/hidden-basic-auth/{user}/{passwd}", *CREDENTIALS, responses={200: {JSON: AUTHENTICATED}})
async def hidden_basic_auth(request: Request, user: str, passwd: str) -> Response:
    """Like /basic-auth, but answers 404 instead of 401 (no challenge, as some APIs do)."""
    return _basic(request, user, passwd, hidden=True)


@group.route(
    "/oauth/token", methods=["POST"], body={FORM: TOKEN_REQUEST},
    responses={200: {JSON: {
        "type": "object", "required": ["access_token", "token_type", "expires_in"],
        "properties": {"access_token": {"type": "string"}, "token_type": {"enum": ["Bearer"]},
                       "expires_in": {"type": "integer", "minimum": 1}},
    }}},
)
async def token(request: Request) -> Response:
    """Issue an access token (OAuth 2.0 client credentials grant, RFC 6749 §4.4).

    Send a form body (data=, not json=): grant_type=client_credentials, client_id=course,
    client_secret=course-secret (or the client id and secret as Basic auth). Optional
    expires_in (seconds) asks for a shorter-lived token, to see expiry happen.
    """
    if media_type(request) != FORM:
        raise ApiError(
            400, "invalid_request",
            "the token endpoint takes a form body (application/x-www-form-urlencoded), as RFC 6749 "
            "requires; in requests or httpx pass data=..., not json=...",
        )
    form = await read_form(request)
    if form.get("grant_type") != "client_credentials":
        raise ApiError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id, secret = basic_credentials(request) or (form.get("client_id"), form.get("client_secret"))
    if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
        raise ApiError(401, "invalid_client", "unknown client_id or wrong client_secret", headers=BASIC_CHALLENGE)
    state = server_state(request)
    lifetime = state.config.token_ttl
    if "expires_in" in form:
        lifetime = Param("expires_in", int, minimum=1, maximum="token_ttl").parse(str(form["expires_in"]), state.config)
    access_token = client_state(request).new_secret("token")
    # Tokens repeat after a reset (they are seeded), so a reissued token must get a fresh expiry.
    put(state.tokens, access_token, (CLIENT_ID, time.monotonic() + lifetime), MAX_TOKENS)
    return JSONResponse(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime},
        headers={"Cache-Control": "no-store"},
    )


def _bearer_challenge(error: str | None = None, description: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="mock-server"'
    if error:
        value += f', error="{error}", error_description="{description}"'
    return {"WWW-Authenticate": value}


@group.route("/bearer", responses={200: {JSON: AUTHENTICATED}})
async def bearer(request: Request) -> Response:
    """200 if you send Authorization: Bearer <a live token from POST /oauth/token>, else 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing_token", "send Authorization: Bearer <token>; get one from POST /oauth/token",
                       headers=_bearer_challenge())
    issued = server_state(request).tokens.get(token.strip())
    if issued is None:
        raise ApiError(401, "invalid_token", "this token was not issued by POST /oauth/token",
                       headers=_bearer_challenge("invalid_token", "unknown token"))
    client_id, expires_at = issued
    if time.monotonic() >= expires_at:
        raise ApiError(401, "token_expired", "the token expired: get a new one from POST /oauth/token",
                       headers=_bearer_challenge("invalid_token", "the token expired"))
    return JSONResponse({"authenticated": True, "client_id": client_id})


@group.route("/api-key", responses={200: {JSON: AUTHENTICATED}})
async def api_key(request: Request) -> Response:
    """200 if the X-API-Key header holds the server's key (default course-api-key)."""
    sent = request.headers.get("x-api-key")
    if sent is None:
        raise ApiError(401, "missing_api_key", "send your key in the X-API-Key header")
    if sent != server_state(request).config.api_key:
        raise ApiError(403, "invalid_api_key", "this API key is not valid")
    return JSONResponse({"authenticated": True})


def string_to_sign(method: str, target: str, body: bytes) -> bytes:
    """What /signed expects you to sign: the method, the path with its query, then the body."""
    return f"{method}\n{target}\n".encode() + body


@group.route("/signed", methods=ALL_METHODS, body=ANY_BODY, body_required=False,
             responses={200: {JSON: AUTHENTICATED | {"required": ["authenticated", "signed_string"]}}})
async def signed(request: Request) -> Response:
    """200 if X-Signature holds the request's HMAC-SHA256 signature, in hex.

    Sign `METHOD + "\\n" + PATH?QUERY + "\\n" + BODY` with the key `course-signing-secret`, as many
    APIs ask (a custom requests AuthBase is the place to do it). A wrong signature gets a 401 that
    shows the exact string the server signed, so you can compare it with yours.
    """
    query = request.scope["query_string"].decode("latin-1")
    target = request.scope["raw_path"].decode("latin-1") + (f"?{query}" if query else "")
    message = string_to_sign(request.method, target, await request.body())
    expected = hmac.new(SIGNING_SECRET.encode(), message, hashlib.sha256).hexdigest()
    sent = request.headers.get("x-signature")
    if sent is None:
        raise ApiError(401, "missing_signature", "send X-Signature: the hex HMAC-SHA256 of METHOD\\nPATH?QUERY\\nBODY "
                       "with the key course-signing-secret", signed_string=message.decode("utf-8", "replace"))
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(401, "bad_signature", "X-Signature does not match the request",
                       signed_string=message.decode("utf-8", "replace"))
    return JSONResponse({"authenticated": True, "signed_string": message.decode("utf-8", "replace")})
