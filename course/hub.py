"""The mock server through JupyterLab's own URL, for a JupyterHub or Binder where only JupyterLab is reachable.

jupyter-server-proxy reads `proxy()` through this package's `jupyter_serverproxy_servers` entry point
(pyproject.toml), so any JupyterLab with this repository installed (`pip install -r requirements.txt`,
which installs it with `-e .`) serves the mock server at `<JupyterLab URL>/mock-server/`:
`/mock-server/docs` for the API documentation, `/mock-server/__admin/classroom/dashboard` for the
instructor dashboard. `/proxy/8765/docs` works too (jupyter-server-proxy's own route to a local port).

The server is the one the kernels use: started by the first `ensure()` of a notebook (lesson 00's first
cell), on $MOCK_SERVER_PORT (8765); under `make lab`, the one $MOCK_SERVER_URL names. Nothing is
started here: until a notebook has run its first cell, /mock-server/ answers that nothing listens there.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from mock_server.contract import DEFAULT_PORT, PORT_VARIABLE, URL_VARIABLE

NAME = "mock-server"  # the path under JupyterLab's URL: /mock-server/
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def mock_server_port(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The local port of the course's server: $MOCK_SERVER_URL's when it names this machine, else
    $MOCK_SERVER_PORT, else 8765 (what course.server.ensure() uses)."""
    url = environ.get(URL_VARIABLE, "")
    if url:
        parts = urlsplit(url)
        if parts.hostname in LOOPBACK and parts.port:
            return parts.port
    value = environ.get(PORT_VARIABLE, "")
    return int(value) if value.isdigit() and 0 < int(value) < 65536 else DEFAULT_PORT


def proxy() -> dict[str, Any]:
    """jupyter-server-proxy's settings for /mock-server/: no command (the kernels start the server)."""
    return {
        "port": mock_server_port(),
        "absolute_url": False,  # the server sees /docs, not /mock-server/docs
        "launcher_entry": {"enabled": True, "title": "Mock server API", "path_info": f"{NAME}/docs",
                           "category": "Other"},
        "new_browser_tab": True,
    }
