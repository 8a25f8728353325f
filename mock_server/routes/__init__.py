"""Every endpoint group, in the order /docs lists them."""

from . import admin, auth, cookies, echo, ratelimit, redirects, resources, scenarios, status_delay, streams

GROUPS = [
    echo.group,
    status_delay.group,
    streams.group,
    redirects.group,
    cookies.group,
    auth.group,
    resources.group,
    scenarios.group,
    ratelimit.group,
    admin.group,
]
