"""Every endpoint group, in the order /docs lists them."""

from . import (admin, auth, capacity, classroom, cookies, echo, payments, ratelimit, redirects, resources, scenarios,
               status_delay, streams, webhooks)

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
    capacity.group,
    payments.group,
    webhooks.group,
    admin.group,
    classroom.group,
]
