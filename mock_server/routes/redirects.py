"""Redirect chains, and a redirect to a target you choose (loopback only: no open redirect)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..classroom import learner_address
from ..delivery import same_address
from ..endpoints import ALL_METHODS, Group, Param
from ..errors import invalid_param
from ..reading import is_loopback, origin

group = Group("Redirects", "Chains of redirects, relative and absolute, and redirects to a chosen local URL.")

STEPS = Param("n", int, "path", minimum=1, maximum="max_redirects", description="redirects before /get")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
REDIRECT = {302: None}
_OCTET = r"(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
_PORT = r"(0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"  # 0 to 65535, or none
# redirect_to's rule, for the docs: a path with a single leading /, or an http(s) URL of a loopback host.
TARGET = (rf"^(/(?![/\\])|https?://([^/?#@\[\]\x00-\x1f\x7f\\]*@)?(localhost|127(\.{_OCTET}){{3}}|\[::1\])(:{_PORT})?([/?#]|$))"
          r"[^\x00-\x1f\x7f\\]*$")


def _next(prefix: str, n: int) -> str:
    return "/get" if n == 1 else f"{prefix}/{n - 1}"


@group.route("/redirect/{n}", STEPS, Param("absolute", bool, default=False, description="use absolute Location URLs"),
             responses=REDIRECT)
async def redirect(request: Request, n: int, absolute: bool) -> Response:
    """302 `n` times, then land on /get (relative Location unless absolute=true)."""
    target = _next("/redirect", n)
    if absolute:
        target = origin(request) + _next("/absolute-redirect", n)
    return RedirectResponse(target, 302)


@group.route("/relative-redirect/{n}", STEPS, responses=REDIRECT)
async def relative_redirect(request: Request, n: int) -> Response:
    """302 `n` times with relative Location headers, then land on /get."""
    return RedirectResponse(_next("/relative-redirect", n), 302)


@group.route("/absolute-redirect/{n}", STEPS, responses=REDIRECT)
async def absolute_redirect(request: Request, n: int) -> Response:
    """302 `n` times with absolute Location URLs, then land on /get."""
    return RedirectResponse(origin(request) + _next("/absolute-redirect", n), 302)


@group.route(
    "/redirect-to",
    Param("url", str, description="a path on this server (/get) or a loopback URL", rule={"pattern": TARGET}),
    Param("status_code", int, default=302, minimum=300, maximum=399, description="the 3xx status to use"),
    methods=ALL_METHODS,
    responses={"3XX": None},
)
async def redirect_to(request: Request, url: str, status_code: int) -> Response:
    """Redirect to `url` with `status_code` (307/308 keep the method and body).

    Only paths on this server and loopback URLs are accepted, so it cannot be used as an
    open redirect to another site.
    """
    if _CONTROL.search(url) or "\\" in url:
        # Browsers read a backslash as a slash: http://evil.example\@127.0.0.1/ goes to evil.example.
        raise invalid_param("url", "must not contain control characters or backslashes")
    try:
        parts = urlsplit(url)
        parts.port  # reading it raises ValueError unless the port is a number from 0 to 65535
    except ValueError as exc:  # a bracketed host that is not an IPv6 address (http://[::1), or such a port
        raise invalid_param("url", f"is not a valid URL ({exc}): {url!r}") from None
    if parts.scheme or parts.netloc:
        address = learner_address(request)
        if parts.scheme not in ("http", "https") or not (
                is_loopback(parts.hostname) or same_address(parts.hostname, address)):
            own = f", or your own address {address}" if address else ""
            raise invalid_param("url", f"must be a path like /get or a loopback URL (127.0.0.1, localhost{own}), "
                                f"got {url!r}")
    elif not url.startswith("/") or url.startswith("//"):
        raise invalid_param("url", f"must be a path starting with a single /, got {url!r}")
    return RedirectResponse(url, status_code)
